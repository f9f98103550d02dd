#!/bin/bash
#
# Stand-ins for the DevStack functions that devstack/settings and
# devstack/plugin.sh call, for tests without DevStack.
#
# Written for these tests: same names, arguments and observable behaviour
# on an ini file as DevStack's functions, nothing more. Every call is
# appended to $FAKE_DEVSTACK_LOG as one line "name arg arg ...". Nothing
# touches the real host: huge page pools, mounts and OpenStack flavors are
# files under $FAKE_DEVSTACK_ROOT.
#
# Required variables: FAKE_DEVSTACK_ROOT, FAKE_DEVSTACK_LOG.

function _fake_record {
    echo "$*" >> "$FAKE_DEVSTACK_LOG"
}

# Plugin registration, messages, errors
# -------------------------------------

function define_plugin {
    _fake_record define_plugin "$@"
}

function plugin_requires {
    _fake_record plugin_requires "$@"
}

function echo_summary {
    _fake_record echo_summary "$@"
    echo "$@"
}

function warn {
    _fake_record warn "$@"
    local line=$1
    shift
    echo "WARNING [line $line]: $*" >&2
}

function die {
    _fake_record die "$@"
    local line=$1
    shift
    echo "ERROR [line $line]: $*" >&2
    exit 1
}

function trueorfalse {
    local default=$1
    local value=${!2:-}
    case "$value" in
        1 | [yY]es | YES | [tT]rue | TRUE) echo True ;;
        0 | [nN]o | NO | [fF]alse | FALSE) echo False ;;
        *) echo "$default" ;;
    esac
}

# is_service_enabled service [service ...]: true if any is in
# ENABLED_SERVICES; "nova" stands for any n-* service.
function is_service_enabled {
    local service
    for service in "$@"; do
        if [[ ,$ENABLED_SERVICES, == *,$service,* ]]; then
            return 0
        fi
        if [[ $service == nova && ,$ENABLED_SERVICES == *,n-* ]]; then
            return 0
        fi
    done
    return 1
}

# Ini files
# ---------
# One awk program does every operation on a copy of the file; values are
# passed through the environment so that backslashes stay as they are.

function _fake_ini {
    # Quiet under the plugin's xtrace, as DevStack's ini functions are.
    local xtrace
    xtrace=$(set +o | grep xtrace)
    set +o xtrace
    local rc=0
    _fake_ini_quiet "$@" || rc=$?
    $xtrace
    return $rc
}

function _fake_ini_quiet {
    local mode=$1 file=$2 section=$3 option=$4 value=${5:-}
    local out rc=0
    if [[ ! -f $file ]]; then
        if [[ $mode == has ]]; then
            return 1
        elif [[ $mode == get* ]]; then
            return 0
        fi
        touch "$file"
    fi
    out=$(mktemp "$FAKE_DEVSTACK_ROOT/ini.XXXXXX")
    FAKE_INI_MODE=$mode FAKE_INI_SECTION=$section FAKE_INI_OPTION=$option \
        FAKE_INI_VALUE=$value awk '
        function key(line,    k) {
            if (line !~ /=/) return ""
            k = substr(line, 1, index(line, "=") - 1)
            gsub(/^[ \t]+|[ \t]+$/, "", k)
            return k
        }
        function val(line,    v) {
            v = substr(line, index(line, "=") + 1)
            gsub(/^[ \t]+|[ \t]+$/, "", v)
            return v
        }
        { lines[NR] = $0 }
        END {
            mode = ENVIRON["FAKE_INI_MODE"]
            sec = ENVIRON["FAKE_INI_SECTION"]
            opt = ENVIRON["FAKE_INI_OPTION"]
            new = opt " = " ENVIRON["FAKE_INI_VALUE"]
            head = 0; last = 0; n = 0; end_ = NR
            for (i = 1; i <= NR; i++) {
                l = lines[i]; sub(/[ \t]+$/, "", l)
                if (l ~ /^\[.*\]$/) {
                    if (head && end_ == NR && i > head) end_ = i - 1
                    if (!head && l == "[" sec "]") head = i
                } else if (head && end_ == NR && key(l) == opt) {
                    hit[i] = 1; last = i; n++
                    found = found (n > 1 ? " " : "") val(l)
                    single = val(l)
                }
            }
            if (mode == "get") { if (n) print single; exit }
            if (mode == "getmulti") { if (n) print found; exit }
            if (mode == "has") { exit (n ? 0 : 1) }
            after = (mode == "add" && last) ? last : head
            for (i = 1; i <= NR; i++) {
                if (hit[i] && mode == "delete") continue
                if (hit[i] && mode == "set") { print new; continue }
                print lines[i]
                if (i == after && (mode == "add" || (mode == "set" && !n)))
                    print new
            }
            if (!head && (mode == "set" || mode == "add")) {
                print ""; print "[" sec "]"; print new
            }
        }' "$file" > "$out" || rc=$?
    if [[ $mode == get* || $mode == has ]]; then
        cat "$out"
        rm -f "$out"
        return $rc
    fi
    mv "$out" "$file"
}

