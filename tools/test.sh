#!/usr/bin/env bash
# Run every test: lint, unit and functional tests, sample configuration,
# and the end-to-end tests on a real cloud where the machine allows (root,
# tools/e2e/install-e2e.sh run; NOVA_SCALE_EXT_REQUIRE_E2E=1 makes their
# absence a failure). This is what CI runs (.ci/run prepares the machine).
set -o errexit -o nounset -o pipefail

cd "$(dirname "$0")/.."
bash tools/setup-venv.sh test
VENV=${NOVA_SCALE_EXT_VENV:-.venv}

echo "== lint (ruff)"
"$VENV/bin/ruff" check .

echo "== sample configuration (oslo-config-generator)"
bash tools/genconfig.sh "$VENV"

echo "== documentation and release notes (sphinx, warnings are errors)"
docs_out=$(mktemp -d)
trap 'rm -rf "$docs_out"' EXIT
"$VENV/bin/sphinx-build" -q -W -b html doc/source "$docs_out/doc"
"$VENV/bin/sphinx-build" -q -W -b html releasenotes/source "$docs_out/rn"

echo "== unit and functional tests (pytest)"
"$VENV/bin/python" -m pytest -p no:cacheprovider --ignore=tests/e2e "$@"

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
