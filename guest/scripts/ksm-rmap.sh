# shellcheck shell=bash
# needs: ksm-step.sh
# A KSM page on P and its reverse mapping: an unprivileged owner's KSM_PAGES pairs merge on C; each
# pair's second page is unmapped and its first moved to P; after one more pass of ksmd, each is
# moved back to C on its own (a positive return of move_pages(2): the kernel could not migrate it).
unless_missing /sys/kernel/mm/ksm/run
ksm_knobs
ksm_save

echo "### rmap"
ksm_setup 100000
ksm_task owner rmap "$C" "$P" "$(ksm_nonce)" "$KSM_PAGES"
ksm_step pass      # 1: checksums
ksm_step pass      # 2: the pairs merge on C
ksm_stats
ksm_resume owner 3 # the second pages unmapped, the first moved to P
ksm_step pass      # 3: ksmd visits the owner (and its pages on P, or not)
ksm_stats
ksm_finish owner
