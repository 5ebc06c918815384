import { parseRecords } from './records.js';

/** The first bytes of every page the probe faults when the host has given it a tag (guest/probe/probe.c touch()). */
export const PAGE_TAG_MAGIC = 'numacage';
/** The environment variable that hands the probe its tag (16 hex digits). */
export const TAG_VARIABLE = 'NUMACAGE_TAG';

/** The host's count of one step's tagged pages in one node's memfd, read after the step. */
export interface WitnessReading {
  node: number;
  /** Distinct pages of the step found there (a page the kernel copied counts once). */
  pages: number;
  /** For a check that asks (hostCopies): distinct pages of the step whose tag lies inside a page there, not at its start. */
  copies?: number;
  /** Pages of the memfd present in QEMU when it was read. */
  presentPages: number;
  seconds: number;
}

/** The host's count of one step's tagged pages in the guest's scratch disks (its swap), read after the step. */
export interface SwapReading {
  pages: number;
  /** The same pages by the pid of the process that wrote them (the tag holds it). */
  byPid: Record<string, number>;
  seconds: number;
}

/** A witnessed step: the host's reading, or why the host could not read. */
export interface StepWitness {
  step: string;
  reading?: WitnessReading;
  unavailable?: string;
  /** On a topology with scratch disks: the host's reading of them, or why it could not read. */
  swap?: SwapReading;
  swapUnavailable?: string;
}

const PAGES_PER_MIB = 256;

/**
 * The most of a step's pages the guest said were ever on node, read
 * generously: every placement the probe printed (before, after, a control
 * set, a first half) added up, plus the chunk an OOM-killed fill was
 * faulting when it died (it printed no record for it). Pure.
 */
export function guestPagesOn(stepOutput: string, node: number): number {
  const records = parseRecords(stepOutput);
  let pages = 0;
  const visit = (o: unknown): void => {
    if (!o || typeof o !== 'object') return;
    const placement = (o as { placement?: unknown }).placement;
    if (placement && typeof placement === 'object') {
      const n = (placement as Record<string, unknown>)[String(node)];
      if (typeof n === 'number') pages += n;
    }
    for (const v of Object.values(o)) visit(v);
  };
  records.forEach(visit);
  const fillStart = records.find((r) => r.probe === 'fill' && r.call === 'start');
  const fillDone = records.some((r) => r.probe === 'fill' && r.call === 'done');
  if (fillStart && !fillDone && typeof fillStart.step_mib === 'number') pages += fillStart.step_mib * PAGES_PER_MIB;
  return pages;
}

/**
 * The most of a step's pages each process ever showed swapped out: for each
 * "swapped" count it prints (pagemap's bit 62: a set, a task's pages), the
 * highest it printed, added up, by the record's pid (records without one
 * say nothing here). A page swapped out and back between two records is not
 * in it: that is what the host's count of the swap disk can catch. Pure.
 */
export function guestPagesSwapped(stepOutput: string): Map<number, number> {
  /** pid → the path of each "swapped" count in its records → the highest. */
  const most = new Map<number, Map<string, number>>();
  const visit = (o: unknown, path: string, counts: Map<string, number>): void => {
    if (!o || typeof o !== 'object') return;
    for (const [k, v] of Object.entries(o)) {
      if (k === 'swapped' && typeof v === 'number') counts.set(path, Math.max(counts.get(path) ?? 0, v));
      else visit(v, `${path}.${k}`, counts);
    }
  };
  for (const r of parseRecords(stepOutput)) {
    if (typeof r.pid !== 'number') continue;
    if (!most.has(r.pid)) most.set(r.pid, new Map());
    visit(r, '', most.get(r.pid)!);
  }
  // A process that prints no "swapped" count says nothing of swap (a fill): it is not judged.
  return new Map(
    [...most]
      .filter(([, counts]) => counts.size)
      .map(([pid, counts]) => [pid, [...counts.values()].reduce((sum, n) => sum + n, 0)]),
  );
}

/** Where the host finds more of a process's pages in swap than the guest ever showed swapped out. */
function swapContradictions(step: string, swap: SwapReading, guest: Map<number, number>): string[] {
  return [...guest].flatMap(([pid, said]) => {
    const found = swap.byPid[String(pid)] ?? 0;
    return found > said
      ? [
          `step ${step}: the host finds ${found} pages of process ${pid} in the guest's swap disk, the guest never showed more than ${said} swapped out`,
        ]
      : [];
  });
}

export interface WitnessVerdict {
  /** One line per step where the host finds more of its pages on the node than the guest ever said. */
  contradictions: string[];
  evidence: Record<string, unknown>;
}

/**
 * Holds the guest's placements against the host's count, step by step. The
 * host sees the pages a step wrote on node (by their tag) and cannot see
 * where a page is not, so a guest that hides pages on node is caught and one
 * that invents pages there is not. Likewise for swap: a process whose pages
 * the host finds in the scratch disks beyond what it ever showed swapped out
 * (a page swapped out and back unseen) is contradicted; processes that say
 * nothing of swap (a fill) are not judged. Pure.
 */
export function judgeWitness(witness: StepWitness[], raw: Record<string, string>, node: number): WitnessVerdict {
  const contradictions: string[] = [];
  const steps = witness.map(({ step, reading, unavailable, swap, swapUnavailable }) => {
    const swapped = guestPagesSwapped(raw[step] ?? '');
    if (swap) contradictions.push(...swapContradictions(step, swap, swapped));
    const inSwap = swap
      ? {
          guestPagesSwapped: [...swapped.values()].reduce((sum, n) => sum + n, 0),
          hostPagesInSwap: [...swapped.keys()].reduce((sum, pid) => sum + (swap.byPid[String(pid)] ?? 0), 0),
          hostPagesInSwapAll: swap.pages,
          hostSwapSeconds: swap.seconds,
        }
      : swapUnavailable
        ? { swapUnavailable }
        : {};
    if (!reading) return { step, unavailable, ...inSwap };
    const guest = guestPagesOn(raw[step] ?? '', node);
    if (reading.pages > guest)
      contradictions.push(
        `step ${step}: the host finds ${reading.pages} of its pages in node ${node}'s memfd, the guest says at most ${guest} were ever on node ${node}`,
      );
    return {
      step,
      guestPagesOnNode: guest,
      hostPagesOnNode: reading.pages,
      ...(reading.copies !== undefined ? { hostCopiesOnNode: reading.copies } : {}),
      hostPresentPages: reading.presentPages,
      hostSeconds: reading.seconds,
      ...inSwap,
    };
  });
  return { contradictions, evidence: { hostWitness: { node, steps } } };
}
