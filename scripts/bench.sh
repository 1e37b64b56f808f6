#!/usr/bin/env bash
# Side-by-side throughput: Estoraje, redis-server and, in memory mode when it installs, Microsoft Garnet,
# measured with the same redis-benchmark runs, alternating servers, median of ROUNDS rounds.
#   MODE=memory    Estoraje's memory store against Redis without persistence (and Garnet)
#   MODE=everysec  Estoraje's log store against Redis with appendonly yes, both appendfsync everysec
#   MODE=always    the same with appendfsync always (fsync before every reply; group commit in Estoraje)
# D sets the value size; ESTORAJE_ARGS adds flags to Estoraje's command line (e.g. "--event-loops 2"). Rewrites
# the section between the bench markers of that mode and size in docs/benchmarks.md.
#   MODE=memory ROUNDS=3 N=200000 D=100 GARNET=1 ./scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rounds="${ROUNDS:-3}"
requests="${N:-200000}"
pipelined=$((4 * requests > 1000000 ? 4 * requests : 1000000))
mode="${MODE:-memory}"
size="${D:-100}"
case "$mode" in memory|everysec|always) ;; *) echo "MODE must be memory, everysec or always" >&2; exit 2 ;; esac
work="$root/.bench"
# shellcheck source=bench-lib.sh
. "$root/scripts/bench-lib.sh"
mkdir -p "$work"

ensure_redis

echo "Publishing estoraje-server (Release)..."
dotnet publish Estoraje.Server/Estoraje.Server.csproj -c Release -o "$work/estoraje" -nologo -v quiet

garnet=""
if [ "${GARNET:-1}" = "1" ] && [ "$mode" = memory ]; then
  if [ ! -x "$work/garnet/garnet-server" ]; then
    dotnet tool install --tool-path "$work/garnet" garnet-server --version 2.2.8 >/dev/null 2>&1 || true
  fi
  [ -x "$work/garnet/garnet-server" ] && garnet="$work/garnet/garnet-server"
fi

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

declare -A port pid
start_estoraje_and_redis "$work/estoraje/estoraje-server" "$mode" "$work/data-$mode"
servers=(estoraje redis)
if [ -n "$garnet" ]; then
  port[garnet]=$(free_port)
  "$garnet" --bind 127.0.0.1 --port "${port[garnet]}" > "$work/garnet.log" 2>&1 &
  pids+=($!)
  servers+=(garnet)
fi
for s in "${servers[@]}"; do wait_ready "${port[$s]}"; done

for s in "${servers[@]}"; do warm_up "${port[$s]}" "$size"; done

results="$work/results.txt"
: > "$results"
for round in $(seq 1 "$rounds"); do
  for pipeline in 1 16; do
    for s in "${servers[@]}"; do
      # redis-benchmark spins forever if a server dies mid-run: always bounded.
      # Pipelined runs get 4x the requests, and at least 1,000,000: at -P 16 N requests can take a few hundredths of a
      # second, too short to time (and shorter than a server's first adjustments to the load, see EventLoop.cs).
      timeout 300 redis-benchmark -h 127.0.0.1 -p "${port[$s]}" -t set,get -n "$((pipeline == 1 ? requests : pipelined))" -r 100000 -d "$size" -c 50 \
        -P "$pipeline" --csv 2>/dev/null | tr -d '"' | awk -F, -v s="$s" -v p="$pipeline" \
        '$1=="SET"||$1=="GET" {print s, p, $1, $2}' >> "$results"
      echo "round $round P$pipeline $s: $(grep "^$s $pipeline " "$results" | tail -2 | awk '{printf "%s %s  ", $3, $4}')"
    done
  done
done

table="$work/table.md"
{
  echo "<!-- bench:start:$mode:$size -->"
  echo "Run: $(date -u +%Y-%m-%d) · \`MODE=$mode D=$size ROUNDS=$rounds N=$requests ./scripts/bench.sh\` · $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
       "$(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}') · .NET $(dotnet --version) ·" \
       "redis-server $(redis-server --version | grep -Eo 'v=[0-9.]+' | cut -d= -f2)$([ -n "$garnet" ] && echo ' · Garnet 2.2.8')"
  echo
  case "$mode" in
    memory) echo "Estoraje's memory store against Redis without persistence." ;;
    *) echo "Estoraje \`--storage log --appendfsync $mode\` against Redis \`--appendonly yes --appendfsync $mode\`." ;;
  esac
  echo
  echo "\`redis-benchmark -t set,get -n $requests -r 100000 -d $size -c 50 -P 1\` (and \`-n $pipelined -P 16\`), median of $rounds alternating rounds after one"
  echo "unmeasured warm-up run per server, requests/s:"
  echo
  header="| test | Estoraje | Redis |"; rule="| --- | ---: | ---: |"
  [ -n "$garnet" ] && { header="$header Garnet |"; rule="$rule ---: |"; }
  echo "$header Estoraje / Redis | rounds Estoraje ahead of Redis |$([ -n "$garnet" ] && echo ' Estoraje / Garnet |')"
  echo "$rule ---: | ---: |$([ -n "$garnet" ] && echo ' ---: |')"
  for pipeline in 1 16; do
    for t in SET GET; do
      declare -A m=()
      for s in "${servers[@]}"; do
        m[$s]=$(awk -v s="$s" -v p="$pipeline" -v t="$t" '$1==s && $2==p && $3==t {print $4}' "$results" | median)
      done
      row="| $t -P $pipeline | ${m[estoraje]} | ${m[redis]} |"
      [ -n "$garnet" ] && row="$row ${m[garnet]} |"
      row="$row $(awk -v a="${m[estoraje]}" -v b="${m[redis]}" 'BEGIN {printf "%.2f", a/b}') |"
      # Round by round (each server's n-th run of the test): how often Estoraje was the faster.
      row="$row $(awk -v p="$pipeline" -v t="$t" '$2==p && $3==t && $1=="estoraje" {e[++ne]=$4} $2==p && $3==t && $1=="redis" {r[++nr]=$4}
        END {for (i = 1; i <= ne && i <= nr; i++) w += e[i] > r[i]; printf "%d of %d", w, (ne < nr ? ne : nr)}' "$results") |"
      [ -n "$garnet" ] && row="$row $(awk -v a="${m[estoraje]}" -v b="${m[garnet]}" 'BEGIN {printf "%.2f", a/b}') |"
      echo "$row"
    done
  done
  echo "<!-- bench:end:$mode:$size -->"
} > "$table"

replace_section docs/benchmarks.md "<!-- bench:start:$mode:$size -->" "<!-- bench:end:$mode:$size -->" "$table"
cat "$table"
