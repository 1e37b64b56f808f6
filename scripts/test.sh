#!/usr/bin/env bash
# Runs the whole test suite: unit tests and integration tests against the real server binary,
# redis-cli, a reference redis-server, HAProxy, a real etcd and the Node.js clients. Installs what it needs from Debian when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing ${need[*]}..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# ioredis and node-redis, pinned by package-lock.json, for the Node client tests.
(cd Estoraje.IntegrationTests/NodeClients && npm ci --no-audit --no-fund --loglevel=error)

configuration="${CONFIGURATION:-Release}"
dotnet build Estoraje.sln -c "$configuration" -nologo -v quiet
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test Estoraje.sln -c "$configuration" --no-build -nologo 2>&1 | tee "$log" || status=$?

# One plain closing line over all test projects.
passed=$(grep -Eo 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
echo "$passed passed, $failed failed"
exit "$status"
