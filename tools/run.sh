#!/usr/bin/env bash
# Set up the virtualenv and run the main job on its built-in default.
set -o errexit -o nounset -o pipefail

cd "$(dirname "$0")/.."
bash tools/setup-venv.sh run
# The built-in default: each policy's hosts needed, with and without the
# recommended consolidation by live migration.
if [ "$#" -eq 0 ]; then
    set -- --compact --defrag recommended
fi
exec .venv/bin/nova-scale-ext simulate "$@"
