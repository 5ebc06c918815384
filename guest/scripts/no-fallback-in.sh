# shellcheck shell=bash
# needs: fill.sh
# An unbound task asks MARGIN_MIB more than C has free, once C is down to KEEP_MIB online; P watched.
# Where nothing may serve it, the OOM killer is the answer: the programs' resident file pages are
# locked first so that it comes without a thrash (fill.sh).
# shellcheck disable=SC2034
lock_working_set=1
fill "$C" "$KEEP_MIB" "$MARGIN_MIB" "$P"
