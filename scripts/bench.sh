#!/usr/bin/env bash
# Builds the release benchmark harness and runs every benchmark: interpreter vs JIT execution
# speed, one-shot cost and JIT compile speed (docs/benchmarks.md). Extra arguments go to
# alcatraz-bench, e.g. `scripts/bench.sh --reps 11`, `--only compile`, `--json`.
# Prints the machine (nproc, CPU model) and the date with the figures; quote medians.
set -euo pipefail
cd "$(dirname "$0")/.."

swift build -c release --product alcatraz-bench >&2
echo "nproc: $(nproc)  cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')  date: $(date -u)" >&2
exec .build/release/alcatraz-bench --programs Benchmarks/programs "$@"
