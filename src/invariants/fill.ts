import { parseNumastat } from '../probes/isolation-parsers.js';
import { parseNodeMeminfo } from '../probes/sysfs.js';
import { num, parseRecords, parseSections, Placement, recordsOf, section } from './records.js';
import { AS_PROBE_USER, exitStatus, GUEST_PROBE_PATH, KILLED, nodeFile } from './shell.js';
import { ProbeError } from './errors.js';

const STEP_MIB = 32;

export interface FillPlan {
  /** The node whose memory is pressed: its free memory blocks are offlined first so the fill only has to cover what is left. */
  press: number;
  /** MiB left free on the pressed node after offlining. */
  keepMiB: number;
  /** How far past the pressed node's free memory the fill goes. */
  marginMiB: number;
  /** Bind each step to this node (MPOL_BIND); no policy when absent. */
  bindTo?: number;
  /** The node whose numastat and meminfo are read before and after the fill. */
  watch: number;
}

/**
 * A shell script that fills memory until it is answered. Filling a whole
 * node under TCG costs about 5 s per GiB (every page is zeroed, and Debian's
 * kernel zeroes at allocation too, so growing a HugeTLB pool is no cheaper),
 * so the pressed node's free memory blocks are offlined first by the probe
 * (a quarter of a second for 1.6 GiB) until keepMiB are left, and onlined
 * into their zone again on exit. sshd and the script are protected from the OOM killer; the
 * probe's fill runs as the unprivileged user with oom_score_adj 1000 for
 * free + margin MiB; the OOM killer's lines logged after the fill's own
 * marker are printed. A kernel without memory hot-remove gets the whole fill.
 */
export function fillScript(plan: FillPlan): string {
  const { press, keepMiB, marginMiB, bindTo, watch } = plan;
  const freeMiB = `$(awk '/MemFree/ {print int($4/1024)}' ${nodeFile(press, 'meminfo')})`;
  return [
    `echo "### before"; cat ${nodeFile(watch, 'numastat')}; grep -E 'AnonPages|MemFree' ${nodeFile(watch, 'meminfo')}`,
    'for pid in $(pgrep -x sshd) $$; do echo -1000 > /proc/$pid/oom_score_adj; done',
    `offlined=$(${GUEST_PROBE_PATH} offline-blocks ${press} ${keepMiB})`,
    // Off meanwhile, restored after: NUMA balancing would rescan the fill's range over and over
    // (seconds of PTE updates and TLB shootdowns under TCG) and could move spilled pages back to C,
    // hiding the spill. Reclaim and compaction around the pressed node's watermark (watermark
    // boosting, proactive compaction) stalled the fill for up to 25 s under TCG; neither decides where
    // a page may fall back. The killer's task list, written to the serial console a character at a
    // time, costs seconds too.
    'saved=""; for k in kernel/numa_balancing vm/watermark_boost_factor vm/compaction_proactiveness vm/oom_dump_tasks; do f=/proc/sys/$k; [ -w $f ] && { saved="$saved $f=$(cat $f)"; echo 0 > $f; }; done',
    'restore() { echo "$offlined" | while read -r _ state how; do [ -n "$state" ] && echo $how > $state; done; for kv in $saved; do echo "${kv#*=}" > "${kv%%=*}"; done; }',
    'trap restore EXIT',
    `free=${freeMiB}; asked=$(( (free + ${marginMiB}) / ${STEP_MIB} * ${STEP_MIB} + ${STEP_MIB} ))`,
    'marker="numacage-fill-$$-$(date +%s%N)"; echo "$marker" > /dev/kmsg',
    `echo "### fill"; echo "pressed ${press} offlined_blocks $(echo "$offlined" | grep -c offlined) free_mib $free asked_mib $asked"`,
    `(echo 1000 > /proc/self/oom_score_adj; exec ${AS_PROBE_USER} ${GUEST_PROBE_PATH} fill $asked ${STEP_MIB}${bindTo !== undefined ? ` ${bindTo}` : ''}); echo "# exit $?"`,
    `echo "### oom"; dmesg | sed -n "/$marker/,\\$p" | grep -E 'invoked oom-killer|Killed process|oom-kill:' || true`,
    `echo "### after"; cat ${nodeFile(watch, 'numastat')}; grep -E 'AnonPages|MemFree' ${nodeFile(watch, 'meminfo')}`,
  ].join('\n');
}

