#!/usr/bin/env bash
# Run every test: lint, sample configuration, documentation, unit and
# functional tests (on each Python version Nova 34 supports that the machine
# has), and the end-to-end tests on a real cloud.
#
# It first prepares the machine (tools/prepare-machine.sh): as root on Debian
# or Ubuntu it installs and starts what the tests need (libvirt, shellcheck,
# MariaDB, RabbitMQ, the other Python versions); elsewhere each test that
# needs something missing skips, saying what and how to get it.
# NOVA_SCALE_EXT_REQUIRE_{LINT,LIBVIRT,E2E,PYTHONS}=1 turn those skips into
# failures (CI sets them all); NOVA_SCALE_EXT_PREPARE=0 leaves the machine
# as it is. Arguments are passed to the first pytest run.
set -o errexit -o nounset -o pipefail

cd "$(dirname "$0")/.."
began=$SECONDS
echo "== preparing the machine (tools/prepare-machine.sh)"
bash tools/prepare-machine.sh
bash tools/setup-venv.sh test
VENV=${NOVA_SCALE_EXT_VENV:-.venv}
main_version=$("$VENV/bin/python" -c \
    'import sys; print("%d.%d" % sys.version_info[:2])')

echo "== lint (ruff)"
"$VENV/bin/ruff" check .

echo "== sample configuration (oslo-config-generator)"
bash tools/genconfig.sh "$VENV"

echo "== documentation and release notes (sphinx, warnings are errors)"
docs_out=$(mktemp -d)
trap 'rm -rf "$docs_out"' EXIT
"$VENV/bin/sphinx-build" -q -W -b html doc/source "$docs_out/doc"
"$VENV/bin/sphinx-build" -q -W -b html releasenotes/source "$docs_out/rn"

echo "== unit and functional tests on Python $main_version (pytest)"
"$VENV/bin/python" -m pytest -p no:cacheprovider --ignore=tests/e2e "$@"

# The same tests on the other supported versions, each in its own
# virtualenv (.venv-py312, ...). Building the release artifacts does not
# depend on the interpreter: once is enough.
for version in $(bash tools/find-python.sh --versions); do
    [ "$version" = "$main_version" ] && continue
    echo "== unit and functional tests on Python $version (pytest)"
    if python=$(bash tools/find-python.sh "$version"); then
        other=.venv-py${version/./}
        NOVA_SCALE_EXT_VENV=$other PYTHON=$python \
            bash tools/setup-venv.sh test
        "$other/bin/python" -m pytest -p no:cacheprovider -q \
            --ignore=tests/e2e -m 'not packaging'
    elif [ "${NOVA_SCALE_EXT_REQUIRE_PYTHONS:-}" = 1 ]; then
        echo "Python $version required (NOVA_SCALE_EXT_REQUIRE_PYTHONS=1)" \
             "but not found" >&2
        exit 1
    else
        echo "skipped: no Python $version (install python$version and" \
             "python$version-venv, or 'pyenv install $version')"
    fi
done

echo "== end-to-end tests on a real OpenStack on 127.0.0.1 (tests/e2e)"
if why=$("$VENV/bin/python" -m tests.e2e.cloud check 2>&1); then
    echo "$why"
    "$VENV/bin/python" -m pytest -p no:cacheprovider tests/e2e
elif [ "${NOVA_SCALE_EXT_REQUIRE_E2E:-}" = 1 ]; then
    echo "end-to-end tests required but $why" >&2
    exit 1
else
    echo "skipped: $why"
fi
echo "== all tests passed in $((SECONDS - began)) s"
