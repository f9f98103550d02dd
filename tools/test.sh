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

echo "== unit and functional tests (pytest)"
"$VENV/bin/python" -m pytest -p no:cacheprovider "$@"
