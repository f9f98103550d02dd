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
# as it is. The unit and functional tests run in one pytest process per
# core, at most 4 (NOVA_SCALE_EXT_TEST_JOBS=N sets how many). Arguments
# are passed to the first pytest run, then a single process.
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

# pytest_in_shards PYTHON ARGS...: the tests, split into one pytest process
# per core (NOVA_SCALE_EXT_TEST_JOBS overrides; tests/conftest.py deals
# them out). The first shard prints as it goes, the others when they end.
pytest_in_shards() {
    local python=$1
    shift
    local jobs=${NOVA_SCALE_EXT_TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
    if ! [[ $jobs =~ ^[1-9][0-9]{0,5}$ ]]; then
        echo "NOVA_SCALE_EXT_TEST_JOBS=$jobs: expected a number of" \
             "processes, 1 or more" >&2
        return 2
    fi
    [ "$jobs" -gt 4 ] && jobs=4
    if [ "$jobs" = 1 ]; then
        "$python" -m pytest -p no:cacheprovider "$@"
        return
    fi
    local logs pids=() i rc=0
    # Under the directory the EXIT trap removes, also on failure or Ctrl-C.
    logs=$(mktemp -d "$docs_out/shards.XXXXXX")
    for ((i = 1; i < jobs; i++)); do
        NOVA_SCALE_EXT_SHARD=$i/$jobs "$python" -m pytest \
            -p no:cacheprovider "$@" >"$logs/$i" 2>&1 &
        pids+=($!)
    done
    NOVA_SCALE_EXT_SHARD=0/$jobs "$python" -m pytest -p no:cacheprovider \
        "$@" || rc=$?
    for ((i = 1; i < jobs; i++)); do
        wait "${pids[i - 1]}" || rc=$?
        echo "-- shard $i of $jobs"
        cat "$logs/$i"
    done
    rm -rf "$logs"
    return "$rc"
}

echo "== unit and functional tests on Python $main_version (pytest)"
if [ $# -gt 0 ]; then
    # Chosen tests: one process, as asked.
    "$VENV/bin/python" -m pytest -p no:cacheprovider --ignore=tests/e2e "$@"
else
    pytest_in_shards "$VENV/bin/python" -q --ignore=tests/e2e
fi

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
        pytest_in_shards "$other/bin/python" -q --ignore=tests/e2e \
            -m 'not packaging'
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
