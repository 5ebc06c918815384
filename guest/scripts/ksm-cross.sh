# shellcheck shell=bash
# needs: ksm-step.sh
# KSM across P's boundary with merge_across_nodes=1, the default: an unprivileged owner moves its
# pages to P with move_pages(2), and an unbound unprivileged task holds identical copies. "onto":
# the unbound task registered first; the owner's pairs, merged on C, go to P between two passes
# (their second pages unmapped first). "off": the owner registered first; its pages go to P in the
# middle of a pass, between ksmd's batch over the owner and its batch over the unbound task.
# KSM_PAGES pages per set; sets K (onto) and k (off) stay on C, the control.
unless_missing /sys/kernel/mm/ksm/run
ksm_knobs
[ "$(ksm_count merge_across_nodes)" = 1 ] || setup_failed "merge_across_nodes is not 1"
ksm_save
n=$KSM_PAGES

echo "### onto"
ksm_setup 100000
nonce=$(ksm_nonce)
ksm_task unbound onto "$C" "$P" "$nonce" "$n"
ksm_task owner onto "$C" "$P" "$nonce" "$n"
ksm_step pass        # 1: the owner's pages get their checksums (the unbound task has none yet)
ksm_resume unbound 2 # the unbound task writes its copies of T and K
ksm_step pass        # 2: the unbound task's pages get checksums, the owner's pairs merge on C
ksm_stats
ksm_resume owner 4   # the owner unmaps each T and S pair's second page, moves the first to P
ksm_step pass        # 3: the unbound task's pages meet the KSM pages first, then the owner's
ksm_stats
ksm_finish unbound
ksm_finish owner

echo "### off"
ksm_setup $((2 * n))
nonce=$(ksm_nonce)
ksm_task owner off "$C" "$P" "$nonce" "$n"
ksm_task unbound off "$C" "$P" "$nonce" "$n"
ksm_step batch $((2 * n)) # pass 1: the owner's pages get their checksums
ksm_step batch $((2 * n)) # pass 1: the unbound task's pages get theirs
ksm_step pass             # pass 1 ends
ksm_step batch $((2 * n)) # pass 2: the owner's pages enter the unstable tree, on C
ksm_resume owner 3        # the owner moves t to P
ksm_step batch $((2 * n)) # pass 2: the unbound task's pages meet them
ksm_step pass             # pass 2 ends
ksm_stats
ksm_finish unbound
ksm_finish owner
