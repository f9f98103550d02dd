#!/usr/bin/env bash
# Set up the virtualenv and run the main job on its built-in default.
set -o errexit -o nounset -o pipefail

cd "$(dirname "$0")/.."
bash tools/setup-venv.sh run
exec .venv/bin/nova-scale-ext simulate "$@"
