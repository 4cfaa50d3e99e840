#!/usr/bin/env bash
# Installs Alcatraz: binaries, systemd units, the default config and the service user.
#
#   scripts/install.sh [--prefix DIR] [--destdir DIR] [--no-build] [--no-user]
#
#   --prefix DIR   where binaries and docs go (default /usr/local): DIR/bin, DIR/share/doc/alcatraz
#   --destdir DIR  stage everything under DIR instead of / (for packaging and tests); implies --no-user
#   --no-build     install what `swift build -c release` already built
#   --no-user      do not create the `alcatraz` system user
#
# An existing /etc/alcatraz/alcatraz.toml is never overwritten: the new default is written next
# to it as alcatraz.toml.new. Run as root. Undo with scripts/uninstall.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=/usr/local
destdir=""
build=1
user=1
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --destdir) destdir="$2"; user=0; shift 2 ;;
        --no-build) build=0; shift ;;
        --no-user) user=0; shift ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "install: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ "$build" = 1 ]; then
    bash scripts/setup.sh
    swift build -c release --product alcatrazd
    swift build -c release --product alcatraz
    swift build -c release --product alcatraz-worker
fi
bin=$(swift build -c release --show-bin-path)

root="${destdir%/}"
install -d -m 0755 "$root$prefix/bin" "$root/etc/alcatraz" "$root/etc/systemd/system" "$root$prefix/share/doc/alcatraz"
for b in alcatrazd alcatraz alcatraz-worker; do
    install -m 0755 "$bin/$b" "$root$prefix/bin/$b"
done
for unit in alcatrazd.service alcatrazd.socket; do
    sed "s#/usr/local/#$prefix/#g" "systemd/$unit" > "$root/etc/systemd/system/$unit"
    chmod 0644 "$root/etc/systemd/system/$unit"
done
if [ -e "$root/etc/alcatraz/alcatraz.toml" ]; then
    install -m 0644 Config/alcatraz.toml "$root/etc/alcatraz/alcatraz.toml.new"
    echo "install: kept the existing /etc/alcatraz/alcatraz.toml; the new default is alcatraz.toml.new"
else
    install -m 0644 Config/alcatraz.toml "$root/etc/alcatraz/alcatraz.toml"
fi
# The default config names the worker beside alcatrazd (worker_executable = ""), which is where
# this script puts it.
install -m 0644 README.md docs/*.md "$root$prefix/share/doc/alcatraz/"

if [ "$user" = 1 ] && ! getent passwd alcatraz >/dev/null; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin alcatraz
    echo "install: created the system user alcatraz"
fi
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
fi
echo "install: done. Start with: systemctl enable --now alcatrazd (see docs/operations.md)"
