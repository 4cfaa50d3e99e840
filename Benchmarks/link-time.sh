#!/usr/bin/env bash
# Link time of `alcatraz link` on a generated ~1.5 MB guest ELF (1,500 functions with switches,
# divisions and calls): builds the ELF once, links it RUNS times (default 7) and prints the median
# of the translation time `alcatraz link --verbose` reports (ELF bytes in memory -> encoded blob),
# wall-clock and CPU time of the linking thread.
#
#   bash Benchmarks/link-time.sh [RUNS] [FUNCTIONS]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS=${1:-7}
N=${2:-1500}
cd "$ROOT"
swift build -c release --product alcatraz >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$N" > "$tmp/large.c" <<'PY'
import random, sys
random.seed(1)
n = int(sys.argv[1])
print('#include "alcatraz.h"')
for i in range(n):
    a, b, c = random.randint(1, 1000), random.randint(1, 50), random.randint(5, 11)
    print(f'''__attribute__((noinline)) uint64_t f{i}(uint64_t x, uint64_t y) {{
  uint64_t s = x * {a} + y;
  for (int k = 0; k < {b}; k++) {{
    switch ((s + k) % {c}) {{
      case 0: s = s * 31 + k; break;
      case 1: s ^= s >> 7; break;
      case 2: s += y / (k + 1); break;
      case 3: s -= x % (k + 3); break;
      case 4: s = (s << 3) | (s >> 61); break;
      default: s += {i};
    }}
  }}
  return s + (y > x ? f{max(i - 1, 0)}(y - 1, x) : x);
}}''')
print('static unsigned char o[8];\nALCATRAZ_ENTRY(run)\nstatic alc_output run(const unsigned char *in, unsigned long len) { uint64_t s = 0; (void)in;')
for i in range(0, n, 7):
    print(f' s += f{i}(len, {i});')
print(' for (int i = 0; i < 8; i++) o[i] = (unsigned char)(s >> (8 * i)); return alc_out(o, 8); }')
PY
scripts/build-guest.sh --elf "$tmp/large.c" -o "$tmp/large.elf"
for _ in $(seq "$RUNS"); do
    .build/release/alcatraz link "$tmp/large.elf" -o "$tmp/large.pvm" --verbose
done | tee "$tmp/log" | sed -n '1,4p' >&2
python3 - "$tmp/log" "$(stat -c %s "$tmp/large.elf")" <<'PY'
import re, statistics, sys
text = open(sys.argv[1]).read()
wall = [float(x) for x in re.findall(r"link time ([0-9.]+) ms", text)]
cpu = [float(x) for x in re.findall(r"\(CPU ([0-9.]+) ms\)", text)]
print(f"ELF {sys.argv[2]} bytes: median link time {statistics.median(wall):.2f} ms wall (min {min(wall):.2f}, max {max(wall):.2f}), "
      f"{statistics.median(cpu):.2f} ms CPU (min {min(cpu):.2f}), over {len(wall)} runs")
PY
