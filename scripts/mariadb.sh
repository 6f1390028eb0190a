#!/usr/bin/env bash
# Throwaway MariaDB server for the proxorm test suite.
#
#   bash scripts/mariadb.sh install   # apt-get install mariadb-server if mariadbd is missing
#   bash scripts/mariadb.sh start     # start (idempotent); prints the connection URL on stdout
#   bash scripts/mariadb.sh stop      # shut it down (no error if not running)
#   bash scripts/mariadb.sh url       # print the connection URL
#   bash scripts/mariadb.sh status    # exit 0 if running, 1 if not
#
# Environment:
#   PROXORM_MARIADB_DIR   data/socket/log directory (default /tmp/proxorm-mariadb)
#   PROXORM_MARIADB_PORT  TCP port on 127.0.0.1     (default 33306)
#
# Only the URL goes to stdout; everything else goes to stderr.
set -euo pipefail

# mariadbd lives in /usr/sbin, which is not on every user's PATH.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

DIR="${PROXORM_MARIADB_DIR:-/tmp/proxorm-mariadb}"
PORT="${PROXORM_MARIADB_PORT:-33306}"
SOCK="$DIR/s"
DATA="$DIR/data"
DB=proxorm_test
DB_USER=proxorm
DB_PASS=proxorm

log() { printf 'mariadb.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

url() { printf 'mysql://%s:%s@127.0.0.1:%s/%s\n' "$DB_USER" "$DB_PASS" "$PORT" "$DB"; }

# Prints the path of the mariadbd binary (PATH, then /usr/sbin); fails if there is none.
find_mariadbd() {
  local d
  local IFS=:
  for d in $PATH /usr/sbin; do
    if [ -n "$d" ] && [ -f "$d/mariadbd" ] && [ -x "$d/mariadbd" ]; then
      printf '%s\n' "$d/mariadbd"
      return 0
    fi
  done
  return 1
}

have_server() { find_mariadbd >/dev/null; }

is_running() {
  [ -S "$SOCK" ] || return 1
  mariadb-admin --no-defaults --socket="$SOCK" -uroot --connect-timeout=2 ping >/dev/null 2>&1
}

root_sql() {
  mariadb --no-defaults --socket="$SOCK" -uroot --batch --skip-column-names "$@"
}

cmd_install() {
  if have_server && command -v mariadb-install-db >/dev/null 2>&1 \
     && command -v mariadb-admin >/dev/null 2>&1 && command -v mariadb >/dev/null 2>&1; then
    log "mariadb-server already installed ($(find_mariadbd))"
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "not root and no sudo: cannot apt-get install mariadb-server"
    sudo=(sudo -n)
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install mariadb-server manually"
  log "installing mariadb-server with apt-get ..."
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    mariadb-server >&2
  have_server || die "mariadb-server installed but mariadbd still not found"
  log "mariadb-server installed"
}

provision() {
  root_sql <<SQL
CREATE DATABASE IF NOT EXISTS \`$DB\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
-- A second database: tests of two Environments on two databases (helpers/databases.ts openSecond).
CREATE DATABASE IF NOT EXISTS \`${DB}_2\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL PRIVILEGES ON \`$DB\`.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`$DB\`.* TO '$DB_USER'@'localhost';
-- The Chinook tests load the sample database's MySQL script into a database of their own
-- (it drops and creates it): __tests__/helpers/chinook.ts.
GRANT ALL PRIVILEGES ON \`${DB}_chinook\`.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`${DB}_chinook\`.* TO '$DB_USER'@'localhost';
GRANT ALL PRIVILEGES ON \`${DB}_2\`.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`${DB}_2\`.* TO '$DB_USER'@'localhost';
-- Each jest worker but the first tests on databases of its own, <db>_w<N> and what the
-- suites derive from it (__tests__/helpers/worker-databases.ts); \_ is a literal underscore.
GRANT ALL PRIVILEGES ON \`${DB}\\_w%\`.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`${DB}\\_w%\`.* TO '$DB_USER'@'localhost';
-- PROCESS: the concurrent model-based test reads SHOW ENGINE INNODB STATUS to see which
-- statements wait for a row lock.
GRANT PROCESS ON *.* TO '$DB_USER'@'127.0.0.1';
GRANT PROCESS ON *.* TO '$DB_USER'@'localhost';
FLUSH PRIVILEGES;
SQL
}

cmd_start() {
  have_server || die "mariadbd not found (run: bash scripts/mariadb.sh install)"
  command -v mariadb-admin >/dev/null 2>&1 || die "mariadb-admin not found (run: bash scripts/mariadb.sh install)"

  if is_running; then
    log "already running (socket $SOCK)"
    provision   # idempotent; repairs a half-finished earlier start
    url
    return 0
  fi

  mkdir -p "$DIR"
  if [ ! -d "$DATA/mysql" ]; then
    log "initialising data dir $DATA ..."
    rm -rf "$DATA"
    if ! mariadb-install-db --no-defaults --user=root --datadir="$DATA" \
         --auth-root-authentication-method=normal --skip-test-db \
         >"$DIR/install-db.log" 2>&1; then
      tail -n 30 "$DIR/install-db.log" >&2 || true
      rm -rf "$DATA"
      die "mariadb-install-db failed (log: $DIR/install-db.log)"
    fi
  fi

  local mariadbd_bin
  mariadbd_bin="$(find_mariadbd)"
  log "starting $mariadbd_bin on 127.0.0.1:$PORT (socket $SOCK) ..."
  # stdin/stdout/stderr must not stay attached to the caller's pipes, or a
  # caller capturing our output (execFileSync, $(...)) would wait forever.
  setsid nohup "$mariadbd_bin" --no-defaults --user=root --datadir="$DATA" \
    --socket="$SOCK" --port="$PORT" --bind-address=127.0.0.1 --skip-log-bin \
    --pid-file="$DIR/mariadbd.pid" \
    </dev/null >"$DIR/server.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$DIR/pid"

  local i
  for ((i = 0; i < 300; i++)); do
    if is_running; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then i=300; break; fi   # server died
    sleep 0.1
  done
  if ! is_running; then
    log "server did not come up; tail of $DIR/server.log:"
    tail -n 40 "$DIR/server.log" >&2 || true
    kill "$pid" 2>/dev/null || true
    die "could not start mariadbd"
  fi
  log "server up (pid $pid)"

  provision
  url
}

cmd_stop() {
  local pid=""
  [ -f "$DIR/pid" ] && pid="$(cat "$DIR/pid" 2>/dev/null || true)"
  if is_running; then
    log "stopping server (socket $SOCK) ..."
    mariadb-admin --no-defaults --socket="$SOCK" -uroot shutdown >&2 || true
  fi
  # Wait for the process we started to go away (it may still be flushing).
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
     && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "mariadbd" ]; then
    local i
    for ((i = 0; i < 300; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "mariadbd (pid $pid) still alive, sending SIGTERM"
      kill "$pid" 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$DIR/pid"
  log "stopped"
}

cmd_status() {
  if is_running; then
    log "running (socket $SOCK, port $PORT)"
    return 0
  fi
  log "not running"
  return 1
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  url) url ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 {install|start|stop|url|status}" >&2
    exit 2
    ;;
esac
