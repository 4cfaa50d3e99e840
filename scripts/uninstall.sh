#!/usr/bin/env bash
# Removes what scripts/install.sh installed.
#
#   scripts/uninstall.sh [--prefix DIR] [--destdir DIR] [--purge]
#
#   --purge   also remove /etc/alcatraz (the config) and the `alcatraz` system user
set -euo pipefail

prefix=/usr/local
destdir=""
purge=0
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --destdir) destdir="$2"; shift 2 ;;
        --purge) purge=1; shift ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "uninstall: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
root="${destdir%/}"

if [ -z "$root" ] && [ -d /run/systemd/system ]; then
    systemctl disable --now alcatrazd.socket alcatrazd.service 2>/dev/null || true
fi
rm -f "$root$prefix/bin/alcatrazd" "$root$prefix/bin/alcatraz" "$root$prefix/bin/alcatraz-worker"
rm -f "$root/etc/systemd/system/alcatrazd.service" "$root/etc/systemd/system/alcatrazd.socket"
rm -rf "$root$prefix/share/doc/alcatraz"
if [ "$purge" = 1 ]; then
    rm -rf "$root/etc/alcatraz"
    if [ -z "$root" ] && getent passwd alcatraz >/dev/null; then userdel alcatraz || true; fi
fi
if [ -z "$root" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
echo "uninstall: done$([ "$purge" = 1 ] && echo ' (config and user removed)')"
