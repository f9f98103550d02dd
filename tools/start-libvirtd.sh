#!/bin/bash
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.
#
# Configure and start libvirtd and virtlogd on a machine without systemd, with
# a pool of 2 MiB huge pages, for the tests in tests/functional/virt/. Installs
# nothing: the packages (libvirt-daemon, libvirt-clients, qemu-system-x86)
# must already be there. Safe to run again: what is already done is left as
# it is. Must run as root.
#
#   tools/start-libvirtd.sh          configure, reserve huge pages, start
#   tools/start-libvirtd.sh stop     stop the daemons it started, release the
#                                    huge pages
#
# Environment:
#   NOVA_SCALE_EXT_HUGEPAGES   number of 2 MiB pages to reserve (default 256)

set -euo pipefail

HUGEPAGES=${NOVA_SCALE_EXT_HUGEPAGES:-256}
NR_HUGEPAGES=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
HUGETLBFS=/dev/hugepages
QEMU_CONF=/etc/libvirt/qemu.conf
MARK_BEGIN="# BEGIN nova-scale-ext test settings"
MARK_END="# END nova-scale-ext test settings"

log() { echo "start-libvirtd: $*" >&2; }
die() { log "$*"; exit 1; }

running() {  # running PIDFILE: is the daemon of that pid file alive?
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

stop_daemon() {  # stop_daemon NAME PIDFILE
    local pid
    if running "$2"; then
        pid=$(cat "$2")
        log "stopping $1 (pid $pid)"
        kill "$pid"
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -0 "$pid" 2>/dev/null && die "$1 (pid $pid) did not stop"
    fi
    rm -f "$2"
}

set_hugepages() {
    [ -w "$NR_HUGEPAGES" ] || { log "no 2 MiB huge page support"; return 0; }
    echo "$1" > "$NR_HUGEPAGES"
    log "2 MiB huge pages: $(cat "$NR_HUGEPAGES") (asked for $1)"
}

if [ "$(id -u)" != 0 ]; then
    die "must run as root"
fi

if [ "${1:-start}" = stop ]; then
    stop_daemon libvirtd /run/libvirtd.pid
    stop_daemon virtlogd /run/virtlogd.pid
    set_hugepages 0
    exit 0
fi

command -v libvirtd >/dev/null || die "libvirtd is not installed"
command -v virtlogd >/dev/null || die "virtlogd is not installed"

mkdir -p /var/log/libvirt /run/libvirt /var/lib/libvirt/qemu \
    /var/cache/libvirt/qemu

# QEMU runs as root without a security driver: this machine has no
# systemd-managed libvirt-qemu account and no AppArmor/SELinux set-up.
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
getent passwd libvirt-qemu >/dev/null ||
    useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin \
        libvirt-qemu

touch "$QEMU_CONF"
if ! grep -qF "$MARK_BEGIN" "$QEMU_CONF"; then
    cat >> "$QEMU_CONF" <<EOF
$MARK_BEGIN
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
hugetlbfs_mount = "$HUGETLBFS"
$MARK_END
EOF
    if running /run/libvirtd.pid; then
        log "qemu.conf changed: restarting libvirtd"
        stop_daemon libvirtd /run/libvirtd.pid
    fi
fi

# Huge pages and hugetlbfs must be in place before libvirtd starts: it
# reads the mount points once.
current=$(cat "$NR_HUGEPAGES" 2>/dev/null || echo 0)
if [ "$current" -lt "$HUGEPAGES" ]; then
    set_hugepages "$HUGEPAGES"
fi
mkdir -p "$HUGETLBFS"
if ! grep -qs " $HUGETLBFS hugetlbfs " /proc/mounts; then
    mount -t hugetlbfs -o pagesize=2M hugetlbfs "$HUGETLBFS"
    if running /run/libvirtd.pid; then
        log "hugetlbfs mounted: restarting libvirtd"
        stop_daemon libvirtd /run/libvirtd.pid
    fi
fi

if ! running /run/virtlogd.pid; then
    log "starting virtlogd"
    virtlogd -d
fi
if ! running /run/libvirtd.pid; then
    log "starting libvirtd"
    libvirtd -d
fi

for _ in $(seq 60); do
    if virsh -c qemu:///system version >/dev/null 2>&1; then
        log "libvirtd is up: $(virsh -c qemu:///system version |
            sed -n 's/^Using library: //p')"
        exit 0
    fi
    sleep 0.5
done
die "libvirtd did not answer on qemu:///system within 30 s"
