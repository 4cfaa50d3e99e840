#!/usr/bin/env bash
# Builds Alcatraz and runs the sample program on the default configuration.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
swift build -c release --product alcatraz
echo "== alcatraz run Guest/examples/echo.pvmasm --input-hex 48656c6c6f2c20416c63617472617a21"
.build/release/alcatraz run Guest/examples/echo.pvmasm --input-hex 48656c6c6f2c20416c63617472617a21
