#!/usr/bin/env bash
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.
#
# Find a Python interpreter of a version Nova 34 supports.
#
#   tools/find-python.sh --versions   the supported versions, one a line
#   tools/find-python.sh 3.12         the path of a working python3.12 that
#                                     can create virtualenvs (exit 1 if none)
#
# Looks on PATH, then in pyenv's versions ($PYENV_ROOT, default ~/.pyenv),
# the newest patch release first.
set -o errexit -o nounset -o pipefail

VERSIONS=(3.11 3.12 3.13)

if [ "${1:-}" = --versions ]; then
    printf '%s\n' "${VERSIONS[@]}"
    exit 0
fi
want=${1:?usage: tools/find-python.sh --versions | VERSION}

works() {  # works PYTHON: is it $want, with venv and ensurepip?
    [ -x "$1" ] && [ "$("$1" -c 'import sys, venv, ensurepip
print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]
}

candidates=()
command -v "python$want" >/dev/null && candidates+=("$(command -v "python$want")")
root=${PYENV_ROOT:-$HOME/.pyenv}
if [ -d "$root/versions" ]; then
    while IFS= read -r dir; do
        candidates+=("$dir/bin/python$want")
    done < <(find "$root/versions" -maxdepth 1 -name "$want.*" | sort -rV)
fi
for python in "${candidates[@]}"; do
    if works "$python"; then
        echo "$python"
        exit 0
    fi
done
echo "no Python $want on PATH or in $root/versions" >&2
exit 1
