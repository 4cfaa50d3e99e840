#!/usr/bin/env bash
# Installs what building and testing Alcatraz needs on a Debian machine (run as root).
# The Swift toolchain itself (6.x, with its clang and lld) must already be on PATH.
set -euo pipefail

# libc6-dev and libstdc++-12-dev: the static archives (libc.a, libstdc++.a) the static
# alcatraz-worker links (the toolchain needs both anyway; named here for the static link).
packages=(libseccomp-dev libcap-dev libc6-dev libstdc++-12-dev pkg-config binutils python3 systemd)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH (install the Swift 6 toolchain first)" >&2; exit 1; }
