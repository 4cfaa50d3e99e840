#!/usr/bin/env bash
# Runs every test: the Swift test suites (unit, conformance, differential, sandbox, worker) and
# the conformance vectors through the command-line tool on every engine, in process and in
# locked-down workers. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
swift build --build-tests
swift test --skip-build
swift build -c release --product alcatraz
swift build -c release --product alcatraz-worker
B=.build/release/alcatraz
$B vectors Tests/Vectors/pvm --engine interpreter
$B vectors Tests/Vectors/pvm --engine jit
$B vectors Tests/Vectors/pvm --engine both
$B vectors Tests/Vectors/pvm --engine jit --sandbox
