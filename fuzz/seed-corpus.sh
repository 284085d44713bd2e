#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the repository's own policies and sample
# actions (names are content hashes, as libFuzzer writes them). Run from the
# repository root or from fuzz/; existing corpus files are kept.
set -euo pipefail
cd "$(dirname "$0")/.."

seed() { # target file...
  local dir="fuzz/corpus/$1"; shift
  mkdir -p "$dir"
  for f in "$@"; do
    cp "$f" "$dir/$(sha1sum "$f" | cut -c1-40)"
  done
}

mapfile -t gates < <(find policies tests/fixtures -name '*.gate' | sort)
mapfile -t jsons < <(find examples tests/fixtures -name '*.json' | sort)

seed parse "${gates[@]}"
seed fmt_roundtrip "${gates[@]}"
seed evaluate "${jsons[@]}"
seed digest "${jsons[@]}"

# One JSON action per line of the JSONL fixtures, too.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
while IFS= read -r line; do
  [ -n "$line" ] || continue
  printf '%s' "$line" > "$tmp/line$i.json"
  i=$((i + 1))
done < <(cat tests/fixtures/*/*.jsonl)
seed evaluate "$tmp"/*.json
seed digest "$tmp"/*.json

# Structure-aware targets read bytes through `arbitrary`: any bytes are a
# valid start; the policy files give them something varied.
seed parse_grammar "${gates[@]}"
seed evaluate_structured "${jsons[@]}"
seed verify "${jsons[@]}"
printf '%s' '[{"approver": "carol", "roles": ["finance_approver"], "decision": "approve", "reason": "checked", "action_digest": "sha256:00", "given_at": "2026-11-22T09:30:00Z", "expires_at": "2026-11-22T18:00:00Z"}]' > "$tmp/approvals.json"
seed verify "$tmp/approvals.json"
