#!/usr/bin/env bash
# The real browser of the console's end-to-end tests (tests/serve/console_*.rs):
# Debian's headless Chromium and its WebDriver, chromedriver.
#
#   scripts/browser-deps.sh
#
# Succeeds at once when both are installed (/usr/bin/chromium and
# /usr/bin/chromedriver, or the paths in $CHROMIUM and $CHROMEDRIVER).
# Otherwise installs the distribution's packages when run as root
# (`apt-get update && apt-get install -y chromium chromium-driver`, as CI
# does), and otherwise fails, printing the command to run. Nothing is
# downloaded from anywhere but the distribution's package archive, and the
# tests never skip: without a browser they fail and point here.
set -euo pipefail

chromium="${CHROMIUM:-/usr/bin/chromium}"
driver="${CHROMEDRIVER:-/usr/bin/chromedriver}"

have() { [ -x "$chromium" ] && [ -x "$driver" ]; }

if have; then
    exit 0
fi

if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    echo "browser-deps: installing chromium and chromium-driver with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium chromium-driver
    if have; then
        exit 0
    fi
    echo "browser-deps: apt-get installed chromium and chromium-driver, but $chromium or $driver is still missing" >&2
    exit 1
fi

cat >&2 <<MSG
browser-deps: the console's browser tests need Chromium and chromedriver
(missing: $( [ -x "$chromium" ] || printf '%s ' "$chromium")$( [ -x "$driver" ] || printf '%s' "$driver")).
Install Debian's packages, as root:

    apt-get update && apt-get install -y chromium chromium-driver

or set CHROMIUM and CHROMEDRIVER to installed binaries.
MSG
exit 1
