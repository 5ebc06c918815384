# shellcheck shell=bash
# needs: fill.sh
# A task bound to {C,P} asks MARGIN_MIB more than C has free, once C is down to KEEP_MIB online;
# P watched: the bind may use every node of its mask before the OOM killer. The programs' file pages
# are locked first, so that the fill's pages go to P instead of taking C's page cache from them as
# kswapd frees it (a stall of up to 2 minutes under TCG; fill.sh).
# shellcheck disable=SC2034
lock_working_set=1
fill "$C" "$KEEP_MIB" "$MARGIN_MIB" "$P" "$C,$P"
