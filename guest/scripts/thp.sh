# shellcheck shell=bash
# MADV_COLLAPSE of pages on P, as the unprivileged user: anonymous memory, then a shared memfd (shmem).
unless_missing /sys/kernel/mm/transparent_hugepage/enabled
echo "### thp"; probe_as_user thp "$P"
echo "### thp-shmem"; probe_as_user thp "$P" shmem
