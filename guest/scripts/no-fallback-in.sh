# shellcheck shell=bash
# needs: fill.sh
# An unbound task asks MARGIN_MIB more than C has free, once C is down to KEEP_MIB online; P watched.
fill "$C" "$KEEP_MIB" "$MARGIN_MIB" "$P"
