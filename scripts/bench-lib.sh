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
