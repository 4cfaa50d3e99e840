#!/usr/bin/env bash
# Builds an Alcatraz guest from C in one command (docs/guest-sdk.md):
#
#   scripts/build-guest.sh FILE.c [MORE.c ...] -o OUT.pvm [--stack-size N] [--keep-elf]
#   scripts/build-guest.sh --native FILE.c [MORE.c ...] -o OUT    # the same C as a host program
#   scripts/build-guest.sh --elf FILE.c [MORE.c ...] -o OUT.elf    # stop before `alcatraz link`
#
# The PVM build compiles with the clang of the Swift toolchain for RV64EMAC (lp64e ABI, no
# relaxation, no PIC, one section per function and datum), links with ld.lld --emit-relocs and
# the SDK linker script, then translates the ELF with `alcatraz link`. The native build compiles
# the same sources with the host C compiler and Guest/sdk/native_main.c, a harness that reads the
# input from a file (or stdin) and writes the entry's output to stdout.
#
# Environment: CLANG (default: the toolchain's clang), LLD (ld.lld next to it), ALCATRAZ (the
# alcatraz binary; default .build/release/alcatraz, built if missing), HOSTCC (default cc),
# GUEST_CFLAGS (extra flags for both builds; default -O2), GUEST_LDSCRIPT (linker script; default
# Guest/sdk/alcatraz.ld; set but empty: ld.lld's default layout).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SDK="$ROOT/Guest/sdk"

native=0; keep=0; elfonly=0; out=""; stack=(); srcs=()
while [ $# -gt 0 ]; do
    case "$1" in
        -o) out="$2"; shift 2 ;;
        --native) native=1; shift ;;
        --keep-elf) keep=1; shift ;;
        --elf) elfonly=1; shift ;;
        --stack-size) stack=(--stack-size "$2"); shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) srcs+=("$1"); shift ;;
    esac
done
[ -n "$out" ] && [ ${#srcs[@]} -gt 0 ] || { echo "usage: $0 [--native] FILE.c ... -o OUT" >&2; exit 1; }
OPT=${GUEST_CFLAGS:--O2}

find_tool() {  # the toolchain's tool, else the one on PATH
    local name=$1
    for d in "$(dirname "$(command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)")" /opt/swift/usr/bin; do
        [ -x "$d/$name" ] && { echo "$d/$name"; return; }
    done
    command -v "$name"
}

if [ "$native" = 1 ]; then
    HOSTCC=${HOSTCC:-$(command -v cc || command -v gcc || find_tool clang)}
    # shellcheck disable=SC2086
    exec "$HOSTCC" $OPT -std=gnu11 -DALCATRAZ_NATIVE -I"$SDK" "${srcs[@]}" "$SDK/native_main.c" -o "$out"
fi

CLANG=${CLANG:-$(find_tool clang)}
LLD=${LLD:-$(find_tool ld.lld)}
ALCATRAZ=${ALCATRAZ:-$ROOT/.build/release/alcatraz}
if [ "$elfonly" = 0 ] && [ ! -x "$ALCATRAZ" ]; then
    (cd "$ROOT" && swift build -c release --product alcatraz >&2)
fi

TARGET=(--target=riscv64 -march=rv64emac_zbb -mabi=lp64e -mrelax -mcmodel=medlow -fno-pic
        -ffreestanding -fno-builtin-printf -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables
        -fno-unwind-tables -std=gnu11 -I"$SDK")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
objs=()
for s in "${srcs[@]}"; do
    o="$tmp/$(basename "$s").o"
    # shellcheck disable=SC2086
    "$CLANG" "${TARGET[@]}" $OPT -c "$s" -o "$o"
    objs+=("$o")
done
# shellcheck disable=SC2086
"$CLANG" "${TARGET[@]}" $OPT -fno-builtin -c "$SDK/libc.c" -o "$tmp/libc.o"
# GUEST_LDSCRIPT= (set and empty) links with ld.lld's default layout instead of the SDK script:
# `alcatraz link` re-applies every relocation, so the guest must behave the same (a test checks it).
if [ -n "${GUEST_LDSCRIPT-x}" ]; then script=(-T "${GUEST_LDSCRIPT:-$SDK/alcatraz.ld}"); else script=(-e alcatraz_start); fi
"$LLD" -static --emit-relocs --no-relax --gc-sections "${script[@]}" "${objs[@]}" "$tmp/libc.o" -o "$tmp/guest.elf"
if [ "$elfonly" = 1 ]; then cp "$tmp/guest.elf" "$out"; exit 0; fi
if [ "$keep" = 1 ]; then cp "$tmp/guest.elf" "${out%.pvm}.elf"; fi
"$ALCATRAZ" link "$tmp/guest.elf" -o "$out" "${stack[@]}"
