#!/usr/bin/env bash
# Generate etc/nova-scale-ext.conf.sample and check that every option of ours
# is in it with help text.
set -o errexit -o nounset -o pipefail

cd "$(dirname "$0")/.."
VENV=${1:-${NOVA_SCALE_EXT_VENV:-.venv}}
"$VENV/bin/oslo-config-generator" \
    --config-file etc/oslo-config-generator/nova-scale-ext.conf
"$VENV/bin/python" - <<'PY'
import pathlib
import sys

from nova_scale_ext import conf

sample = pathlib.Path('etc/nova-scale-ext.conf.sample').read_text()
missing = [f'[{group.name}] {opt.name}' for group, opts in conf.list_opts()
           for opt in opts
           if f'\n#{opt.name} =' not in sample or not opt.help]
if missing:
    sys.exit('options missing from the sample config: ' + ', '.join(missing))
count = sum(len(opts) for _, opts in conf.list_opts())
print(f'etc/nova-scale-ext.conf.sample: {count} options with help text')
PY
