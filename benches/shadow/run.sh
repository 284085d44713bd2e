#!/bin/bash
# Requests created per second over HTTP (POST /v1/requests, 4 keep-alive
# connections, python3 driver: drive.py) by a release `gatehouse serve` on
# SQLite (sync = normal), without a shadow policy and with one (the shipped
# set as its own shadow: a candidate as costly as the enforced set),
# interleaved rounds. docs/shadow.md has the figures.
#
# usage: benches/shadow/run.sh target/release/gatehouse [ROUNDS [SECONDS]]
# Servers listen on 127.0.0.1 only and are stopped by process id.
set -eu
BIN=$1; ROUNDS=${2:-3}; SECS=${3:-8}; W=$(cd "$(dirname "$0")/../.." && pwd)
for r in $(seq $ROUNDS); do
 for mode in plain shadow; do
  D=$(mktemp -d)
  CONF=$D/serve.toml
  printf 'listen = "127.0.0.1:0"\nreload_interval_ms = 0\n[limits]\nrate_per_second = 0\n[store]\nsync = "normal"\n' > $CONF
  if [ $mode = shadow ]; then printf '[shadow]\npolicy = "%s"\n' "$W/policies/ai-agent-actions" >> $CONF; fi
  $BIN serve --config $CONF --policy $W/policies/ai-agent-actions --data-dir $D/data > $D/out 2> $D/err &
  PID=$!
  for i in $(seq 100); do grep -q "admin token" $D/out 2>/dev/null && grep -q "listening" $D/out && break; sleep 0.1; done
  PORT=$(grep -o "127.0.0.1:[0-9]*" $D/out | head -1 | cut -d: -f2)
  TOKEN=$(grep -o "ghk_[A-Za-z0-9_.]*" $D/out | head -1)
  RATE=$(python3 "$(dirname "$0")/drive.py" $PORT $TOKEN $SECS 4 $W/examples/actions/refund-small.json)
  echo "$r $mode $RATE"
  kill $PID; wait $PID 2>/dev/null || true
  rm -rf $D
 done
done
