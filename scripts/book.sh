#!/usr/bin/env bash
# Builds the book (docs/, an mdBook) into target/book, failing on any warning
# or error mdBook prints.
#
# mdBook is installed once into target/tools/ from crates.io with its own
# lock file (`cargo install --locked`); a later run finds it there and needs
# no network. Set MDBOOK_VERSION to pin another version (the cached binary is
# replaced when its version differs).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="${MDBOOK_VERSION:-0.5.4}"
tools="$root/target/tools"
mdbook="$tools/bin/mdbook"

if [[ ! -x "$mdbook" ]] || [[ "$("$mdbook" --version)" != "mdbook v$version" ]]; then
  echo "== installing mdbook $version into target/tools/" >&2
  # Its own target dir, so the project's CARGO_TARGET_DIR is not disturbed.
  # Only the `search` feature: `serve` and `watch` are for local previews and
  # double the build time.
  CARGO_TARGET_DIR="$tools/build" cargo install --locked --quiet \
    --root "$tools" --version "$version" --no-default-features --features search mdbook
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cd "$root"
# mdBook reports problems on stderr; a build that "succeeds" with a warning
# (an unreadable chapter, a missing include) still fails here.
if ! "$mdbook" build --dest-dir "$root/target/book" 2> >(tee "$log" >&2); then
  echo "book.sh: mdbook build failed" >&2
  exit 1
fi
if grep -Eq 'WARN|ERROR' "$log"; then
  echo "book.sh: mdbook printed warnings or errors (above); the book must build cleanly" >&2
  exit 1
fi
echo "book.sh: built target/book/index.html"
