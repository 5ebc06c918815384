# shellcheck shell=bash
# needs: fill.sh
# A task bound to {C,P} asks MARGIN_MIB more than C has free, once C is down to KEEP_MIB online;
# P watched: the bind may use every node of its mask before the OOM killer.
fill "$C" "$KEEP_MIB" "$MARGIN_MIB" "$P" "$C,$P"
