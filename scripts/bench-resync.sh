#!/usr/bin/env bash
# Re-replication: a 3-node cluster (N=3, W=2, scripts/cluster.sh) is loaded with SIZE_MB megabytes of D-byte
# values through HAProxy; then a fourth node joins (it pulls three quarters of the data: every slot it will
# hold), timed until it is ready with nothing pending, first on an idle cluster, then - a fifth node - while
# redis-benchmark drives a GET/SET load through HAProxy. Client latency (p50/p99 of that load) is measured
# before the join and during it. Prints a markdown table and rewrites the resync section of
# docs/benchmarks.md.
#   SIZE_MB=1024 D=1024 ./scripts/bench-resync.sh
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb="${SIZE_MB:-1024}"
size="${D:-1024}"
keys=$((size_mb * 1024 * 1024 / size))
work="$PWD/.bench/resync"
rm -rf "$work" && mkdir -p "$work"

command -v redis-benchmark >/dev/null 2>&1 || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"; $sudo apt-get update -qq; DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-tools >/dev/null; }
trap './scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT

NODE_ARGS="--replicas 3 --write-quorum 2 --drop-grace 600" ./scripts/cluster.sh up 3 | tee "$work/up.log"
lb=$(awk '/^haproxy/ { split($2, a, ":"); print a[2] }' "$work/up.log")
node_port() { awk -v n="node$1" '$1 == n { split($2, a, ":"); print a[2] }' "$work/up.log" "$work/add.log" 2>/dev/null | head -1; }
info() { redis-cli -p "$1" info cluster | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'; }
now() { date +%s.%N; }

echo "Loading $keys keys of $size bytes ($size_mb MB) through HAProxy on port $lb..."
value=$(head -c "$size" /dev/zero | tr '\0' 'x')
start=$(now)
# In chunks: one --pipe of a million writes keeps so many in flight that forwards time out on two cores.
for ((from = 0; from < keys; from += 50000)); do
  awk -v a="$from" -v n="$keys" -v v="$value" 'BEGIN { for (i = a; i < a + 50000 && i < n; i++) { k = "key:" i; printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v } }' \
    | redis-cli -p "$lb" --pipe | tail -1
done
load_s=$(awk -v s="$start" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }')
[ "$(redis-cli -p "$lb" dbsize)" = "$keys" ] || { echo "the cluster does not hold $keys keys" >&2; exit 1; }

# A GET/SET load through HAProxy: redis-benchmark's CSV rows ("test",...,"p50",...,"p99",...) for n requests.
load() {
  redis-benchmark -p "$lb" -t get,set -n "$1" -r "$keys" -d "$size" -c 20 --csv 2>/dev/null | awk 'NR > 1' | tr -d '"'
}

# Median p50 and worst p99 (ms) per test over the CSV rows on stdin.
summary() {
  local rows t p50 p99
  rows=$(cat)
  for t in SET GET; do
    p50=$(grep "^$t," <<<"$rows" | cut -d, -f5 | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }')
    p99=$(grep "^$t," <<<"$rows" | cut -d, -f7 | sort -n | tail -1)
    printf '%s p50 %s p99 %s; ' "$t" "${p50:-?}" "${p99:-?}"
  done
}

# Starts a node that joins; waits until the ring has `members` ready members and the node has nothing pending;
# prints seconds, keys held, and their MB (and per second).
join() {
  local members=$1 port start secs pulled
  start=$(now)
  NODE_ARGS="--replicas 3 --write-quorum 2 --drop-grace 600" ./scripts/cluster.sh add | tee -a "$work/add.log" >&2
  port=$(awk '{ split($2, a, ":"); p = a[2] } END { print p }' "$work/add.log")
  for _ in $(seq 1 36000); do
    if [ "$(info "$port" estoraje_registered)" = "1" ] && [ "$(info "$port" estoraje_ring_members)" = "$members" ] &&
       [ "$(info "$port" estoraje_sync_slots_pending)" = "0" ]; then
      break
    fi
    sleep 0.2
  done
  secs=$(awk -v s="$start" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }')
  # What it holds now: pulled by itself, or pushed to it by the others' anti-entropy meanwhile.
  held=$(redis-cli -p "$port" info keyspace | tr -d '\r' | awk -F'[=,]' '/^db0:/ { print $2 }')
  echo "$secs $(awk -v k="${held:-0}" -v d="$size" -v s="$secs" 'BEGIN { printf "%d %.0f %.1f", k, k * d / 1048576, k * d / 1048576 / s }')"
}

echo "Latency before any join..."
before=$(load 100000 | summary)
echo "Fourth node joins an idle cluster..."
read -r idle_s idle_keys idle_mb idle_rate < <(join 4)
echo "Fifth node joins under a GET/SET load..."
: >"$work/during.csv"
( while [ ! -e "$work/joined" ]; do load 20000 >>"$work/during.csv"; done ) &
bench=$!
read -r busy_s busy_keys busy_mb busy_rate < <(join 5)
touch "$work/joined"
wait "$bench" 2>/dev/null || true
during=$(summary <"$work/during.csv")
after=$(load 100000 | summary)

table=$(cat <<EOF
Run: $(date +%F) · \`SIZE_MB=$size_mb D=$size ./scripts/bench-resync.sh\` · $(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB · $(dotnet --version | head -1)

$keys keys of $size bytes loaded through HAProxy into 3 nodes (\`--replicas 3 --write-quorum 2\`, log store) in ${load_s} s.

| join | time to ready | keys it then holds | MB of values | MB/s |
| --- | ---: | ---: | ---: | ---: |
| 4th node, idle cluster | ${idle_s} s | ${idle_keys} | ${idle_mb} | ${idle_rate} |
| 5th node, under a GET/SET load | ${busy_s} s | ${busy_keys} | ${busy_mb} | ${busy_rate} |

Client latency through HAProxy, \`redis-benchmark -t get,set -c 20 -d $size\`, median p50 and worst p99 (ms):

| when | latency |
| --- | --- |
| before the joins (3 nodes) | ${before} |
| during the 5th node's join (runs of 20,000 requests until it was ready) | ${during:-n/a} |
| after (5 nodes) | ${after} |
EOF
)
echo
echo "$table"
doc=docs/benchmarks.md
if grep -q '<!-- bench:start:resync -->' "$doc"; then
  awk -v t="$table" '/<!-- bench:start:resync -->/ { print; print t; skip = 1; next } /<!-- bench:end:resync -->/ { skip = 0 } !skip' "$doc" >"$doc.tmp" && mv "$doc.tmp" "$doc"
fi
