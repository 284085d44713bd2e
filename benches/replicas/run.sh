#!/usr/bin/env bash
# Decisions and request lifecycles per second over 1, 2 and 3 replicas of
# the release `gatehouse serve` on one PostgreSQL database, and 1 replica
# on SQLite for reference; the load spread round-robin by replica-bench
# (src/main.rs). Configurations are interleaved, round after round, and the
# table gives medians; on the PostgreSQL runs it also reads the database's
# own counters around the lifecycle load (transactions, rows, WAL bytes,
# table sizes) and writes them per lifecycle. Writes benches/replicas/results.md.
#
#   benches/replicas/run.sh                       # 3 rounds, 8 s each, 32 connections
#   benches/replicas/run.sh --runs 5 --seconds 10 --connections 16
#   benches/replicas/run.sh --connections 1 --replicas "1 3" --output benches/replicas/one-connection.md
#
# PostgreSQL: GATEHOUSE_BENCH_DATABASE_URL names a server and a database
# from which the script may CREATE DATABASE (default: the session server
# postgres://postgres@127.0.0.1:55432/postgres). Every run gets a fresh
# database named gh_bench_<pid>_<n>, dropped at the end; pg_walinspect is
# created in it to attribute WAL to it alone (the server may be shared).
# Builds gatehouse and the driver with --release into $CARGO_TARGET_DIR
# (default target/replica-bench). Never part of cargo test.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/replica-bench}"
server_url="${GATEHOUSE_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:55432/postgres}"

runs=3 seconds=8 warmup=2 connections=32 max_conn=16 replicas_list="1 2 3"
out="$here/results.md"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2" ;;
    --seconds) seconds="$2" ;;
    --warmup) warmup="$2" ;;
    --connections) connections="$2" ;;
    --pool) max_conn="$2" ;;
    --replicas) replicas_list="$2" ;;
    --output) out="$(realpath -m "$2")" ;;
    *) echo "run.sh: unknown flag $1" >&2; exit 2 ;;
  esac
  shift 2
done

cargo build --release --locked --manifest-path "$root/Cargo.toml" -p gatehouse-cli --bin gatehouse >&2
cargo build --release --locked --manifest-path "$here/Cargo.toml" >&2
gatehouse="$CARGO_TARGET_DIR/release/gatehouse"
bench="$CARGO_TARGET_DIR/release/replica-bench"

