#!/usr/bin/env bash
# The accessibility checker of the console's a11y tests
# (tests/serve/console_a11y.rs): Deque's axe-core, the engine behind
# Lighthouse's accessibility audit, from the npm registry.
#
#   scripts/a11y-deps.sh
#
# Succeeds at once when target/a11y/node_modules/axe-core/axe.min.js exists
# (the tests read it from there, or from $AXE_CORE). Otherwise installs
# axe-core 4 with `npm install --prefix target/a11y axe-core@4` (the exact
# version goes to target/a11y/package-lock.json), and fails loudly, printing
# how to install npm, when npm is missing. The tests never skip: without
# axe.min.js they fail and point here.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=target/a11y
axe="$prefix/node_modules/axe-core/axe.min.js"

if [ -f "$axe" ]; then
    exit 0
fi

if ! command -v npm > /dev/null; then
    cat >&2 <<MSG
a11y-deps: the console's accessibility tests need axe-core, installed with npm,
and npm is missing. Install Node.js and npm (Debian: apt-get install -y npm),
then run scripts/a11y-deps.sh again.
MSG
    exit 1
fi

echo "a11y-deps: installing axe-core 4 into $prefix with npm" >&2
mkdir -p "$prefix"
npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error axe-core@4
if [ ! -f "$axe" ]; then
    echo "a11y-deps: npm installed axe-core, but $axe is missing" >&2
    exit 1
fi
echo "a11y-deps: axe-core $(node -p "require('./$prefix/node_modules/axe-core/package.json').version" 2>/dev/null || echo '?') at $axe" >&2
