#!/usr/bin/env bash
# Throwaway Redis servers for the proxorm test suite (the shared L2 cache's tests).
#
#   bash scripts/redis.sh install        # apt-get install redis-server if it is missing
#   bash scripts/redis.sh start          # single server (idempotent); prints its URL on stdout
#   bash scripts/redis.sh stop           # shut it down (no error if not running)
#   bash scripts/redis.sh kill           # SIGKILL it (tests: Redis dies mid-run)
#   bash scripts/redis.sh restart        # start it again on the same port (after kill)
#   bash scripts/redis.sh pause|resume   # SIGSTOP / SIGCONT it (tests: Redis too slow to answer)
#   bash scripts/redis.sh url            # print the URL
#   bash scripts/redis.sh status         # exit 0 if running, 1 if not
#   bash scripts/redis.sh start-cluster  # 3 masters, prints "host:port,host:port,host:port"
#   bash scripts/redis.sh stop-cluster
#   bash scripts/redis.sh cluster-nodes  # print "host:port,host:port,host:port"
#   bash scripts/redis.sh cluster-status # exit 0 if the cluster is up and says cluster_state:ok
#   bash scripts/redis.sh kill-node PORT     # SIGKILL one cluster node (tests: a node dies mid-run)
#   bash scripts/redis.sh restart-node PORT  # start it again with its nodes.conf: it rejoins, same slots, no data
#
# Environment:
#   PROXORM_REDIS_DIR           pidfiles, logs and cluster configs (default /tmp/proxorm-redis)
#   PROXORM_REDIS_PORT          the single server's port on 127.0.0.1 (default 6390)
#   PROXORM_REDIS_CLUSTER_PORT  the cluster's first port; it uses three (default 7101)
#
# Nothing is persisted (--save '' --appendonly no). The machine's own Redis (6379) is
# never touched: every command here names its own port. Only URLs go to stdout.
set -euo pipefail

DIR="${PROXORM_REDIS_DIR:-/tmp/proxorm-redis}"
PORT="${PROXORM_REDIS_PORT:-6390}"
CPORT="${PROXORM_REDIS_CLUSTER_PORT:-7101}"
CPORTS=("$CPORT" "$((CPORT + 1))" "$((CPORT + 2))")

