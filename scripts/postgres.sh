#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests (the service suite on the
# PostgreSQL store, the store contract suite, the fault-injection run).
#
#   scripts/postgres.sh          # start (or reuse) it; the URL is the last line on stdout
#   eval "$(scripts/postgres.sh env)"   # the same, as `export` lines for a shell
#   scripts/postgres.sh stop     # stop it (the data stays under target/postgres)
#
# Stdout holds only `PGBIN=<dir>` (the server's binaries, for tests that
# start a cluster of their own: export it as GATEHOUSE_TEST_PG_BIN) and, as
# the last line, the URL to export as GATEHOUSE_TEST_DATABASE_URL. Progress
# and errors go to stderr.
#
# What it does:
# - finds the newest /usr/lib/postgresql/*/bin/initdb (or $GATEHOUSE_PG_BIN,
#   or `pg_config --bindir`); when there is none and it runs as root on
#   Debian, installs the server with `apt-get install -y postgresql`;
# - initialises a cluster in target/postgres/data (or $GATEHOUSE_PG_DIR) with
#   trust authentication, listening on 127.0.0.1 only (no other address,
#   unix socket in the cluster's own directory), on $GATEHOUSE_PG_PORT or
#   the first free port from 55433;
# - starts it and waits until it accepts connections.
# A second run finds the running cluster and only prints its URL again.
#
# PostgreSQL refuses to run as root: as root the cluster belongs to the
# `postgres` user (created when missing) and initdb/pg_ctl run through
# `runuser -u postgres`; as anyone else they run as the current user.
#
# The cluster is for tests only: trust authentication (no password) on the
# loopback address, and fsync off (a test machine's power cut is not a case
# the tests make; the service's own durability promise is PostgreSQL's
# setting in production, see docs/deploy.md).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${GATEHOUSE_PG_DIR:-$PWD/target/postgres}
# A cluster an earlier run moved out of a directory its owner cannot reach.
if [[ -z "${GATEHOUSE_PG_DIR:-}" && -f "$dir/moved-to" ]]; then
  dir=$(cat "$dir/moved-to")
fi
data="$dir/data"
log="$dir/server.log"
command=${1:-start}

say() { echo "postgres.sh: $*" >&2; }
fail() {
  say "error: $*"
  exit 1
}

# The directory holding initdb and pg_ctl, or nothing.
find_bin() {
  if [[ -n "${GATEHOUSE_PG_BIN:-}" ]]; then
    [[ -x "$GATEHOUSE_PG_BIN/initdb" ]] || fail "GATEHOUSE_PG_BIN=$GATEHOUSE_PG_BIN holds no initdb"
    echo "$GATEHOUSE_PG_BIN"
    return
  fi
  local found
  # The newest major version Debian installed (sort -V: 9.6 < 15 < 16).
  found=$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -n 1 || true)
  if [[ -n "$found" && -x "$found/initdb" ]]; then
    echo "$found"
    return
  fi
  if command -v pg_config > /dev/null && [[ -x "$(pg_config --bindir)/initdb" ]]; then
    pg_config --bindir
  fi
}

bin=$(find_bin)
if [[ -z "$bin" ]]; then
  if [[ "$command" == stop ]]; then
    say "no PostgreSQL installed: nothing to stop"
    exit 0
  fi
  if [[ $(id -u) -eq 0 ]] && command -v apt-get > /dev/null; then
    say "installing PostgreSQL (apt-get install -y postgresql)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    bin=$(find_bin)
  fi
  [[ -n "$bin" ]] || fail "PostgreSQL's server binaries (initdb) are not installed; install them (Debian: apt-get install postgresql) or set GATEHOUSE_PG_BIN"
fi

# Runs a command as the cluster's owner.
if [[ $(id -u) -eq 0 ]]; then
  owner=postgres
  as_owner() { runuser -u "$owner" -- "$@"; }
else
  owner=$(id -un)
  as_owner() { "$@"; }
fi

# Whether the cluster in $data runs (pg_ctl status: 0 running, 3 not).
running() {
  [[ -f "$data/PG_VERSION" ]] && as_owner "$bin/pg_ctl" status -D "$data" > /dev/null 2>&1
}

# Whether nothing listens on 127.0.0.1:$1 (bash's /dev/tcp: a refused
# connection means the port is free).
port_free() {
  ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null
}

case "$command" in
  start | env) ;;
  stop)
    if running; then
      as_owner "$bin/pg_ctl" stop -D "$data" -m fast -w > /dev/null
      say "stopped the cluster in $data"
    else
      say "no cluster runs in $data"
    fi
    exit 0
    ;;
  *) fail "unknown command \`$command\` (start, env or stop)" ;;
esac

if ! running; then
  mkdir -p "$dir"
  if [[ $(id -u) -eq 0 ]]; then
    id "$owner" > /dev/null 2>&1 || useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$owner"
    chown "$owner:" "$dir"
    # The owner must reach the directory through every parent. A checkout
    # under a closed home (/root is 0700) cannot hold the cluster, so it
    # moves to /tmp, one directory per checkout (the path records where).
    if ! as_owner test -w "$dir"; then
      [[ -z "${GATEHOUSE_PG_DIR:-}" ]] \
        || fail "the \`$owner\` user cannot write GATEHOUSE_PG_DIR=$dir (a parent directory is closed to it)"
      dir=/tmp/gatehouse-postgres-$(printf '%s' "$PWD" | cksum | cut -d' ' -f1)
      data="$dir/data"
      log="$dir/server.log"
      mkdir -p "$dir"
      chown "$owner:" "$dir"
      echo "$dir" > "$PWD/target/postgres/moved-to"
      say "the \`$owner\` user cannot reach target/postgres; the cluster lives in $dir"
    fi
  fi
  if [[ ! -f "$data/PG_VERSION" ]]; then
    rm -rf "$data"
    say "initialising a cluster in $data"
    as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C > "$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; fail "initdb failed"; }
  fi
  port=${GATEHOUSE_PG_PORT:-}
  if [[ -z "$port" ]]; then
    port=55433
    while ! port_free "$port"; do
      port=$((port + 1))
      ((port < 55533)) || fail "no free port in 55433-55532; set GATEHOUSE_PG_PORT"
    done
  fi
  mkdir -p "$dir/run"
  [[ $(id -u) -ne 0 ]] || chown "$owner:" "$dir/run"
  # Settings on the command line, so a reused cluster takes a new port.
  as_owner "$bin/pg_ctl" start -D "$data" -l "$log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir/run' -c max_connections=300 -c fsync=off -c full_page_writes=off" \
    > /dev/null || { tail -n 20 "$log" >&2 || true; fail "the cluster did not start (log: $log)"; }
  echo "$port" > "$dir/port"
  say "started a cluster on 127.0.0.1:$port (data: $data, log: $log)"
else
  port=$(cat "$dir/port" 2> /dev/null) || fail "a cluster runs in $data but $dir/port is missing; run \`scripts/postgres.sh stop\` first"
  say "reusing the cluster on 127.0.0.1:$port"
fi

# Ready means a real connection is taken (pg_ctl -w waits for this too;
# this also catches a stale port file).
for _ in $(seq 1 60); do
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
    break
  fi
  sleep 1
done
"$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres || fail "nothing answers on 127.0.0.1:$port (log: $log)"

url="postgres://postgres@127.0.0.1:$port/postgres"
if [[ "$command" == env ]]; then
  echo "export GATEHOUSE_TEST_PG_BIN='$bin'"
  echo "export GATEHOUSE_TEST_DATABASE_URL='$url'"
else
  echo "PGBIN=$bin"
  echo "$url"
fi
