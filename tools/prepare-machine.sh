#!/usr/bin/env bash
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
# Prepare this machine for every test (tools/test.sh calls it first):
#
#   lint       shellcheck                                (Debian package)
#   libvirt    libvirt-daemon, libvirt-clients, libvirt-dev, pkg-config,
#              qemu-system-x86; libvirtd and virtlogd started with 2 MiB
#              huge pages (tools/start-libvirtd.sh)
#   e2e        mariadb-server, rabbitmq-server, qemu-utils, the Keystone,
#              Glance and Neutron virtualenvs, and the vCenter simulator
#              (golang-go, golang-github-vmware-govmomi-dev)
#              (tools/e2e/install-e2e.sh)
#   pythons    the other Python versions Nova 34 supports (3.11, 3.12, 3.13),
#              from the distribution or pyenv (tools/find-python.sh)
#
# As root on Debian or Ubuntu it installs and starts what is missing. As any
# other user, or on another system, it changes nothing and says what is
# missing and how to get it; the tests that need it then skip, saying why.
# A part that cannot be prepared is a warning, unless its
# NOVA_SCALE_EXT_REQUIRE_<PART>=1 is set (CI sets them all): then it is an
# error. NOVA_SCALE_EXT_PREPARE=0 changes nothing on the machine.
set -o errexit -o nounset -o pipefail

cd "$(dirname "$0")/.."

log() { echo "prepare-machine: $*" >&2; }

required() {  # required PART: is NOVA_SCALE_EXT_REQUIRE_<PART>=1 set?
    local var="NOVA_SCALE_EXT_REQUIRE_${1^^}"
    [ "${!var:-}" = 1 ]
}

failed=()
# step PART DESCRIPTION COMMAND...: run one preparation step.
step() {
    local part=$1 what=$2
    shift 2
    local began=$SECONDS
    if "$@"; then
        log "$what: ready ($((SECONDS - began)) s)"
    elif required "$part"; then
        log "$what: FAILED and NOVA_SCALE_EXT_REQUIRE_${part^^}=1"
        failed+=("$part")
    else
        log "$what: could not be prepared; the tests that need it skip"
    fi
}

# missing_debian PACKAGE...: those not installed.
missing_debian() {
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
            grep -q 'ok installed' || echo "$pkg"
    done
}

other_pythons() {  # other_pythons: supported versions not yet found
    local version
    for version in $(bash tools/find-python.sh --versions); do
        bash tools/find-python.sh "$version" >/dev/null 2>&1 ||
            echo "$version"
    done
}

install_pythons() {
    local version absent=()
    for version in $(other_pythons); do
        # Debian 13 ships python3.13, Ubuntu 24.04 python3.12; pyenv builds
        # need the interpreter's sources, which may not be reachable.
        if apt-cache show "python$version-venv" >/dev/null 2>&1; then
            apt-get install -y -q --no-install-recommends \
                "python$version" "python$version-venv" "python$version-dev"
        elif command -v pyenv >/dev/null; then
            pyenv install --skip-existing "$version" || true
        fi
        bash tools/find-python.sh "$version" >/dev/null ||
            absent+=("$version")
    done
    if [ ${#absent[@]} -gt 0 ]; then
        log "no Python ${absent[*]} here: install it from your" \
            "distribution (python${absent[0]}, python${absent[0]}-venv)" \
            "or with pyenv (pyenv install ${absent[0]})"
        return 1
    fi
}

if [ "${NOVA_SCALE_EXT_PREPARE:-1}" = 0 ]; then
    log "NOVA_SCALE_EXT_PREPARE=0: the machine is left as it is"
    exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    if [ "$(id -u)" != 0 ]; then
        why="not root"
    else
        why="no apt-get (not Debian or Ubuntu)"
    fi
    log "$why: nothing is installed or started; the tests that need"
    log "what is missing skip and say how to get it. As root on Debian or"
    log "Ubuntu, this command installs it (see tools/prepare-machine.sh)."
    if command -v dpkg-query >/dev/null; then
        packages_missing=$(missing_debian shellcheck libvirt-daemon libvirt-clients \
            libvirt-dev pkg-config qemu-system-x86 mariadb-server \
            rabbitmq-server qemu-utils golang-go \
            golang-github-vmware-govmomi-dev | tr '\n' ' ')
        [ -z "$packages_missing" ] ||
            log "missing Debian packages: $packages_missing(apt-get install $packages_missing)"
    fi
    for part in lint libvirt e2e; do
        if required "$part"; then
            log "NOVA_SCALE_EXT_REQUIRE_${part^^}=1 needs a prepared machine"
            failed+=("$part")
        fi
    done
    [ ${#failed[@]} -eq 0 ] || exit 1
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
step lint "system packages (shellcheck, libvirt, QEMU)" \
    bash tools/install-system-packages.sh
step libvirt "libvirtd with 2 MiB huge pages" bash tools/start-libvirtd.sh
step e2e "end-to-end cloud (MariaDB, RabbitMQ, Keystone, Glance, Neutron, vCenter simulator)" \
    bash tools/e2e/install-e2e.sh
if [ -n "$(other_pythons)" ]; then
    step pythons "Python $(other_pythons | tr '\n' ' ')" install_pythons
fi

if [ ${#failed[@]} -gt 0 ]; then
    log "required but not prepared: ${failed[*]}"
    exit 1
fi
