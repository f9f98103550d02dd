#!/usr/bin/env bash
# Install the Debian packages the tests need (as root; idempotent).
#   the shellcheck linter         lint of the shell scripts
#   libvirt-*, qemu-system-x86    the real-libvirtd tests of the driver shim
#   libvirt-dev, pkg-config       building libvirt-python
set -o errexit -o nounset -o pipefail

PACKAGES=(
    shellcheck
    libvirt-daemon libvirt-clients libvirt-dev
    pkg-config qemu-system-x86
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' \
        || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "Missing Debian packages: ${missing[*]}" >&2
    echo "Run as root (or install them) to run every test;" \
         "the tests that need them will be skipped." >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