log() { printf 'redis.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

url() { printf 'redis://127.0.0.1:%s\n' "$PORT"; }
cluster_nodes() { printf '127.0.0.1:%s,127.0.0.1:%s,127.0.0.1:%s\n' "${CPORTS[@]}"; }

have_server() { command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; }
ping() { redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null | grep -q PONG; }

cmd_install() {
  if have_server; then
    log "redis-server already installed ($(command -v redis-server))"
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "not root and no sudo: cannot apt-get install redis-server"
    sudo=(sudo -n)
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install redis-server manually"
  log "installing redis-server with apt-get ..."
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold redis-server >&2
  have_server || die "redis-server installed but still not found"
  # Debian's package starts the machine's own server on 6379: ours never use it.
  log "redis-server installed"
}

# Starts one daemonized server on $1 in directory $2, with extra arguments after them.
start_server() {
  local port="$1" dir="$2"
  shift 2
  mkdir -p "$dir"
  if ping "$port"; then
    log "already running on 127.0.0.1:$port"
    return 0
  fi
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/server.log" "$@" >&2 \
    || die "redis-server did not start on port $port (log: $dir/server.log)"
  local i
  for ((i = 0; i < 100; i++)); do
    if ping "$port"; then
      log "server up on 127.0.0.1:$port"
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 "$dir/server.log" >&2 || true
  die "redis-server on port $port did not answer"
}

# Whether process $1 has exited and waits to be reaped (a zombie: its port is free already;
# the daemon's parent, often a container's init, may take a second or two to reap it).
exited() { [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

# Stops the server on $1 whose pidfile is in $2; $3 = TERM or KILL.
stop_server() {
  local port="$1" dir="$2" sig="${3:-TERM}" pid=""
  [ -f "$dir/redis.pid" ] && pid="$(cat "$dir/redis.pid" 2>/dev/null || true)"
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$dir/redis.pid"
    return 0
  fi
  # Only a redis-server we started, never another process that reused the pid.
  [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "redis-server" ] || { rm -f "$dir/redis.pid"; return 0; }
  if [ "$sig" = KILL ]; then
    kill -9 "$pid" 2>/dev/null || true
  else
    redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  fi
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    exited "$pid" && break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/redis.pid"
  log "stopped 127.0.0.1:$port ($sig)"
}

cmd_start() {
  have_server || die "redis-server not found (run: bash scripts/redis.sh install)"
  start_server "$PORT" "$DIR/single"
  url
}

cluster_ok() { redis-cli -h 127.0.0.1 -p "$CPORT" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }

cmd_start_cluster() {
  have_server || die "redis-server not found (run: bash scripts/redis.sh install)"
  if cluster_ok; then
    log "cluster already up"
    cluster_nodes
    return 0
  fi
  local p
  for p in "${CPORTS[@]}"; do
    # A fresh node each time: an old nodes.conf would remember a cluster that is gone.
    stop_server "$p" "$DIR/cluster-$p"
    rm -rf "$DIR/cluster-$p"
    start_server "$p" "$DIR/cluster-$p" --cluster-enabled yes --cluster-config-file nodes.conf \
      --cluster-node-timeout 2000
  done
  redis-cli --cluster create "127.0.0.1:${CPORTS[0]}" "127.0.0.1:${CPORTS[1]}" "127.0.0.1:${CPORTS[2]}" \
    --cluster-replicas 0 --cluster-yes >&2 || die "redis-cli --cluster create failed"
  local i
  for ((i = 0; i < 100; i++)); do
    if cluster_ok; then
      log "cluster up"
      cluster_nodes
      return 0
    fi
    sleep 0.1
  done
  die "cluster did not reach cluster_state:ok"
}

# The cluster port named by $1, or an error: kill-node / restart-node touch only our own nodes.
cluster_port() {
  local p
  for p in "${CPORTS[@]}"; do
    [ "$p" = "${1:-}" ] && return 0
  done
  die "not a port of this cluster: ${1:-<none>} (its ports: ${CPORTS[*]})"
}

cmd_restart_node() {
  cluster_port "$1"
  [ -f "$DIR/cluster-$1/nodes.conf" ] || die "no nodes.conf for 127.0.0.1:$1: start-cluster first"
  # Same directory, so the node reads its nodes.conf and rejoins with its slots (its keys are gone).
  start_server "$1" "$DIR/cluster-$1" --cluster-enabled yes --cluster-config-file nodes.conf \
    --cluster-node-timeout 2000
}

cmd_stop_cluster() {
  local p
  # In parallel: a cluster node takes about 2 s to exit after SHUTDOWN.
  for p in "${CPORTS[@]}"; do stop_server "$p" "$DIR/cluster-$p" & done
  wait
}

# Sends $1 (STOP or CONT) to the single server we started.
signal_single() {
  local pid=""
  [ -f "$DIR/single/redis.pid" ] && pid="$(cat "$DIR/single/redis.pid" 2>/dev/null || true)"
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "redis-server" ] || die "no server of ours on $PORT"
  kill "-$1" "$pid"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  restart) cmd_start ;;
  stop) stop_server "$PORT" "$DIR/single" TERM ;;
  kill) stop_server "$PORT" "$DIR/single" KILL ;;
  pause) signal_single STOP ;;
  resume) signal_single CONT ;;
  url) url ;;
  status) ping "$PORT" ;;
  start-cluster) cmd_start_cluster ;;
  stop-cluster) cmd_stop_cluster ;;
  cluster-status) cluster_ok ;;
  cluster-nodes) cluster_nodes ;;
  kill-node) cluster_port "${2:-}" && stop_server "$2" "$DIR/cluster-$2" KILL ;;
  restart-node) cmd_restart_node "${2:-}" ;;
  *)
    echo "usage: $0 {install|start|stop|kill|restart|pause|resume|url|status|start-cluster|stop-cluster|cluster-status|cluster-nodes|kill-node PORT|restart-node PORT}" >&2
    exit 2
    ;;
esac
