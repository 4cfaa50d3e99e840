#!/usr/bin/env bash
# Runs every test: the Swift test suites (unit, conformance, differential, sandbox) and the
# conformance vectors through the command-line tool. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
swift build --build-tests
swift test --skip-build
swift build -c release --product alcatraz
.build/release/alcatraz vectors Tests/Vectors/pvm --engine interpreter
