#!/usr/bin/env bash
# The audit chain's serialization bound, measured on its own: pgbench runs
# append.sql (the statements store/postgres.rs sends while it holds the
# one `audit_head` row locked) from C clients against one chain head, and
# against one head per client (a partitioned chain), with and without the
# pg_notify every change sends; rounds interleaved, medians printed as a
# Markdown table on stdout.
#
#   benches/replicas/head/run.sh [--runs 3] [--seconds 8] [--clients 16] [--records 2] [--bytes 700]
#
# GATEHOUSE_BENCH_DATABASE_URL as for ../run.sh; one fresh database
# gh_bench_head_<pid>, dropped at the end. Needs pgbench (PostgreSQL's).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
server_url="${GATEHOUSE_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:55432/postgres}"
runs=3 seconds=8 clients=16 records=2 bytes=700
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2" ;;
    --seconds) seconds="$2" ;;
    --clients) clients="$2" ;;
    --records) records="$2" ;;
    --bytes) bytes="$2" ;;
    *) echo "head/run.sh: unknown flag $1" >&2; exit 2 ;;
  esac
  shift 2
done
if [[ "$clients" -gt 63 ]]; then echo "head/run.sh: at most 63 clients" >&2; exit 2; fi
db="gh_bench_head_$$"
dburl="$(python3 - "$server_url" "$db" <<'PY'
import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))
PY
)"
psql -X -q -v ON_ERROR_STOP=1 "$server_url" -c "CREATE DATABASE $db"
trap 'psql -X -q "$server_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
psql -X -q -v ON_ERROR_STOP=1 "$dburl" -f "$here/schema.sql" >/dev/null

results="$(mktemp)"
for round in $(seq 1 "$runs"); do
  for partitioned in 0 1; do
    for notify in 1 0; do
      tps="$(pgbench -n -f "$here/append.sql" -D partitioned=$partitioned -D notify=$notify \
        -D records="$records" -D bytes="$bytes" -c "$clients" -j 2 -T "$seconds" "$dburl" 2>&1 |
        sed -n 's/^tps = \([0-9.]*\) .*/\1/p')"
      echo "$partitioned $notify $tps" >>"$results"
      echo "head: round $round partitioned=$partitioned notify=$notify: $tps tps" >&2
    done
  done
done
python3 - "$results" "$runs" "$clients" "$records" "$bytes" "$seconds" <<'PY'
import statistics, sys
path, runs, clients, records, size, seconds = sys.argv[1:]
rows = [l.split() for l in open(path) if l.strip()]
print(f"| audit chain | pg_notify | appending transactions/s (median) | runs |")
print("|---|---|---:|---|")
for p in ("0", "1"):
    for n in ("1", "0"):
        tps = [float(r[2]) for r in rows if r[0] == p and r[1] == n and len(r) > 2]
        name = "one head (as built)" if p == "0" else f"one head per client ({clients} chains)"
        print(f"| {name} | {'yes' if n == '1' else 'no'} | {statistics.median(tps):.0f} | {', '.join(f'{t:.0f}' for t in tps)} |")
print()
print(f"pgbench, {clients} clients, {records} records of {size} bytes per transaction, {seconds} s per run, {runs} interleaved rounds.")
PY
rm -f "$results"
