#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests.
#
#   pg-harness.sh start DIR     initdb into DIR (first time), start on a free 127.0.0.1 port (the same
#                               port again when DIR already holds a cluster), print PGPORT= and DSN=
#                               lines and write them to DIR/env
#   pg-harness.sh stop DIR      pg_ctl -m immediate stop (like a crash: no checkpoint)
#   pg-harness.sh restart DIR   stop (if running), then start
#   pg-harness.sh kill DIR      kill -9 the postmaster and its backends
#
# As root the server runs as user postgres (runuser); as anyone else it runs as that user.
# The unix socket lives inside DIR; the server listens on 127.0.0.1 only; fsync stays on.
set -euo pipefail

usage() {
  echo "usage: $0 start|stop|restart|kill DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
cmd="$1"
dir="$2"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
data="$dir/data"
log="$dir/log"
envfile="$dir/env"

find_bin() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
    local here
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    echo "pg-harness: PostgreSQL not installed; running scripts/setup.sh test" >&2
    bash "$here/scripts/setup.sh" test >&2
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  fi
  if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
    echo "pg-harness: no /usr/lib/postgresql/<version>/bin/initdb found" >&2
    exit 1
  fi
  echo "$d"
}
bin="$(find_bin)"

# Runs a command as the server's user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
  local p
  if command -v python3 >/dev/null 2>&1; then
    p="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    echo "$p"
    return
  fi
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if port_free "$p"; then
      echo "$p"
      return
    fi
  done
  echo "pg-harness: no free port found" >&2
  exit 1
}

postmaster_pid() {
  [ -f "$data/postmaster.pid" ] && head -n 1 "$data/postmaster.pid" || true
}

running() {
  local pid
  pid="$(postmaster_pid)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

do_start() {
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$dir"
    chmod 700 "$dir"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      exit 1
    }
  fi
  local port=""
  if [ -f "$envfile" ]; then
    port="$(sed -n 's/^PGPORT=//p' "$envfile")"
  fi
  if running; then
    echo "pg-harness: server in $dir already running" >&2
  else
    [ -n "$port" ] || port="$(free_port)"
    as_pg "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=on -c max_connections=100" \
      start >/dev/null || {
      tail -n 20 "$log" >&2
      exit 1
    }
  fi
  local dsn="host=127.0.0.1 port=$port user=postgres dbname=postgres"
  printf 'PGPORT=%s\nDSN=%s\n' "$port" "$dsn" >"$envfile"
  cat "$envfile"
}

do_stop() {
  if running; then
    as_pg "$bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null
  fi
}

do_kill() {
  local pid
  pid="$(postmaster_pid)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    local children
    children="$(ps -o pid= --ppid "$pid" || true)"
    kill -9 "$pid" $children 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
  fi
}

case "$cmd" in
  start) do_start ;;
  stop) do_stop ;;
  restart)
    do_stop
    do_start
    ;;
  kill) do_kill ;;
  *) usage ;;
esac
