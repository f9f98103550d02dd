#!/bin/bash
#
# devstack/plugin.sh of nova-scale-ext
#
# Sourced by DevStack as ``plugin.sh <mode> [phase]``, after
# devstack/settings:
#
# - stack pre-install: allocate huge pages on compute hosts (before libvirt
#   is installed or restarted)
# - stack install: install nova-scale-ext into DevStack's Python environment
# - stack post-config: configure nova-scheduler (and the compute-driver shim
#   when enabled) in $NOVA_CONF, before Nova's services start
# - stack extra: create example flavors
# - unstack, clean: give the host its huge page pools back
#
# Every phase can run twice with the same result.

_XTRACE_NOVA_SCALE_EXT=$(set +o | grep xtrace)
set -o xtrace

# shellcheck source=devstack/lib/nova-scale-ext
source "$NOVA_SCALE_EXT_DIR/devstack/lib/nova-scale-ext"

case "${1:-}/${2:-}" in
    stack/pre-install)
        if is_service_enabled n-cpu && is_nova_scale_ext_hugepages_enabled; then
            echo_summary "Allocating huge pages for nova-scale-ext"
            allocate_nova_scale_ext_hugepages
        fi
        ;;
    stack/install)
        if is_service_enabled nova; then
            echo_summary "Installing nova-scale-ext"
            install_nova_scale_ext
        fi
        ;;
    stack/post-config)
        if is_service_enabled n-sch; then
            echo_summary "Configuring nova-scheduler for nova-scale-ext"
            configure_nova_scale_ext_scheduler "$NOVA_CONF"
            if [[ $NOVA_SCALE_EXT_VERIFY == True ]]; then
                verify_nova_scale_ext_scheduler "$NOVA_CONF"
            fi
            # DevStack's list of filters, as lib/tempest reads it.
            # shellcheck disable=SC2034
            NOVA_FILTERS=$(iniget "$NOVA_CONF" filter_scheduler \
                enabled_filters)
        fi
        if is_service_enabled n-cpu; then
            configure_nova_scale_ext_compute "$NOVA_CONF"
        fi
        ;;
    stack/extra)
        if [[ $NOVA_SCALE_EXT_CREATE_FLAVORS != True ]]; then
            echo "nova-scale-ext: NOVA_SCALE_EXT_CREATE_FLAVORS=False"
        elif is_service_enabled n-api; then
            echo_summary "Creating nova-scale-ext example flavors"
            create_nova_scale_ext_flavors
        fi
        ;;
    unstack/* | clean/*)
        # echo_summary exists only in stack.sh.
        echo "nova-scale-ext: restoring the host's huge page pools"
        release_nova_scale_ext_hugepages
        if [[ $1 == clean ]]; then
            cleanup_nova_scale_ext
        fi
        ;;
esac

$_XTRACE_NOVA_SCALE_EXT
