# shellcheck shell=bash
# MADV_COLLAPSE of pages on P, as the unprivileged user.
unless_missing /sys/kernel/mm/transparent_hugepage/enabled
echo "### thp"; probe_as_user thp "$P"
