#!/usr/bin/env bash
# Install test (CI, as root): installs into a temporary root with scripts/install.sh, checks the
# units with systemd-analyze, then starts the installed daemon the way alcatrazd.service would
# (systemd is not PID 1 here): the same ExecStartPre and ExecStart, user and group alcatraz with
# no capabilities and no_new_privs, umask 0077, a clean environment, RuntimeDirectory
# /run/alcatraz, and a NOTIFY_SOCKET that must receive READY=1 and STOPPING=1. A validation
# round trip through the installed client must answer `valid`. Then uninstalls.
set -euo pipefail
cd "$(dirname "$0")/.."

root=$(mktemp -d /tmp/alcatraz-install.XXXXXX)
notify_dir=$(mktemp -d /tmp/alcatraz-notify.XXXXXX)
chmod 0755 "$root" "$notify_dir"   # the service user must reach the binaries and the notify socket
daemon=""
made_runtime_dir=0
cleanup() {
    [ -n "$daemon" ] && kill -KILL "$daemon" 2>/dev/null || true
    [ "$made_runtime_dir" = 1 ] && rm -rf /run/alcatraz
    rm -rf "$root" "$notify_dir"
}
trap cleanup EXIT

echo "== install into $root"
bash scripts/install.sh --destdir "$root" --no-build
for f in usr/local/bin/alcatrazd usr/local/bin/alcatraz usr/local/bin/alcatraz-worker \
         etc/systemd/system/alcatrazd.service etc/systemd/system/alcatrazd.socket \
         etc/alcatraz/alcatraz.toml usr/local/share/doc/alcatraz/operations.md; do
    [ -e "$root/$f" ] || { echo "missing after install: $f"; exit 1; }
done

echo "== systemd-analyze verify"
# The installed units, with their paths pointing into the temporary root (verify checks that
# every command exists and is executable), checked against this machine's unit directories.
units=$(mktemp -d /tmp/alcatraz-units.XXXXXX)
for unit in alcatrazd.service alcatrazd.socket; do
    sed "s#/usr/local/#$root/usr/local/#g; s#/etc/alcatraz/#$root/etc/alcatraz/#g" \
        "$root/etc/systemd/system/$unit" > "$units/$unit"
done
systemd-analyze verify "$units/alcatrazd.service" "$units/alcatrazd.socket"
echo "== systemd-analyze security --offline=true"
exposure=$(systemd-analyze security --offline=true "$units/alcatrazd.service" 2>&1 | sed -n 's/.*Overall exposure level for alcatrazd.service: \([0-9.]*\).*/\1/p')
rm -rf "$units"
echo "exposure: $exposure"
python3 -c "import sys; sys.exit(0 if float('$exposure') <= 2.0 else 1)" || { echo "exposure $exposure is above 2.0"; exit 1; }

# The service user, as scripts/install.sh creates it on a real install.
getent passwd alcatraz >/dev/null || useradd --system --user-group --no-create-home \
    --home-dir /nonexistent --shell /usr/sbin/nologin alcatraz
# RuntimeDirectory=alcatraz, RuntimeDirectoryMode=0750.
if [ ! -d /run/alcatraz ]; then made_runtime_dir=1; fi
install -d -m 0750 -o alcatraz -g alcatraz /run/alcatraz
config="$root/etc/alcatraz/alcatraz.toml"
socket=$(sed -n 's/^socket *= *"\(.*\)"/\1/p' "$config")
[ "$socket" = /run/alcatraz/alcatrazd.sock ] || { echo "installed config socket is $socket"; exit 1; }
# The installed config, except the metrics endpoint, off: its default port may be taken on a
# shared machine, and this test is about the unit, not about metrics (DaemonTests cover those).
sed -i 's/^metrics_address = .*/metrics_address = ""/' "$config"

# User=alcatraz Group=alcatraz CapabilityBoundingSet= NoNewPrivileges=yes UMask=0077. It execs, so
# run it in a subshell or in the background: the background job's pid is then the daemon's.
as_service() {
    exec setpriv --reuid=alcatraz --regid=alcatraz --init-groups --no-new-privs --bounding-set=-all \
        --inh-caps=-all bash -c 'umask 0077; exec "$@"' alcatrazd-unit "$@"
}
environment=(PATH=/usr/local/bin:/usr/bin:/bin USER=alcatraz LOGNAME=alcatraz HOME=/nonexistent
             SHELL=/usr/sbin/nologin RUNTIME_DIRECTORY=/run/alcatraz NOTIFY_SOCKET="$notify_dir/notify")

echo "== ExecStartPre: alcatrazd --check-config"
( as_service env -i "${environment[@]}" "$root/usr/local/bin/alcatrazd" --check-config "$config" )

echo "== ExecStart: alcatrazd --config (as alcatraz, clean environment, NOTIFY_SOCKET)"
python3 - "$notify_dir/notify" > "$notify_dir/messages" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777)
s.settimeout(60)
while True:
    data = s.recv(4096).decode()
    print(data.replace("\n", " "), flush=True)
    if "STOPPING=1" in data:
        break
PY
listener=$!
for _ in $(seq 1 100); do [ -S "$notify_dir/notify" ] && break; sleep 0.05; done
as_service env -i "${environment[@]}" "$root/usr/local/bin/alcatrazd" --config "$config" 2> "$notify_dir/daemon.log" &
daemon=$!
for _ in $(seq 1 200); do grep -q "READY=1" "$notify_dir/messages" 2>/dev/null && break; sleep 0.05; done
grep -q "READY=1" "$notify_dir/messages" || { echo "no READY=1"; cat "$notify_dir/daemon.log"; exit 1; }
echo "READY=1 received"
stat -c '%U:%G %a %n' /run/alcatraz "$socket"
[ "$(stat -c %U "$socket")" = alcatraz ] || { echo "socket not owned by alcatraz"; exit 1; }

echo "== alcatraz validate (installed client)"
out=$("$root/usr/local/bin/alcatraz" validate --socket "$socket" Guest/examples/echo.pvm --input-hex 496e7374616c6c6564)
echo "$out"
echo "$out" | grep -q '^valid' || { echo "expected a valid verdict"; cat "$notify_dir/daemon.log"; exit 1; }

echo "== SIGTERM"
kill -TERM "$daemon"
wait "$daemon"
daemon=""
wait "$listener" || true
grep -q "STOPPING=1" "$notify_dir/messages" || { echo "no STOPPING=1"; exit 1; }
echo "notifications: $(tr '\n' ' ' < "$notify_dir/messages")"

echo "== uninstall"
bash scripts/uninstall.sh --destdir "$root" --purge
[ ! -e "$root/usr/local/bin/alcatrazd" ] && [ ! -e "$root/etc/systemd/system/alcatrazd.service" ] \
    && [ ! -e "$root/etc/alcatraz" ] || { echo "uninstall left files behind"; exit 1; }
echo "install test: passed"
