#!/usr/bin/env bash
# Server CPU per request, Estoraje against Redis: the CPU time a server process used (utime + stime from
# /proc/<pid>/stat) over one redis-benchmark run, divided by its requests. Steadier than requests per second on
# a shared machine, where the benchmark client competes with the server for the same cores. Alternates the
# servers, ROUNDS times, and prints medians (µs per request) and throughputs; writes no file.
#   MODE=everysec|always|memory  D=100  N=200000  ROUNDS=3  TESTS="set get"  PIPES="1 16"  C=50 (clients)
#   ESTORAJE_ARGS="--event-loops 1"  adds flags to Estoraje's command line
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mode="${MODE:-everysec}"
size="${D:-100}"
requests="${N:-200000}"
# As bench.sh: pipelined runs get 4x the requests, and at least 1,000,000.
pipelined=$((4 * requests > 1000000 ? 4 * requests : 1000000))
rounds="${ROUNDS:-3}"
clients="${C:-50}"
case "$mode" in memory|everysec|always) ;; *) echo "MODE must be memory, everysec or always" >&2; exit 2 ;; esac
work="$root/.bench/cpu"
# shellcheck source=bench-lib.sh
. "$root/scripts/bench-lib.sh"
ensure_redis
mkdir -p "$work"
echo "Publishing estoraje-server (Release)..."
dotnet publish Estoraje.Server/Estoraje.Server.csproj -c Release -o "$work/estoraje" -nologo -v quiet

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

declare -A port pid
start_estoraje_and_redis "$work/estoraje/estoraje-server" "$mode" "$work/data"
for s in estoraje redis; do wait_ready "${port[$s]}"; done

for s in estoraje redis; do warm_up "${port[$s]}" "$size"; done

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
results="$work/results.txt"
: > "$results"
for round in $(seq 1 "$rounds"); do
  for t in ${TESTS:-set get}; do
    for p in ${PIPES:-1 16}; do
      n=$((p == 1 ? requests : pipelined))
      for s in estoraje redis; do
        before=$(ticks "${pid[$s]}")
        rps=$(timeout 300 redis-benchmark -h 127.0.0.1 -p "${port[$s]}" -t "$t" -n "$n" -r 100000 -d "$size" -c "$clients" -P "$p" --csv 2>/dev/null \
          | tr -d '"' | awk -F, 'NR==2 {print $2}')
        after=$(ticks "${pid[$s]}")
        us=$(awk -v a="$before" -v b="$after" -v n="$n" -v hz="$hz" 'BEGIN {printf "%.2f", (b - a) / hz * 1e6 / n}')
        echo "$s $t $p $us $rps" >> "$results"
        echo "round $round ${t^^} -P $p $s: $us µs/request, $rps requests/s"
      done
    done
  done
done

echo
echo "\`MODE=$mode D=$size N=$requests ROUNDS=$rounds${C:+ C=$clients}${ESTORAJE_ARGS:+ ESTORAJE_ARGS=\"$ESTORAJE_ARGS\"} ./scripts/bench-cpu.sh\`, medians:"
echo
echo "| test | Estoraje µs/request | Redis µs/request | Estoraje requests/s | Redis requests/s |"
echo "| --- | ---: | ---: | ---: | ---: |"
# The median of column $4 of the results for server $1, test $2, pipeline $3.
column() { awk -v s="$1" -v t="$2" -v p="$3" -v c="$4" '$1==s && $2==t && $3==p {print $c}' "$results" | median; }
for t in ${TESTS:-set get}; do
  for p in ${PIPES:-1 16}; do
    echo "| ${t^^} -P $p | $(column estoraje "$t" "$p" 4) | $(column redis "$t" "$p" 4) | $(column estoraje "$t" "$p" 5) | $(column redis "$t" "$p" 5) |"
  done
done
