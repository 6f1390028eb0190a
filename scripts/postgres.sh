#!/usr/bin/env bash
# Throwaway PostgreSQL server for the proxorm test suite.
#
#   bash scripts/postgres.sh install   # apt-get install postgresql if initdb/pg_ctl are missing
#   bash scripts/postgres.sh start     # start (idempotent); prints the connection URL on stdout
#   bash scripts/postgres.sh stop      # shut it down (no error if not running)
#   bash scripts/postgres.sh kill      # SIGKILL the server and its backends (tests: the server dies mid-run)
#   bash scripts/postgres.sh restart   # start it again on the same port and data (after kill or stop)
#   bash scripts/postgres.sh url       # print the connection URL
#   bash scripts/postgres.sh status    # exit 0 if running, 1 if not
#
# Environment:
#   PROXORM_PG_DIR   data, socket and log directory (default /tmp/proxorm-pg)
#   PROXORM_PG_PORT  TCP port on 127.0.0.1          (default 5440)
#
# The server refuses to run as root, so as root every server command runs as the
# `postgres` user (Debian's package creates it), which must be able to enter
# PROXORM_PG_DIR: keep it out of /root. As any other user it runs as that user.
# The cluster is a throwaway: trust authentication on 127.0.0.1 and its own socket
# directory only, no fsync. The machine's own PostgreSQL (5432, /var/run/postgresql) is
# never touched: every command here names this cluster's socket directory and port.
# Only the URL goes to stdout; everything else goes to stderr.
set -euo pipefail

# runuser lives in /usr/sbin, which is not on every user's PATH.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
# The caller's libpq settings must not redirect our commands to another server.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGPASSFILE PGSERVICE PGSERVICEFILE PGDATA PGOPTIONS

DIR="${PROXORM_PG_DIR:-/tmp/proxorm-pg}"
case "$DIR" in /*) ;; *) DIR="$PWD/$DIR" ;; esac
PORT="${PROXORM_PG_PORT:-5440}"
DATA="$DIR/data"
SOCK="$DIR/s"
DB=proxorm_test
SUPERUSER=postgres
# Commands run from a directory every user can enter (the postgres user cannot enter /root).
cd /

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

url() { printf 'postgres://%s@127.0.0.1:%s/%s\n' "$SUPERUSER" "$PORT" "$DB"; }

# Prints the bin directory of the newest PostgreSQL under /usr/lib/postgresql (Debian's
# layout: /usr/bin holds only version-dispatching wrappers); fails if there is none.
find_bin() {
  local d best=""
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && [ -x "$d/psql" ] || continue
    if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$best" "$d" | sort -V | tail -n 1)" = "$d" ]; then best="$d"; fi
  done
  [ -n "$best" ] || return 1
  printf '%s\n' "$best"
}

have_server() { find_bin >/dev/null; }

# Runs its arguments as the user that owns the cluster: `postgres` when we are root.
as_owner() {
  if [ "$(id -u)" -ne 0 ]; then
    "$@"
  elif command -v runuser >/dev/null 2>&1; then
    runuser -u postgres -- "$@"
  else
    su -s /bin/sh -c '"$0" "$@"' postgres "$@"
  fi
}

is_running() {
  [ -S "$SOCK/.s.PGSQL.$PORT" ] || return 1
  "$BIN/pg_isready" -q -h "$SOCK" -p "$PORT" -U "$SUPERUSER" -d postgres -t 2 >/dev/null 2>&1
}

psql_super() {
  "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U "$SUPERUSER" -d postgres -At "$@"
}

# Exit 0 if process $1 is our server: alive, not a zombie, and working in our data
# directory (as a postmaster and its backends do); never another process that reused the
# pid, such as a backend of the machine's own PostgreSQL.
ours() {
  local cwd
  alive "$1" || return 1
  cwd="$(readlink "/proc/$1/cwd" 2>/dev/null || true)"
  [ -n "$cwd" ] && [ "$cwd" = "$(cd "$DATA" 2>/dev/null && pwd -P)" ]
}

# The PID of our postmaster (first line of its postmaster.pid) if it is running, else nothing.
server_pid() {
  local pid=""
  [ -f "$DATA/postmaster.pid" ] && pid="$(head -n 1 "$DATA/postmaster.pid" 2>/dev/null || true)"
  [ -n "$pid" ] && ours "$pid" || return 0
  printf '%s\n' "$pid"
}

# Removes the lock files a killed server left: postgres refuses to start while the pid in
# one still exists, and a killed postmaster stays a zombie until its parent (init) reaps it.
clear_stale_locks() {
  local f pid
  for f in "$DATA/postmaster.pid" "$SOCK/.s.PGSQL.$PORT.lock"; do
    [ -f "$f" ] || continue
    pid="$(head -n 1 "$f" 2>/dev/null || true)"
    [ -n "$pid" ] && ours "$pid" && continue
    rm -f "$f"
  done
}

cmd_install() {
  if have_server; then
    log "postgresql already installed ($(find_bin))"
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "not root and no sudo: cannot apt-get install postgresql"
    sudo=(sudo -n)
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install postgresql manually"
  log "installing postgresql with apt-get ..."
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold postgresql >&2
  have_server || die "postgresql installed but initdb/pg_ctl still not found under /usr/lib/postgresql"
  # Debian's package may create and start the machine's own cluster on 5432: ours never use it.
  log "postgresql installed ($(find_bin))"
}

provision() {
  local name
  # A second database: tests of two Environments on two databases (helpers/databases.ts openSecond).
  for name in "$DB" "${DB}_2"; do
    if [ -z "$(psql_super -c "SELECT 1 FROM pg_database WHERE datname = '$name'")" ]; then
      psql_super -c "CREATE DATABASE \"$name\"" >&2
    fi
  done
}

# Creates the data directory with initdb unless it holds a cluster already.
init_cluster() {
  mkdir -p "$DIR"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$DIR"
  as_owner test -w "$DIR" -a -x "$DIR" \
    || die "the postgres user cannot write $DIR (is one of its parents closed to it, like /root?): set PROXORM_PG_DIR"
  [ -f "$DATA/PG_VERSION" ] && return 0
  log "initialising data dir $DATA ..."
  rm -rf "$DATA"
  # C.UTF-8: the same byte order and character classes on every machine, whatever its locale.
  if ! as_owner "$BIN/initdb" -D "$DATA" -U "$SUPERUSER" -A trust -E UTF8 --locale=C.UTF-8 --no-sync \
       >"$DIR/initdb.log" 2>&1; then
    tail -n 30 "$DIR/initdb.log" >&2 || true
    rm -rf "$DATA"
    die "initdb failed (log: $DIR/initdb.log)"
  fi
}

cmd_start() {
  BIN="$(find_bin)" || die "PostgreSQL not found under /usr/lib/postgresql/*/bin (run: bash scripts/postgres.sh install)"
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    die "no postgres user to run the server as (the server refuses root; Debian's postgresql package creates it)"
  fi

  if is_running; then
    log "already running (socket $SOCK, port $PORT)"
    provision   # idempotent; repairs a half-finished earlier start
    url
    return 0
  fi

  init_cluster
  clear_stale_locks
  mkdir -p "$SOCK"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$SOCK"

  log "starting $BIN/postgres on 127.0.0.1:$PORT (socket $SOCK) ..."
  # A throwaway cluster: no fsync and no full-page writes (a test run never survives a
  # machine crash), connections enough for parallel pools. synchronous_commit stays on:
  # a commit reaches the OS before it returns, so what was committed survives `kill`
  # (with it off, a killed server loses its last commits). pg_ctl -l detaches the server
  # from our stdout/stderr, so a caller capturing our output (execFileSync, $(...)) does
  # not wait for the server to exit.
  if ! as_owner "$BIN/pg_ctl" start -w -t 60 -D "$DATA" -l "$DIR/server.log" \
       -o "-p $PORT -k '$SOCK' -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c full_page_writes=off" \
       </dev/null >&2; then
    log "server did not come up; tail of $DIR/server.log:"
    tail -n 40 "$DIR/server.log" >&2 || true
    die "could not start postgres on port $PORT"
  fi
  is_running || die "pg_ctl started the server but it does not answer on $SOCK:$PORT"
  log "server up (pid $(server_pid))"

  provision
  url
}

