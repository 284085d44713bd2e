#!/usr/bin/env bash
# The README's "service in five minutes", run for real: start `gatehouse
# serve` on the shipped policy with nothing else installed (SQLite in a
# temporary data directory), then with curl: make keys, create a request,
# approve it, claim it once, report it, and check the exported audit chain
# offline. Usage: scripts/serve-smoke.sh [path/to/gatehouse]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/gatehouse}
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" serve --policy policies/ai-agent-actions --data-dir "$work/data" --listen 127.0.0.1:0 \
  > "$work/out" 2> "$work/log" &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q 'development admin token' "$work/out" 2>/dev/null && break
  sleep 0.1
done
base=$(sed -n 's/^gatehouse serve: listening on //p' "$work/out")
admin=$(sed -n 's/^development admin token (shown once, keep it): //p' "$work/out")
[ -n "$base" ] && [ -n "$admin" ] || { cat "$work/out" "$work/log"; echo "the server did not start" >&2; exit 1; }

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
key() {
  curl -sf -X POST "$base/v1/admin/keys" -H "Authorization: Bearer $admin" \
    -H 'content-type: application/json' -d "$1" | json "['key']"
}
agent=$(key '{"identity": "agent-refunds", "scopes": ["request", "execute"]}')
lead=$(key '{"identity": "alice", "scopes": ["approve"], "roles": ["support_lead"]}')

id=$(curl -sf -X POST "$base/v1/requests" -H "Authorization: Bearer $agent" \
  -H 'content-type: application/json' --data-binary @examples/actions/refund-small.json | json "['id']")
state() { curl -sf "$base/v1/requests/$id" -H "Authorization: Bearer $admin" | json "['state']"; }
[ "$(state)" = pending ] || { echo "expected pending" >&2; exit 1; }

curl -sf -X POST "$base/v1/requests/$id/decisions" -H "Authorization: Bearer $lead" \
  -H 'content-type: application/json' -d '{"decision": "approve", "reason": "order checked"}' > /dev/null
[ "$(state)" = approved ] || { echo "expected approved" >&2; exit 1; }

curl -sf -X POST "$base/v1/requests/$id/claim" -H "Authorization: Bearer $agent" \
  -H 'content-type: application/json' --data-binary @examples/actions/refund-small.json > /dev/null
second=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/v1/requests/$id/claim" \
  -H "Authorization: Bearer $agent" -H 'content-type: application/json' \
  --data-binary @examples/actions/refund-small.json)
[ "$second" = 409 ] || { echo "a second claim answered $second, not 409" >&2; exit 1; }
curl -sf -X POST "$base/v1/requests/$id/executed" -H "Authorization: Bearer $agent" \
  -H 'content-type: application/json' -d '{"result": "succeeded"}' > /dev/null
[ "$(state)" = executed ] || { echo "expected executed" >&2; exit 1; }

# The review console, as the README's "review console" paragraph uses it:
# alice signs in with the development sign-in and sees a second refund in
# her queue (curl keeps the cookies; the browser tests do the rest).
id2=$(curl -sf -X POST "$base/v1/requests" -H "Authorization: Bearer $agent" \
  -H 'content-type: application/json' --data-binary @examples/actions/refund-small.json | json "['id']")
jar="$work/cookies"
pre=$(curl -sf -c "$jar" "$base/console/signin" | python3 -c \
  "import re,sys; print(re.search(r'name=\"_csrf\" value=\"([0-9a-f]{64})\"', sys.stdin.read()).group(1))")
curl -sf -b "$jar" -c "$jar" -o /dev/null -H "Origin: $base" \
  --data "_csrf=$pre&identity=alice&next=/console/" "$base/console/signin/dev"
curl -sf -b "$jar" "$base/console/" | grep -q "data-request-id=\"$id2\"" \
  || { echo "alice's console queue does not list $id2" >&2; exit 1; }

curl -sf "$base/v1/audit" -H "Authorization: Bearer $admin" > "$work/chain.jsonl"
"$bin" audit verify "$work/chain.jsonl" --require-chain
echo "serve smoke: request $id pending -> approved -> executing -> executed; console queue lists $id2; chain intact"
