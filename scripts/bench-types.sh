#!/usr/bin/env bash
# Data types and pub/sub side by side: Estoraje (log store, appendfsync everysec) against redis-server
# (appendonly yes, everysec), the same redis-benchmark workloads alternating servers, median of ROUNDS rounds.
# Standard tests (-t) keep redis-benchmark's keys: HSET writes one field of one hash, LPUSH grows one list to N
# elements (what LRANGE_100 then reads), ZADD one member; the custom ones read back (HGET) and publish to a
# channel nobody listens to. "lpush:many" spreads the same pushes over 10,000 lists.
#   ROUNDS=3 N=20000 ./scripts/bench-types.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rounds="${ROUNDS:-3}"
requests="${N:-20000}"
work="$root/.bench/types"
# shellcheck source=bench-lib.sh
. "$root/scripts/bench-lib.sh"
rm -rf "$work" && mkdir -p "$work/estoraje" "$work/redis"
ensure_redis
echo "Publishing estoraje-server (Release)..."
dotnet publish Estoraje.Server/Estoraje.Server.csproj -c Release -o "$root/.bench/estoraje" -nologo -v quiet

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

declare -A port
port[estoraje]=$(free_port)
port[redis]=$(free_port)
"$root/.bench/estoraje/estoraje-server" --port "${port[estoraje]}" --bind 127.0.0.1 --storage log --dir "$work/estoraje" \
  --appendfsync everysec > "$work/estoraje.log" 2>&1 &
pids+=($!)
redis-server --port "${port[redis]}" --bind 127.0.0.1 --save "" --daemonize no --dir "$work/redis" --appendonly yes \
  --appendfsync everysec > "$work/redis.log" 2>&1 &
pids+=($!)
servers=(estoraje redis)
for s in "${servers[@]}"; do wait_ready "${port[$s]}"; done

# name|redis-benchmark arguments (after host, port, -n, -c 50, -P)
workloads=(
  "HSET|-t hset"
  "HGET|hget myhash element:__rand_int__"
  "LPUSH|-t lpush"
  "LRANGE_100|-t lrange_100"
  "LPUSH many lists|-r 10000 lpush list:__rand_int__ element"
  "ZADD|-t zadd"
  "SADD|-t sadd"
  "PUBLISH|publish channel message"
)

run() { # server pipeline workload-args...
  local s=$1 p=$2; shift 2
  timeout 600 redis-benchmark -h 127.0.0.1 -p "${port[$s]}" -n "$requests" -c 50 -P "$p" --csv "$@" 2>/dev/null |
    tr -d '"' | awk -F, 'NR > 1 && $2 ~ /^[0-9.]+$/ {v=$2} END {print v}'
}

results="$work/results.txt"
: > "$results"
for round in $(seq 0 "$rounds"); do
  for pipeline in 1 16; do
    for w in "${workloads[@]}"; do
      name=${w%%|*}; read -r -a args <<< "${w#*|}"
      for s in "${servers[@]}"; do
        # The lists grow every round; start each measurement from the same empty server state.
        redis-cli -p "${port[$s]}" flushall >/dev/null
        rps=$(run "$s" "$pipeline" "${args[@]}")
        # Round 0 warms the servers up and is not counted.
        [ "$round" -gt 0 ] && echo "$s|$pipeline|$name|$rps" >> "$results"
        echo "round $round P$pipeline $name $s: $rps"
      done
    done
  done
done

table="$work/table.md"
{
  echo "<!-- bench:start:types -->"
  echo "Run: $(date -u +%Y-%m-%d) · \`ROUNDS=$rounds N=$requests ./scripts/bench-types.sh\` · $(nproc) cores," \
       "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) · .NET $(dotnet --version) ·" \
       "redis-server $(redis-server --version | grep -Eo 'v=[0-9.]+' | cut -d= -f2)"
  echo
  echo "Estoraje \`--storage log --appendfsync everysec\` against Redis \`--appendonly yes --appendfsync everysec\`;"
  echo "\`redis-benchmark -n $requests -c 50 -P {1,16}\` per workload after FLUSHALL, median of $rounds alternating"
  echo "rounds after one unmeasured round, requests/s:"
  echo
  echo "| workload | -P | Estoraje | Redis | Estoraje / Redis |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  for w in "${workloads[@]}"; do
    name=${w%%|*}
    for pipeline in 1 16; do
      e=$(awk -F'|' -v n="$name" -v p="$pipeline" '$1=="estoraje" && $2==p && $3==n {print $4}' "$results" | median)
      r=$(awk -F'|' -v n="$name" -v p="$pipeline" '$1=="redis" && $2==p && $3==n {print $4}' "$results" | median)
      echo "| $name | $pipeline | $e | $r | $(awk -v a="$e" -v b="$r" 'BEGIN {printf "%.2f", (b > 0 ? a/b : 0)}') |"
    done
  done
  echo "<!-- bench:end:types -->"
} > "$table"
replace_section docs/benchmarks.md "<!-- bench:start:types -->" "<!-- bench:end:types -->" "$table"
cat "$table"
