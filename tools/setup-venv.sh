#!/usr/bin/env bash
# Create or refresh the project's virtualenv (.venv) with Nova 34 from PyPI,
# this package (editable) and, with "test", what the tests need.
# Usage: tools/setup-venv.sh [test]
set -o errexit -o nounset -o pipefail

cd "$(dirname "$0")/.."
VENV=${NOVA_SCALE_EXT_VENV:-.venv}
PYTHON=${PYTHON:-python3}
want=${1:-run}

if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating $VENV with $($PYTHON --version)"
    "$PYTHON" -m venv "$VENV"
fi

files=(requirements.txt setup.cfg pyproject.toml)
[ "$want" = test ] && files+=(test-requirements.txt doc/requirements.txt)
stamp="$VENV/.installed-$want"
# libvirt-python builds from source against libvirt's headers: the tests that
# need a real libvirtd skip without it. Part of the stamp, so installing
# libvirt-dev later and running this again adds it.
with_libvirt=no
if [ "$want" = test ] && pkg-config --exists libvirt 2>/dev/null; then
    with_libvirt=yes
fi
sum=$( (cat "${files[@]}"; echo "libvirt-python: $with_libvirt") |
    sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    exit 0
fi

pip=("$VENV/bin/python" -m pip --quiet --disable-pip-version-check)
"${pip[@]}" install --upgrade pip
if [ "$want" = test ]; then
    "${pip[@]}" install -r requirements.txt -r test-requirements.txt
else
    "${pip[@]}" install -r requirements.txt 'nova>=34.0.0,<35' 'SQLAlchemy<2.1'
fi
"${pip[@]}" install --no-deps -e .
if [ "$with_libvirt" = yes ]; then
    echo "Installing libvirt-python (libvirt $(pkg-config --modversion libvirt))"
    "${pip[@]}" install libvirt-python
fi
echo "$sum" > "$stamp"
