#!/usr/bin/env bash
# Storage side by side: memory per key and restart time with KEYS keys of D bytes, Estoraje's log store
# (appendfsync everysec) against redis-server with appendonly yes (everysec). Prints a markdown table.
# CACHE sets Estoraje's --maxmemory (its hot-value cache; default a quarter of RAM, which holds every value).
#   KEYS=1000000 D=100 CACHE=16mb ./scripts/bench-storage.sh
set -euo pipefail
cd "$(dirname "$0")/.."
keys="${KEYS:-1000000}"
size="${D:-100}"
cache=()
[ -n "${CACHE:-}" ] && cache=(--maxmemory "$CACHE")
work="$PWD/.bench/storage"
rm -rf "$work" && mkdir -p "$work/estoraje" "$work/redis"

command -v redis-server >/dev/null 2>&1 || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"; $sudo apt-get update -qq; DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server redis-tools >/dev/null; }
dotnet publish Estoraje.Server/Estoraje.Server.csproj -c Release -o "$PWD/.bench/estoraje" -nologo -v quiet

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
free_port() { local p; while :; do p=$((20000 + RANDOM % 12000)); (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }; done; }
now() { date +%s.%N; }

# Waits until the server answers and has loaded its data (INFO loading:0); prints the seconds it took.
wait_loaded() {
  local port=$1 start=$2
  for _ in $(seq 1 6000); do
    if redis-cli -p "$port" info persistence 2>/dev/null | grep -q '^loading:0'; then
      awk -v s="$start" -v e="$(now)" 'BEGIN {printf "%.2f", e - s}'; return 0
    fi
    sleep 0.02
  done
  echo "server on port $port did not load" >&2; return 1
}

start_estoraje() { "$PWD/.bench/estoraje/estoraje-server" --port "$1" --bind 127.0.0.1 --storage log --dir "$work/estoraje" --appendfsync everysec "${cache[@]}" > "$work/estoraje.log" 2>&1 & pids+=($!); }
start_redis() { redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec --dir "$work/redis" --daemonize no > "$work/redis.log" 2>&1 & pids+=($!); }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# The same KEYS distinct keys for both, as one RESP stream for redis-cli --pipe.
value=$(head -c "$size" /dev/zero | tr '\0' 'x')
awk -v n="$keys" -v v="$value" 'BEGIN { for (i = 0; i < n; i++) { k = "key:" i; printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v } }' > "$work/load.resp"

declare -A result
for server in estoraje redis; do
  port=$(free_port)
  start=$(now); "start_$server" "$port"; wait_loaded "$port" "$start" >/dev/null
  pid=${pids[-1]}
  base=$(rss_kb "$pid")
  redis-cli -p "$port" --pipe < "$work/load.resp" | tail -1
  [ "$(redis-cli -p "$port" dbsize)" = "$keys" ] || { echo "$server does not hold $keys keys" >&2; exit 1; }
  sleep 2 # everysec: let the last second reach the disk before the restart
  rss=$(rss_kb "$pid")
  used=$(redis-cli -p "$port" info memory | awk -F: '/^used_memory:/ {print $2+0}')
  result[$server.rss]=$(awk -v r="$rss" -v b="$base" -v n="$keys" 'BEGIN {printf "%.0f", (r - b) * 1024 / n}')
  result[$server.used]=$(awk -v u="$used" -v n="$keys" 'BEGIN {printf "%.0f", u / n}')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  start=$(now); "start_$server" "$port"; result[$server.restart]=$(wait_loaded "$port" "$start")
  [ "$(redis-cli -p "$port" dbsize)" = "$keys" ] || { echo "$server lost keys over the restart" >&2; exit 1; }
  result[$server.disk]=$(du -sm "$work/$server" | cut -f1)
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
done

echo
echo "Run: $(date -u +%Y-%m-%d) · \`KEYS=$keys D=$size${CACHE:+ CACHE=$CACHE} ./scripts/bench-storage.sh\` · $(nproc) cores · redis-server $(redis-server --version | grep -Eo 'v=[0-9.]+' | cut -d= -f2)"
echo
echo "| measure | Estoraje (log store) | Redis (AOF) | Estoraje / Redis |"
echo "| --- | ---: | ---: | ---: |"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo "| RSS growth per key (bytes) | ${result[estoraje.rss]} | ${result[redis.rss]} | $(ratio "${result[estoraje.rss]}" "${result[redis.rss]}") |"
echo "| INFO used_memory per key (bytes) | ${result[estoraje.used]} | ${result[redis.used]} | $(ratio "${result[estoraje.used]}" "${result[redis.used]}") |"
echo "| restart until loading:0 (s) | ${result[estoraje.restart]} | ${result[redis.restart]} | $(ratio "${result[estoraje.restart]}" "${result[redis.restart]}") |"
echo "| data on disk (MB) | ${result[estoraje.disk]} | ${result[redis.disk]} | $(ratio "${result[estoraje.disk]}" "${result[redis.disk]}") |"
