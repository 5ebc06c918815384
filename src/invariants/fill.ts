import { parseNumastat } from '../parsers/isolation-parsers.js';
import { parseNodeMeminfo } from '../parsers/sysfs.js';
import { num, parseRecords, parseSections, Placement, recordsOf, section, type ProbeRecord } from './records.js';
import { exitStatus, KILLED } from './shell.js';
import { ProbeError } from './errors.js';

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

/** Pages per node over a fill's step records, each step's placement checked to add up. Pure. */
export function fillPagesByNode(steps: ProbeRecord[], what: string): Record<string, number> {
  const pagesByNode: Record<string, number> = {};
  steps.forEach((r, i) => {
    for (const [node, count] of Placement.of(r.placement, num(r, 'pages'), `${what} step ${i + 1}`).byNode)
      pagesByNode[node] = (pagesByNode[node] ?? 0) + count;
  });
  return pagesByNode;
}

/**
 * Reads what the `fill` function of guest/scripts/fill.sh printed and proves the fill ran: a start
 * record, steps whose placements add up, and an ending that is either the done record or a SIGKILL
 * with the OOM killer's line naming the fill's pid. Anything else is a ProbeError. Pure.
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
  const pagesByNode = fillPagesByNode(steps, what);
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