cmd_stop() {
  BIN="$(find_bin)" || { log "PostgreSQL not installed: nothing to stop"; return 0; }
  local pid
  pid="$(server_pid)"
  [ -n "$pid" ] || { log "not running"; return 0; }
  log "stopping server (pid $pid) ..."
  # fast: rolls back open transactions and closes connections, then shuts down.
  as_owner "$BIN/pg_ctl" stop -w -t 60 -m fast -D "$DATA" >&2 || true
  if alive "$pid"; then
    log "postgres (pid $pid) still alive, sending SIGKILL"
    kill_cluster "$pid"
  fi
  log "stopped"
}

# Process $1's state and process group, from /proc (ps is not on every machine): "S 1234".
stat_of() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
  stat="${stat##*) }" # after the command name, which may hold spaces: state ppid pgrp ...
  set -- $stat
  printf '%s %s\n' "$1" "$3"
}

# Exit 0 if process $1 exists and is not a zombie (a killed server whose parent has not
# reaped it yet is gone for our purposes).
alive() {
  local st
  st="$(stat_of "$1")"
  [ -n "$st" ] && [ "${st%% *}" != Z ]
}

# Exit 0 if a process of process group $1 is alive (zombies aside).
group_alive() {
  cat /proc/[0-9]*/stat 2>/dev/null \
    | awk -v g="$1" '{ sub(/.*\) /, ""); if ($3 == g && $1 != "Z") found = 1 } END { exit !found }'
}

# SIGKILLs the postmaster $1 and the backends it forked (its process group: pg_ctl starts
# it in a session of its own), and waits for them to go, so that a restart can take the
# port and the shared memory again.
kill_cluster() {
  local pid="$1" i
  if [ "$(stat_of "$pid" | cut -d' ' -f2)" = "$pid" ]; then
    kill -9 -- "-$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      group_alive "$pid" || break
      sleep 0.1
    done
  else
    kill -9 "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
  fi
}

cmd_kill() {
  local pid
  pid="$(server_pid)"
  [ -n "$pid" ] || { log "not running"; return 0; }
  kill_cluster "$pid"
  log "killed (pid $pid)"
}

cmd_status() {
  BIN="$(find_bin)" || { log "PostgreSQL not installed"; return 1; }
  if is_running; then
    log "running (socket $SOCK, port $PORT)"
    return 0
  fi
  log "not running"
  return 1
}

case "${1:-}" in
  install) cmd_install ;;
  start | restart) cmd_start ;;
  stop) cmd_stop ;;
  kill) cmd_kill ;;
  url) url ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 {install|start|stop|kill|restart|url|status}" >&2
    exit 2
    ;;
esac
