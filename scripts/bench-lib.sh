# Shared by the benchmark scripts (sourced, not run): installing the Redis tools, ports, readiness, medians,
# and rewriting one marked section of docs/benchmarks.md.

# Installs redis-server and redis-tools (redis-cli, redis-benchmark) when missing.
ensure_redis() {
  local need=() sudo=""
  command -v redis-benchmark >/dev/null 2>&1 || need+=(redis-tools)
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
  if ((${#need[@]})); then
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}

# Prints a loopback port below the ephemeral range that nothing listens on now.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# Waits until the server on port $1 answers PING.
wait_ready() {
  for _ in $(seq 1 200); do
    redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.05
  done
  echo "server on port $1 did not start" >&2; return 1
}

# The median of the numbers on stdin, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# Replaces the lines from "<!-- $2 -->"-style start marker $2 to end marker $3 of file $1 with the file $4
# (which holds both markers), or appends $4 when the markers are not there yet.
replace_section() {
  local doc=$1 start=$2 end=$3 table=$4
  if grep -qF "$start" "$doc" 2>/dev/null; then
    awk -v table="$table" -v start="$start" -v end="$end" '
      $0 == start { while ((getline line < table) > 0) print line; skip=1; next }
      $0 == end { skip=0; next }
      !skip { print }' "$doc" > "$doc.tmp" && mv "$doc.tmp" "$doc"
  else
    printf '\n' >> "$doc"
    cat "$table" >> "$doc"
  fi
}

# Starts Estoraje (the binary $1) and redis-server in mode $2 — memory: no persistence on either side; everysec or
# always: Estoraje's log store against Redis's AOF, both with that appendfsync — on free loopback ports, with their
# data and logs in the fresh directory $3. Fills port[estoraje], port[redis], pid[estoraje] and pid[redis]
# (associative arrays the caller declares) and adds the pids to the caller's pids array. ESTORAJE_ARGS adds flags to
# Estoraje's command line.
start_estoraje_and_redis() {
  local bin=$1 mode=$2 dir=$3
  rm -rf "$dir" && mkdir -p "$dir/estoraje" "$dir/redis"
  port[estoraje]=$(free_port)
  port[redis]=$(free_port)
  # shellcheck disable=SC2206 # ESTORAJE_ARGS is meant to split into flags
  local estoraje=(--port "${port[estoraje]}" --bind 127.0.0.1 ${ESTORAJE_ARGS:-})
  local redis=(--port "${port[redis]}" --bind 127.0.0.1 --save "" --daemonize no --dir "$dir/redis")
  if [ "$mode" = memory ]; then
    estoraje+=(--storage memory)
    redis+=(--appendonly no)
  else
    estoraje+=(--storage log --dir "$dir/estoraje" --appendfsync "$mode")
    redis+=(--appendonly yes --appendfsync "$mode")
  fi
  "$bin" "${estoraje[@]}" > "$dir/estoraje.log" 2>&1 &
  pid[estoraje]=$!
  pids+=($!)
  redis-server "${redis[@]}" > "$dir/redis.log" 2>&1 &
  pid[redis]=$!
  pids+=($!)
}

# One unmeasured redis-benchmark SET/GET run at -P 1 and -P 16 against port $1 with values of $2 bytes: the .NET
# servers compile their hot paths to optimized code in their first seconds.
warm_up() {
  local p
  for p in 1 16; do
    timeout 120 redis-benchmark -h 127.0.0.1 -p "$1" -t set,get -n 100000 -r 100000 -d "$2" -c 50 -P "$p" -q >/dev/null 2>&1 || true
  done
}
