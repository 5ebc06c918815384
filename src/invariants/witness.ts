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
  /** Pages of the memfd present in QEMU when it was read. */
  presentPages: number;
  seconds: number;
}

/** A witnessed step: the host's reading, or why the host could not read. */
export interface StepWitness {
  step: string;
  reading?: WitnessReading;
  unavailable?: string;
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

export interface WitnessVerdict {
  /** One line per step where the host finds more of its pages on the node than the guest ever said. */
  contradictions: string[];
  evidence: Record<string, unknown>;
}

/**
 * Holds the guest's placements against the host's count, step by step. The
 * host sees the pages a step wrote on node (by their tag) and cannot see
 * where a page is not, so a guest that hides pages on node is caught and one
 * that invents pages there is not. Pure.
 */
export function judgeWitness(witness: StepWitness[], raw: Record<string, string>, node: number): WitnessVerdict {
  const contradictions: string[] = [];
  const steps = witness.map(({ step, reading, unavailable }) => {
    if (!reading) return { step, unavailable };
    const guest = guestPagesOn(raw[step] ?? '', node);
    if (reading.pages > guest)
      contradictions.push(
        `step ${step}: the host finds ${reading.pages} of its pages in node ${node}'s memfd, the guest says at most ${guest} were ever on node ${node}`,
      );
    return {
      step,
      guestPagesOnNode: guest,
      hostPagesOnNode: reading.pages,
      hostPresentPages: reading.presentPages,
      hostSeconds: reading.seconds,
    };
  });
  return { contradictions, evidence: { hostWitness: { node, steps } } };
}
