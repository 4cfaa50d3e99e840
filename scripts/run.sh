#!/usr/bin/env bash
# Builds Alcatraz, runs the sample program with the tool, then starts the daemon on the default
# configuration (Config/alcatraz.toml), shows a validation round trip and its status, and stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
for product in alcatraz alcatrazd alcatraz-worker; do
    swift build -c release --product "$product"
done
B=.build/release
echo "== alcatraz run Guest/examples/echo.pvmasm --input-hex 48656c6c6f2c20416c63617472617a21"
$B/alcatraz run Guest/examples/echo.pvmasm --input-hex 48656c6c6f2c20416c63617472617a21

SOCKET=$(sed -n 's/^socket *= *"\(.*\)"/\1/p' Config/alcatraz.toml)
echo "== alcatrazd --config Config/alcatraz.toml (socket $SOCKET)"
$B/alcatrazd --config Config/alcatraz.toml &
DAEMON=$!
trap 'kill -TERM $DAEMON 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do
    [ -S "$SOCKET" ] && break
    kill -0 $DAEMON 2>/dev/null || { echo "alcatrazd did not start"; exit 1; }
    sleep 0.05
done
echo "== alcatraz validate --socket $SOCKET Guest/examples/echo.pvm --input-hex 48656c6c6f2c20416c63617472617a21"
status=0
$B/alcatraz validate --socket "$SOCKET" Guest/examples/echo.pvm --input-hex 48656c6c6f2c20416c63617472617a21 || status=$?
# 0 valid, 2 invalid, 3 an error verdict: all are answers. 1 means no round trip happened.
[ "$status" -ne 1 ] || { echo "no answer from alcatrazd"; exit 1; }
echo "== alcatraz status --socket $SOCKET"
$B/alcatraz status --socket "$SOCKET"
echo "== SIGTERM"
kill -TERM $DAEMON
wait $DAEMON
trap - EXIT
echo "alcatrazd stopped"
