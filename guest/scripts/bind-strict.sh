# shellcheck shell=bash
# needs: fill.sh
# A task bound to P asks MARGIN_MIB more than P has free, once P is down to KEEP_MIB online.
fill "$P" "$KEEP_MIB" "$MARGIN_MIB" "$P" "$P"
