#!/usr/bin/env bash
# Run every test: lint, unit and functional tests, sample configuration.
# This is what CI runs (.ci/run installs the system packages first).
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
"$VENV/bin/python" -m pytest -p no:cacheprovider "$@"