export interface FillResult {
  askedMiB: number;
  /** MiB the fill had faulted, by its last step record. */
  reachedMiB: number;
  /** Free MiB of the pressed node when the fill started, and how many of its memory blocks were offlined first. */
  freeMiB: number;
  offlinedBlocks: number;
  ending: 'completed' | 'oom-killed';
  /** Pages per node over every step. */
  pagesByNode: Record<string, number>;
  oomLines: string[];
  numastatBefore: Record<string, number>;
  numastatAfter: Record<string, number>;
  anonPagesKiB: { before: number; after: number };
}

/**
 * Reads a fill and proves it ran: a start record, steps whose placements add
 * up, and an ending that is either the done record or a SIGKILL with the OOM
 * killer's line naming the fill's pid. Anything else is a ProbeError. Pure.
 */
export function parseFill(text: string, what: string): FillResult {
  const s = parseSections(text);
  const fillText = section(s, 'fill', what);
  const head = /pressed (\d+) offlined_blocks (\d+) free_mib (-?\d+) asked_mib (\d+)/.exec(fillText);
  if (!head) throw new ProbeError(`${what}: the fill script did not say what it asked for`);
  const records = parseRecords(fillText);
  const status = exitStatus(fillText, what);
  if (status !== 0 && status !== KILLED) {
    const fatal = records.find((r) => r.fatal === true);
    throw new ProbeError(
      `${what}: the fill exited ${status} on its own${fatal ? ` (${fatal.call} gave ${String(fatal.errno)})` : ''}${status === 126 || status === 127 ? ' (could not be run)' : ''}`,
    );
  }
  const [start] = recordsOf(records, 'fill', 'start');
  const pid = num(start!, 'pid');
  const askedMiB = Number(head[4]);
  if (num(start!, 'mib') !== askedMiB)
    throw new ProbeError(`${what}: the fill started for ${num(start!, 'mib')} MiB, the script asked ${askedMiB}`);
  const steps = recordsOf(records, 'fill', 'fault');
  const pagesByNode: Record<string, number> = {};
  steps.forEach((r, i) => {
    for (const [node, count] of Placement.of(r.placement, num(r, 'pages'), `${what} step ${i + 1}`).byNode)
      pagesByNode[node] = (pagesByNode[node] ?? 0) + count;
  });
  const reachedMiB = num(steps.at(-1)!, 'mib');
  const oomLines = section(s, 'oom', what).split('\n').filter(Boolean);
  let ending: FillResult['ending'];
  if (status === 0) {
    if (!records.some((r) => r.call === 'done') || reachedMiB < askedMiB)
      throw new ProbeError(`${what}: the fill exited 0 after ${reachedMiB} of ${askedMiB} MiB without finishing`);
    ending = 'completed';
  } else {
    if (!oomLines.some((l) => new RegExp(`Killed process ${pid}\\b`).test(l)))
      throw new ProbeError(
        `${what}: the fill (pid ${pid}) died of SIGKILL after ${reachedMiB} MiB, but the OOM killer did not name it in dmesg`,
      );
    ending = 'oom-killed';
  }
  const anon = (name: string) => parseNodeMeminfo(section(s, name, what)).AnonPages;
  const before = anon('before');
  const after = anon('after');
  if (before === undefined || after === undefined) throw new ProbeError(`${what}: no AnonPages in node meminfo`);
  return {
    askedMiB,
    reachedMiB,
    freeMiB: Number(head[3]),
    offlinedBlocks: Number(head[2]),
    ending,
    pagesByNode,
    oomLines,
    numastatBefore: parseNumastat(section(s, 'before', what)),
    numastatAfter: parseNumastat(section(s, 'after', what)),
    anonPagesKiB: { before, after },
  };
}
