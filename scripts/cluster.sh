#!/usr/bin/env bash
# A local Estoraje cluster on loopback: one etcd, n nodes (default 3) registered in it, HAProxy in TCP mode
# in front. Everything lives in .cluster/ (binaries, data, logs, the PID file).
#
#   scripts/cluster.sh up [n]    publish a Release build, start etcd, n nodes and HAProxy; print the address
#   scripts/cluster.sh down      stop exactly the processes 'up' started (by the PIDs it recorded)
#   scripts/cluster.sh status    list them and whether they still run
#   scripts/cluster.sh add       start one more node that joins the running cluster (not behind HAProxy);
#                                prints its client port
#
# NODE_ARGS adds flags to every node started (e.g. NODE_ARGS="--replicas 2 --maxmemory 64mb").
# Ports are picked free at start-up (never assumed). Installs etcd and HAProxy from Debian when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD/.cluster"
pids="$root/pids"

usage() { echo "usage: $0 up [nodes] | add | down | status" >&2; exit 2; }

install_missing() {
  local need=()
  command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
  command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
  command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
  if ((${#need[@]})); then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "Installing ${need[*]}..."
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}

taken=" "
# Sets $port to a loopback port nobody listens on now and not handed out by this script before (a variable,
# not output: a $(...) subshell would forget what was handed out).
free_port() {
  while :; do
    port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768+): no clash with outgoing connections
    [[ "$taken" == *" $port "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      taken+="$port "
      return
    fi
  done
}

# Is PID alive and still the process we started (its command line mentions .cluster/)?
ours() {
  local cmd
  cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
  [[ "$cmd" == *"$root/"* ]]
}

wait_port() {
  local name=$1 pid=$2 port=$3 log=$4
  for _ in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited; its log ($log):" >&2
      tail -20 "$log" >&2
      return 1
    fi
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$name is not listening on port $port after 30 s; see $log" >&2
  return 1
}

# Starts a command in its own session, logging to $log, and records its PID under $name.
start() {
  local name=$1 log=$2
  shift 2
  setsid "$@" >"$log" 2>&1 </dev/null &
  local pid=$!
  echo "$name $pid" >>"$pids"
  echo "$pid"
}

up() {
  local n=${1:-3}
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || usage
  if [ -s "$pids" ]; then
    while read -r name pid; do
      if ours "$pid"; then
        echo "A cluster is already up ($name is PID $pid): run '$0 down' first." >&2
        exit 1
      fi
    done <"$pids"
  fi
  install_missing
  rm -rf "$root"
  mkdir -p "$root"
  : >"$pids"

  echo "Publishing Estoraje.Server (Release)..."
  dotnet publish Estoraje.Server -c Release -o "$root/bin" -nologo -v quiet >/dev/null

  local port etcd_port etcd_peer
  free_port
  etcd_port=$port
  free_port
  etcd_peer=$port
  local etcd_url="http://127.0.0.1:$etcd_port" peer_url="http://127.0.0.1:$etcd_peer"
  echo "$etcd_url" >"$root/etcd-url"
  local pid
  pid=$(start etcd "$root/etcd.log" etcd --name n1 --data-dir "$root/etcd" \
    --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
    --listen-peer-urls "$peer_url" --initial-advertise-peer-urls "$peer_url" --initial-cluster "n1=$peer_url" \
    --heartbeat-interval 20 --election-timeout 200)
  local healthy=""
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$root/etcd.log" >&2; echo "etcd exited" >&2; down; exit 1; }
    if ETCDCTL_API=3 etcdctl --endpoints="$etcd_url" --dial-timeout=1s endpoint health >/dev/null 2>&1; then
      healthy=1
      break
    fi
    sleep 0.1
  done
  [ -n "$healthy" ] || { echo "etcd is not healthy after 10 s; see $root/etcd.log" >&2; down; exit 1; }
  echo "etcd        $etcd_url (PID $pid)"

  local ports=() i peer_port
  for i in $(seq 1 "$n"); do
    # The peer port defaults to port + 10000: pick it too, so that it is free as well.
    free_port
    peer_port=$port
    free_port
    ports+=("$port")
    mkdir -p "$root/node$i"
    # shellcheck disable=SC2086 # NODE_ARGS is a list of flags
    pid=$(start "node$i" "$root/node$i.log" dotnet "$root/bin/estoraje-server.dll" --port "$port" --bind 127.0.0.1 \
      --dir "$root/node$i" --etcd "$etcd_url" --peer-port "$peer_port" ${NODE_ARGS:-})
    echo "node$i       127.0.0.1:$port (PID $pid)"
  done
  for i in $(seq 1 "$n"); do
    pid=$(awk -v name="node$i" '$1 == name { print $2 }' "$pids")
    wait_port "node$i" "$pid" "${ports[$((i - 1))]}" "$root/node$i.log" || { down; exit 1; }
  done

  local lb_port
  free_port
  lb_port=$port
  {
    echo "global"
    echo "    maxconn 4096"
    echo "defaults"
    echo "    mode tcp"
    echo "    timeout connect 2s"
    echo "    timeout client 1h"
    echo "    timeout server 1h"
    echo "frontend estoraje"
    echo "    bind 127.0.0.1:$lb_port"
    echo "    default_backend nodes"
    echo "backend nodes"
    echo "    balance roundrobin"
    for i in $(seq 1 "$n"); do
      echo "    server node$i 127.0.0.1:${ports[$((i - 1))]} check inter 1s"
    done
  } >"$root/haproxy.cfg"
  pid=$(start haproxy "$root/haproxy.log" haproxy -db -f "$root/haproxy.cfg")
  wait_port haproxy "$pid" "$lb_port" "$root/haproxy.log" || { down; exit 1; }
  echo "haproxy     127.0.0.1:$lb_port (PID $pid)"

  # Every node registered, ready (nodes after the first join, then turn ready) and in the first one's ring.
  if command -v redis-cli >/dev/null 2>&1; then
    local members=0
    for _ in $(seq 1 300); do
      members=$(redis-cli -p "${ports[0]}" info cluster | tr -d '\r' | awk -F: '$1 == "estoraje_ring_members" { print $2 }')
      [ "$members" = "$n" ] && break
      sleep 0.1
    done
    echo "members     $members of $n ready"
  fi
  echo
  echo "Connect: redis-cli -h 127.0.0.1 -p $lb_port    (StackExchange.Redis: 127.0.0.1:$lb_port)"
  echo "Stop:    $0 down"
}

# Sends SIGTERM to the recorded processes whose names match $1 (a regex), waits up to 10 s, then SIGKILLs the rest.
stop_matching() {
  local pattern=$1 name pid alive=() left
  while read -r name pid; do
    [[ "$name" =~ $pattern ]] || continue
    if ours "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      alive+=("$pid")
      echo "stopping $name (PID $pid)"
    fi
  done <"$pids"
  for _ in $(seq 1 100); do
    left=()
    for pid in "${alive[@]}"; do
      if ours "$pid"; then left+=("$pid"); fi
    done
    alive=("${left[@]}")
    ((${#alive[@]})) || return 0
    sleep 0.1
  done
  for pid in "${alive[@]}"; do
    echo "PID $pid did not stop after 10 s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
  done
}

down() {
  [ -s "$pids" ] || { echo "Nothing recorded in $pids: nothing to stop."; return 0; }
  # HAProxy and the nodes first, etcd last: the nodes deregister (revoke their leases) while etcd still runs.
  stop_matching '^(haproxy|node[0-9]+)$'
  stop_matching '^etcd$'
  rm -f "$pids"
}

add() {
  [ -s "$pids" ] && [ -f "$root/etcd-url" ] || { echo "No cluster is up: run '$0 up' first." >&2; exit 1; }
  local etcd_url i=1 port peer_port pid
  etcd_url=$(cat "$root/etcd-url")
  while grep -q "^node$i " "$pids"; do i=$((i + 1)); done
  free_port
  peer_port=$port
  free_port
  mkdir -p "$root/node$i"
  # shellcheck disable=SC2086 # NODE_ARGS is a list of flags
  pid=$(start "node$i" "$root/node$i.log" dotnet "$root/bin/estoraje-server.dll" --port "$port" --bind 127.0.0.1 \
    --dir "$root/node$i" --etcd "$etcd_url" --peer-port "$peer_port" ${NODE_ARGS:-})
  wait_port "node$i" "$pid" "$port" "$root/node$i.log" || exit 1
  echo "node$i       127.0.0.1:$port (PID $pid) joining"
}

status() {
  [ -s "$pids" ] || { echo "No cluster recorded."; return 0; }
  while read -r name pid; do
    if ours "$pid"; then echo "$name PID $pid running"; else echo "$name PID $pid gone"; fi
  done <"$pids"
}

case "${1:-}" in
  up) up "${2:-3}" ;;
  down) down ;;
  status) status ;;
  add) add ;;
  *) usage ;;
esac