# The server URL with another database name (the URL's query kept).
db_url() { # name
  python3 - "$server_url" "$1" <<'PY'
import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))
PY
}
# The URL with its password (if any) replaced, for messages.
redact() { sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#'; }
psql_at() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

work="$(mktemp -d)"
pids=()
databases=()
stop_replicas() {
  # Each replica by its id, never by name.
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  stop_replicas
  for db in "${databases[@]}"; do
    psql_at "$server_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# Starts replica $2 of configuration $1 with config file $3; sets $url
# (and $token when the replica printed the first-start admin token).
start_replica() { # name index config
  local dir="$work/$1-$2"
  mkdir -p "$dir"
  : >"$dir/stdout" # exists before the wait below reads it
  GATEHOUSE_LOG=warn "$gatehouse" serve --policy "$root/policies/ai-agent-actions" \
    --listen 127.0.0.1:0 --data-dir "$dir/data" --config "$3" \
    >"$dir/stdout" 2>"$dir/log" &
  pids+=($!)
  for _ in $(seq 1 300); do
    if grep -q '^gatehouse serve: listening on' "$dir/stdout"; then break; fi
    sleep 0.1
  done
  url="$(sed -n 's/^gatehouse serve: listening on //p' "$dir/stdout" | head -1)"
  if [[ -z "$url" ]]; then
    echo "run.sh: replica $1-$2 did not start:" >&2
    cat "$dir/stdout" "$dir/log" | redact >&2
    exit 1
  fi
  # The first replica on an empty database prints the admin token after
  # the listening line; the others print none.
  token=""
  for _ in $(seq 1 $([[ $2 -eq 1 ]] && echo 50 || echo 2)); do
    token="$(sed -n 's/^development admin token (shown once, keep it): //p' "$dir/stdout" | head -1)"
    [[ -n "$token" ]] && break
    sleep 0.1
  done
}

make_key() { # url token identity scopes-json roles-json
  curl -sf -H "Authorization: Bearer $2" -H 'content-type: application/json' \
    -d "{\"identity\":\"$3\",\"scopes\":$4,\"roles\":$5}" "$1/v1/admin/keys" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'
}

# The database's counters as one JSON object (PostgreSQL runs).
counters() { # db_url
  psql_at "$1" -c "SELECT json_build_object(
    'xact_commit', (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),
    'xact_rollback', (SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()),
    'lsn', pg_current_wal_lsn()::text,
    'tables', (SELECT json_object_agg(relname, json_build_object(
        'ins', n_tup_ins, 'upd', n_tup_upd, 'del', n_tup_del,
        'bytes', pg_total_relation_size(relid))) FROM pg_stat_user_tables),
    'audit_line_bytes', (SELECT coalesce(avg(length(line)), 0)::int FROM audit))"
}
# WAL written for this database between two LSNs: every record of a
# transaction that touched one of its relations (its commit included).
wal_of() { # db_url from to
  psql_at "$1" -c "WITH r AS (SELECT * FROM pg_get_wal_records_info('$2', '$3')),
    mine AS (SELECT DISTINCT xid FROM r
             WHERE xid <> 0 AND block_ref LIKE '%/' || (SELECT oid FROM pg_database WHERE datname = current_database()) || '/%')
    SELECT json_build_object('records', count(*), 'bytes', coalesce(sum(record_length), 0),
                             'fpi_bytes', coalesce(sum(fpi_length), 0))
    FROM r WHERE xid IN (SELECT xid FROM mine)" 2>/dev/null || echo null
}

runs_file="$work/runs.jsonl"
costs_file="$work/costs.jsonl"
serial=0
one() { # round store replicas
  local round="$1" store="$2" n="$3" name="$2-$3-r$1"
  local label="$store, $n replica$([[ $n -gt 1 ]] && echo s)"
  local config="$work/$name.toml" db="" dburl=""
  if [[ "$store" == postgres ]]; then
    serial=$((serial + 1))
    db="gh_bench_$$_$serial"
    psql_at "$server_url" -c "CREATE DATABASE $db" >/dev/null
    databases+=("$db")
    dburl="$(db_url "$db")"
    psql_at "$dburl" -c "CREATE EXTENSION IF NOT EXISTS pg_walinspect" >/dev/null
    printf '[store]\nurl = "%s"\nmax_connections = %s\n\n[limits]\nrate_per_second = 0\n' \
      "$dburl" "$max_conn" >"$config"
  else
    printf '[store]\nsync = "full"\n\n[limits]\nrate_per_second = 0\n' >"$config"
  fi
  local urls=() admin="" i
  for i in $(seq 1 "$n"); do
    start_replica "$name" "$i" "$config"
    urls+=("$url")
    [[ -n "$token" ]] && admin="$token"
    if [[ $i -eq 1 ]]; then
      [[ -n "$admin" ]] || { echo "run.sh: no admin token from $name-1" >&2; exit 1; }
      decide_key="$(make_key "$url" "$admin" bench-decider '["decide"]' '[]')"
      agent_key="$(make_key "$url" "$admin" bench-agent '["request","execute"]' '[]')"
      approver_key="$(make_key "$url" "$admin" bench-lead '["approve"]' '["support_lead"]')"
    fi
  done
  local list
  list="$(IFS=,; echo "${urls[*]}")"
  local common=(--replicas "$list" --label "$label" --run "$round" --connections "$connections"
    --seconds "$seconds" --warmup "$warmup" --out "$runs_file")
  "$bench" decide "${common[@]}" --key "$decide_key" --actions "$root/examples/actions" >/dev/null
  local before=""
  [[ -n "$db" ]] && before="$(counters "$dburl")"
  local figures
  figures="$("$bench" lifecycle "${common[@]}" --agent-key "$agent_key" \
    --approver-key "$approver_key" --action "$root/examples/actions/refund-small.json")"
  # Stopped before the counters are read: a backend flushes its
  # statistics when it ends.
  stop_replicas
  if [[ -n "$db" ]]; then
    sleep 1
    local after wal
    after="$(counters "$dburl")"
    wal="$(wal_of "$dburl" "$(jq_lsn "$before")" "$(jq_lsn "$after")")"
    python3 - "$label" "$figures" "$before" "$after" "$wal" >>"$costs_file" <<'PY'
import json, sys
label, figures, before, after, wal = sys.argv[1], *map(json.loads, sys.argv[2:])
n = figures["completed_total"]
per = lambda x: round(x / n, 2) if n else None
tables = {}
for name, a in after["tables"].items():
    b = before["tables"].get(name, {"ins": 0, "upd": 0, "del": 0})
    tables[name] = {k: per(a[k] - b[k]) for k in ("ins", "upd", "del")}
    tables[name]["bytes_total"] = a["bytes"]
print(json.dumps({
    "label": label, "lifecycles": n, "errors": figures["errors"],
    "audit_line_bytes": after["audit_line_bytes"],
    "commits": per(after["xact_commit"] - before["xact_commit"]),
    "rollbacks": per(after["xact_rollback"] - before["xact_rollback"]),
    "wal": None if wal is None else {k: per(v) for k, v in wal.items()},
    "tables": tables,
}))
PY
    psql_at "$server_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  fi
}
jq_lsn() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["lsn"])' "$1"; }

