# shellcheck shell=bash
# needs: ksm-step.sh
# KSM across P's boundary with merge_across_nodes=1, the default: an unprivileged owner moves its
# pages to P with move_pages(2), and an unbound unprivileged task holds identical copies. "onto":
# the unbound task registered first; the owner's pairs, merged on C, go to P between two passes
# (their second pages unmapped first). "off": the owner registered first; its pages go to P in the
# middle of a pass, between ksmd's batch over the owner and its batch over the unbound task.
# KSM_PAGES pages per set; sets K (onto) and k (off) stay on C, the control.
unless_missing "$ksm/run"
echo "### knobs"
for f in merge_across_nodes max_page_sharing use_zero_pages; do echo "$f $(cat "$ksm/$f" 2> /dev/null || echo -1)"; done
[ "$(cat "$ksm/merge_across_nodes" 2> /dev/null || echo 1)" = 1 ] || setup_failed "merge_across_nodes is not 1"
ksm_save
n=$KSM_PAGES u_out=/tmp/numacage-ksm-unbound.out b_out=/tmp/numacage-ksm-owner.out

echo "### onto"
ksm_setup 100000
nonce=$(ksm_nonce)
ksm_task "$u_out" unbound onto "$C" "$P" "$nonce" "$n"
u=$ksm_pid
ksm_task "$b_out" owner onto "$C" "$P" "$nonce" "$n"
b=$ksm_pid
ksm_step pass              # 1: the owner's pages get their checksums
ksm_resume "$u" "$u_out" 2 # the unbound task writes its copies of T and K
ksm_step pass              # 2: the owner's pairs merge on C, the unbound task's pages get checksums
ksm_stats
ksm_resume "$b" "$b_out" 4 # the owner unmaps each T and S pair's second page, moves the first to P
ksm_step pass              # 3: the unbound task's pages meet the KSM pages first, then the owner's
ksm_stats
ksm_finish "$u" "$u_out"
ksm_finish "$b" "$b_out"
ksm_pids=""

echo "### off"
ksm_setup $((2 * n))
nonce=$(ksm_nonce)
ksm_task "$b_out" owner off "$C" "$P" "$nonce" "$n"
b=$ksm_pid
ksm_task "$u_out" unbound off "$C" "$P" "$nonce" "$n"
u=$ksm_pid
ksm_step batch $((2 * n))  # pass 1: the owner's pages get their checksums
ksm_step batch $((2 * n))  # pass 1: the unbound task's pages get theirs
ksm_step pass              # pass 1 ends
ksm_step batch $((2 * n))  # pass 2: the owner's pages enter the unstable tree, on C
ksm_resume "$b" "$b_out" 3 # the owner moves t to P
ksm_step batch $((2 * n))  # pass 2: the unbound task's pages meet them
ksm_step pass              # pass 2 ends
ksm_stats
ksm_finish "$u" "$u_out"
ksm_finish "$b" "$b_out"
ksm_pids=""