function _fake_ini_args {
    # DevStack's ini functions accept a leading -sudo.
    if [[ ${1:-} == -sudo ]]; then
        shift
    fi
    FAKE_INI_ARGS=("$@")
}

function iniset {
    _fake_record iniset "$@"
    _fake_ini_args "$@"
    _fake_ini set "${FAKE_INI_ARGS[@]:0:4}"
}

function inidelete {
    _fake_record inidelete "$@"
    _fake_ini_args "$@"
    _fake_ini delete "${FAKE_INI_ARGS[@]:0:3}"
}

function iniget {
    _fake_ini get "$@"
}

function iniget_multiline {
    _fake_ini getmulti "$@"
}

function ini_has_option {
    _fake_ini_args "$@"
    _fake_ini has "${FAKE_INI_ARGS[@]:0:3}" > /dev/null
}

# iniadd file section option value [value ...]: one more line per value.
function iniadd {
    _fake_record iniadd "$@"
    _fake_ini_args "$@"
    local file=${FAKE_INI_ARGS[0]} section=${FAKE_INI_ARGS[1]}
    local option=${FAKE_INI_ARGS[2]} value
    for value in "${FAKE_INI_ARGS[@]:3}"; do
        _fake_ini add "$file" "$section" "$option" "$value"
    done
}

# Python packages
# ---------------

function pip_install {
    _fake_record pip_install -c "$REQUIREMENTS_DIR/upper-constraints.txt" "$@"
}

function setup_develop {
    _fake_record setup_develop "$@"
    if [[ ! -f $1/setup.cfg ]]; then
        echo "setup_develop: $1 is not a Python project" >&2
        return 1
    fi
    pip_install -e "$1"
}

# Host commands
# -------------
# sudo runs the command unprivileged, refuses anything under /sys, /proc or
# /dev, and simulates mount/umount in $FAKE_DEVSTACK_ROOT/mounts. A pool's
# max_hugepages file, when present, caps what "the kernel" allocates.

function sudo {
    _fake_record sudo "$@"
    local arg
    for arg in "$@"; do
        if [[ $arg == /sys/* || $arg == /proc/* || $arg == /dev/* ]]; then
            echo "fake sudo: refusing to touch the real host: $arg" >&2
            return 1
        fi
    done
    case "$1" in
        mount)
            echo "${!#}" >> "$FAKE_DEVSTACK_ROOT/mounts"
            ;;
        umount)
            if ! mountpoint -q "$2"; then
                echo "umount: $2: not mounted" >&2
                return 32
            fi
            grep -vxF -- "$2" "$FAKE_DEVSTACK_ROOT/mounts" \
                > "$FAKE_DEVSTACK_ROOT/mounts.new" || true
            mv "$FAKE_DEVSTACK_ROOT/mounts.new" "$FAKE_DEVSTACK_ROOT/mounts"
            ;;
        tee)
            if [[ $2 == */nr_hugepages && -f ${2%/*}/max_hugepages ]]; then
                local wanted max
                wanted=$(cat)
                max=$(<"${2%/*}/max_hugepages")
                echo $(( wanted < max ? wanted : max )) > "$2"
                echo "$wanted"
            else
                command tee "${@:2}"
            fi
            ;;
        *)
            command "$@"
            ;;
    esac
}

function mountpoint {
    _fake_record mountpoint "$@"
    grep -qxF -- "${!#}" "$FAKE_DEVSTACK_ROOT/mounts" 2> /dev/null
}

# openstack: flavors are files in $FAKE_DEVSTACK_ROOT/flavors; creating one
# that exists fails, as the real API answers 409.
function openstack {
    _fake_record openstack "$@"
    local -a args=()
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --os-*) shift 2 ;;
            *) args+=("$1"); shift ;;
        esac
    done
    local flavors=$FAKE_DEVSTACK_ROOT/flavors
    local name=${args[${#args[@]}-1]}
    mkdir -p "$flavors"
    case "${args[0]} ${args[1]}" in
        "flavor show")
            if [[ ! -f $flavors/$name ]]; then
                echo "No Flavor found for $name" >&2
                return 1
            fi
            cat "$flavors/$name"
            ;;
        "flavor create")
            if [[ -f $flavors/$name ]]; then
                echo "Conflict: flavor $name already exists (HTTP 409)" >&2
                return 1
            fi
            echo "${args[*]:2}" > "$flavors/$name"
            ;;
        *)
            echo "fake openstack: unsupported: ${args[*]}" >&2
            return 1
            ;;
    esac
}