for round in $(seq 1 "$runs"); do
  one "$round" sqlite 1
  for n in $replicas_list; do one "$round" postgres "$n"; done
done

"$bench" report --in "$runs_file" --out "$work/table.md" >/dev/null
# Beside the table: results.md -> runs.jsonl and costs.jsonl (as
# published), any other NAME.md -> NAME.runs.jsonl and NAME.costs.jsonl.
stem="${out%.md}."
[[ "$out" == "$here/results.md" ]] && stem="$here/"
cp "$runs_file" "${stem}runs.jsonl"
cp "$costs_file" "${stem}costs.jsonl" 2>/dev/null || true
# The audit records per write transaction and the mean line size, from
# the PostgreSQL runs (medians), for the head's own measurement.
read -r records_per_tx line_bytes < <(python3 - "$costs_file" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()] if __import__("os").path.exists(sys.argv[1]) else []
if not rows:
    print(2, 700)
else:
    # create, approve, claim, complete: four appending transactions
    audit = statistics.median(r["tables"]["audit"]["ins"] for r in rows)
    print(max(1, round(audit / 4)), int(statistics.median(r["audit_line_bytes"] for r in rows)))
PY
)
{
  echo "# Replicas on one PostgreSQL database: measured"
  echo
  echo "Written by \`benches/replicas/run.sh --runs $runs --seconds $seconds --warmup $warmup --connections $connections --pool $max_conn --replicas \"$replicas_list\"\`"
  echo "on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores (driver, every replica and PostgreSQL share them),"
  echo "$(psql_at "$server_url" -c 'SHOW server_version' | awk '{print "PostgreSQL " $1}'), gatehouse $("$gatehouse" --version | awk '{print $2}')."
  echo "Medians over $runs interleaved rounds (each configuration on a fresh database); per-run figures in $(basename "${stem}runs.jsonl")."
  echo
  cat "$work/table.md"
  echo
  echo "Database cost per lifecycle (PostgreSQL runs; one line per run in $(basename "${stem}costs.jsonl"); \`costs.py\`):"
  echo
  python3 "$here/costs.py" "$costs_file"
  echo
  echo "The audit chain's head alone (\`head/run.sh\`: the statements sent while the head row is locked,"
  echo "with the records per transaction and the line size measured above):"
  echo
  "$here/head/run.sh" --runs "$runs" --seconds "$seconds" --records "$records_per_tx" --bytes "$line_bytes"
} >"$out"
cat "$out"
echo "wrote $out" >&2
