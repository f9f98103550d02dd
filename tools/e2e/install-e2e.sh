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
# Install what the end-to-end tests (tests/e2e/) need besides the project's
# virtualenv. Must run as root; safe to run again (each step is skipped when
# its stamp matches).
#
#   Debian packages   mariadb-server, rabbitmq-server (not started here: the
#                     tests run their own private instances on 127.0.0.1),
#                     qemu-utils (qemu-img, for the libvirt compute; libvirt
#                     itself comes from tools/install-system-packages.sh),
#                     golang-go and golang-github-vmware-govmomi-dev (Go and
#                     govmomi's vCenter simulator, to build vcsim-e2e)
#   $CACHE/keystone   a virtualenv with Keystone, gunicorn and PyMySQL
#   $CACHE/glance     a virtualenv with Glance, gunicorn and PyMySQL
#   $CACHE/neutron    a virtualenv with Neutron, gunicorn and PyMySQL
#                     (their pins conflict with Nova's)
#   $CACHE/nova-site  gunicorn, PyMySQL, python-memcached, oslo.vmware and
#                     suds-community for the project's virtualenv
#                     (Nova and Placement), put on PYTHONPATH of the
#                     processes the tests start; pure Python, so the pip of
#                     the Keystone virtualenv installs them
#   $CACHE/vcsim      vcsim-e2e, the vCenter simulator of tools/e2e/vcsim/
#                     for Nova's VMwareVCDriver, and the vimService.wsdl it
#                     serves (generated from govmomi's types)
#
# Environment:
#   NOVA_SCALE_EXT_E2E_CACHE  where the virtualenvs go
#                             (default /var/cache/nova-scale-ext-e2e)
#   PYTHON                    the interpreter of the new virtualenvs (the
#                             same Python version as the project's)

set -o errexit -o nounset -o pipefail

cd "$(dirname "$0")/../.."
CACHE=${NOVA_SCALE_EXT_E2E_CACHE:-/var/cache/nova-scale-ext-e2e}
PYTHON=${PYTHON:-python3}

KEYSTONE=('keystone>=30.0.0,<31' 'gunicorn' 'PyMySQL')
# glance_store's cinder extra (os-brick, python-cinderclient): glance_store
# loads every store driver it knows, and the cinder one imports them.
GLANCE=('glance>=33.0.0,<34' 'glance-store[cinder]' 'gunicorn' 'PyMySQL')
NEUTRON=('neutron>=29.0.0,<30' 'gunicorn' 'PyMySQL')
# python-memcached: dogpile.cache loads every cache backend oslo.cache
# registers, and oslo.cache's memcache_pool imports it (as DevStack has it).
# oslo.vmware for Nova's VMwareVCDriver; suds-community is the one
# dependency of it the project's virtualenv lacks.
NOVA_SITE=('gunicorn' 'PyMySQL' 'python-memcached'
    'oslo.vmware>=4.10,<5' 'suds-community>=1.1,<2')
DEBIAN=(mariadb-server rabbitmq-server qemu-utils
    golang-go golang-github-vmware-govmomi-dev)

log() { echo "install-e2e: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
    log "must run as root (it installs Debian packages)"
    exit 1
fi

missing=()
for pkg in "${DEBIAN[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' \
        || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # The packages' own start-up scripts must not start system-wide daemons
    # (the tests run private instances): a policy-rc.d refusing them, for
    # the time of the installation.
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy"
        chmod +x "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get install -y -q --no-install-recommends "${missing[@]}" ||
        { apt-get update -q &&
            apt-get install -y -q --no-install-recommends "${missing[@]}"; }
    rm -f "$policy"
    trap - EXIT
fi

mkdir -p "$CACHE"

# stamp PACKAGE...: what a directory was installed from, as one line.
stamp() {
    printf '%s\n' "$@" "$("$PYTHON" --version 2>&1)" | sha256sum |
        cut -d' ' -f1
}

# current DIR PACKAGE...: whether DIR holds those packages already.
current() {
    local dir=$1
    shift
    [ -f "$dir/.installed" ] &&
        [ "$(cat "$dir/.installed")" = "$(stamp "$@")" ]
}

# venv NAME PACKAGE...: a virtualenv $CACHE/NAME with those packages.
venv() {
    local dir=$CACHE/$1
    shift
    current "$dir" "$@" && return 0
    log "creating $dir with $*"
    rm -rf "$dir"
    "$PYTHON" -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check \
        --upgrade pip
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
    stamp "$@" > "$dir/.installed"
}

# site: NOVA_SITE for the project's virtualenv (pure Python: the
# Keystone virtualenv's pip installs them).
site() {
    local dir=$CACHE/nova-site
    current "$dir" "${NOVA_SITE[@]}" && return 0
    log "installing ${NOVA_SITE[*]} into $dir"
    rm -rf "$dir"
    "$CACHE/keystone/bin/python" -m pip install --quiet \
        --disable-pip-version-check --no-deps --target "$dir" \
        "${NOVA_SITE[@]}"
    stamp "${NOVA_SITE[@]}" > "$dir/.installed"
}

# vcsim: $CACHE/vcsim/vcsim-e2e, built from tools/e2e/vcsim/ against the
# Debian govmomi sources (GOPATH mode, no module downloads), and the
# vimService.wsdl it serves.
vcsim() {
    local dir=$CACHE/vcsim
    local -a inputs
    inputs=("$(sha256sum tools/e2e/vcsim/*.go tools/e2e/vcsim/*.py)"
        "$(go version)"
        "$(dpkg-query -W -f='${Version}' golang-github-vmware-govmomi-dev)")
    current "$dir" "${inputs[@]}" && return 0
    log "building $dir/vcsim-e2e"
    rm -rf "$dir"
    mkdir -p "$dir"
    (cd tools/e2e/vcsim &&
        GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$dir/gocache" \
            GOFLAGS='' go build -o "$dir/vcsim-e2e" .)
    rm -rf "$dir/gocache"
    "$PYTHON" tools/e2e/vcsim/vim_wsdl.py --output "$dir/vimService.wsdl" >&2
    stamp "${inputs[@]}" > "$dir/.installed"
}

began=$SECONDS
# The virtualenvs download and install in parallel.
declare -A pids
venv keystone "${KEYSTONE[@]}" > "$CACHE/keystone.log" 2>&1 &
pids[keystone]=$!
venv glance "${GLANCE[@]}" > "$CACHE/glance.log" 2>&1 &
pids[glance]=$!
venv neutron "${NEUTRON[@]}" > "$CACHE/neutron.log" 2>&1 &
pids[neutron]=$!
rc=0
for name in keystone glance neutron; do
    if ! wait "${pids[$name]}"; then
        rc=1
        log "the $name virtualenv failed; $CACHE/$name.log says:"
        tail -20 "$CACHE/$name.log" >&2
    fi
done
[ "$rc" = 0 ] || exit "$rc"
site
vcsim
log "ready in $((SECONDS - began)) s: $CACHE"
