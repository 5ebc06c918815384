import { chart } from '../../model/verdict.js';
import { KernelLacks, ProbeError } from '../errors.js';
import {
  assertUnprivileged,
  keyValues,
  num,
  parseRecords,
  parseSections,
  Placement,
  recordsOf,
  section,
  type ProbeRecord,
} from '../records.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';

// KSM across P's boundary (docs/design/ksm.md): ksmd, stepped by hand (guest/scripts/ksm-step.sh),
// and two unprivileged tasks of the probe's ksm-cross with identical pages. With
// merge_across_nodes=1 (the default) every page is in one stable and one unstable tree, whatever its
// node, and 0009 filters only the page ksmd scans, never the one it compares it with. Neither row is
// `witnessed`: the pages carry no witness tag, identical content being the point.

/** Pages per set (at most 64, CHUNK in probe.c). */
export const KSM_PAGES = 16;

/** How long ksm_finish (ksm-step.sh) gives a continued task to end. */
const FINISH_S = 60;

const LACKS = 'the kernel has no KSM (CONFIG_KSM)';

function ksmSections(raw: Record<string, string>, step: string): Record<string, string> {
  const s = parseSections(rawOf(raw, step));
  if ('none' in s) throw new KernelLacks(LACKS);
  return s;
}

/** How each task of a section ended, as ksm_finish prints it: `exit N`, `hung SECS` or `unkillable SECS`. Pure. */
export function taskEndings(text: string): string[] {
  return [...text.matchAll(/^# (exit|hung|unkillable) (\d+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
}

/** Every task of the section (there are `tasks`) exited 0; anything else is the probe failing. */
function assertTasksRanClean(text: string, tasks: number, what: string): void {
  const ends = taskEndings(text);
  if (ends.length !== tasks || ends.some((e) => e !== 'exit 0'))
    throw new ProbeError(
      `${what}: ${tasks} probe task(s) should each have exited 0; the step says ${ends.join(', ') || 'nothing'}${ends.some((e) => e === 'exit 126' || e === 'exit 127') ? ' (could not be run)' : ''}`,
    );
}

interface KsmStep {
  kind: string;
  scans: number;
  pages: number;
}

/** The "step KIND scans S pages N" lines ksm_step printed: what each batch of ksmd did. Pure. */
export function ksmSteps(text: string): KsmStep[] {
  return [...text.matchAll(/^step (pass|batch) scans (-?\d+) pages (-?\d+)$/gm)].map((m) => ({
    kind: m[1]!,
    scans: Number(m[2]),
    pages: Number(m[3]),
  }));
}

/** A ProbeError unless ksmd made exactly `n` steps of one whole pass each. */
function assertPasses(steps: KsmStep[], n: number, what: string): void {
  if (steps.length !== n || steps.some((x) => x.kind !== 'pass' || x.scans !== 1))
    throw new ProbeError(`${what}: ksmd was not stepped one pass at a time, ${n} passes: ${JSON.stringify(steps)}`);
}

/** The one ksm-cross record of a call by a role (and for a set); it must come from the unprivileged user. */
function ksmRecord(records: ProbeRecord[], call: string, role: string, set?: string): ProbeRecord {
  const found = recordsOf(records, 'ksm-cross', call).filter(
    (r) => r.role === role && (set === undefined || r.set === set),
  );
  const what = `the ${role} task's ${call} record${set ? ` for set ${set}` : ''}`;
  if (found.length !== 1) throw new ProbeError(`${found.length} copies of ${what}, not 1`);
  assertUnprivileged(found[0]!, what);
  return found[0]!;
}

/** Where the `pages` pages of a set of a record are. */
function setPlacement(r: ProbeRecord, set: string, pages: number): Placement {
  const s = r[set] as { placement?: unknown } | undefined;
  return Placement.of(s?.placement, pages, `the ${String(r.role)} task's set ${set} (${r.call})`);
}

/** A ProbeError unless every one of the sets' pages is on node. */
function assertAllOn(r: ProbeRecord, sets: string[], pages: number, node: number, what: string): void {
  for (const set of sets)
    if (setPlacement(r, set, pages).on(node) !== pages)
      throw new ProbeError(`${what}: the ${String(r.role)} task's set ${set} is not all on node ${node}`);
}

/** The task's rmap items in KSM's stable tree (/proc/self/ksm_merging_pages). */
function merging(r: ProbeRecord): number {
  const m = num(r, 'merging');
  if (m < 0) throw new ProbeError(`the ${String(r.role)} task could not read /proc/self/ksm_merging_pages`);
  return m;
}

/** An `errno name → pages` object the probe printed (a move's status, the refusals of move-each). */
function counts(raw: unknown, what: string): Record<string, number> {
  const p = (raw as { placement?: unknown } | undefined)?.placement;
  if (!p || typeof p !== 'object' || Object.values(p).some((v) => typeof v !== 'number' || v < 0))
    throw new ProbeError(`${what}: no counts (${JSON.stringify(raw)})`);
  return p as Record<string, number>;
}

/** The owner's move_pages(2) of a set to P: every page there, by its status and by where it is after; else a ProbeError. */
function assertMovedTo(records: ProbeRecord[], set: string, pages: number, p: number, what: string): ProbeRecord {
  const m = ksmRecord(records, 'move', 'owner', set);
  const status = counts(m.status, `${what}: the move of set ${set}`);
  if (
    num(m, 'ret') !== 0 ||
    num(m, 'unset') !== 0 ||
    status[String(p)] !== pages ||
    setPlacement(m, set, pages).on(p) !== pages
  )
    throw new ProbeError(
      `${what}: the owner's move_pages(2) of set ${set} to node ${p} gave ${num(m, 'ret')} (${String(m.errno)}), status ${JSON.stringify(status)}, ${num(m, 'unset')} unset: the case needs all ${pages} there`,
    );
  return m;
}

interface KsmCrossObs {
  pages: number;
  /** The unbound task's copies of the KSM pages the owner moved to P, after ksmd's next pass: how many are on P. */
  onto: { onP: number; unboundMerging: number; unbound: Record<string, number> };
  /** The owner's pages moved to P in the middle of a pass: how many ksmd put back off P; the unbound task's copies on P. */
  off: { offP: number; unboundOnP: number; ownerMerging: number; owner: Record<string, number> };
  knobs: Record<string, number>;
  stats: { onto: Record<string, number>; off: Record<string, number> };
}

function parseOnto(s: Record<string, string>, n: number, c: number, p: number) {
  const what = 'ksm-cross onto';
  const text = section(s, 'onto', 'ksm-cross');
  assertTasksRanClean(text, 2, what);
  assertPasses(ksmSteps(text), 3, what);
  const r = parseRecords(text);
  assertAllOn(ksmRecord(r, 'ready', 'owner'), ['T', 'K', 'S'], 2 * n, c, what);
  assertAllOn(ksmRecord(r, 'written', 'unbound'), ['T', 'K'], n, c, what);
  const merged = merging(ksmRecord(r, 'phase-2', 'owner'));
  if (merged !== 6 * n)
    throw new ProbeError(`${what}: ${merged} of the owner's ${6 * n} pages merged on node ${c} in ksmd's second pass`);
  assertMovedTo(r, 'T', n, p, what);
  assertMovedTo(r, 'S', n, p, what);
  const u = ksmRecord(r, 'result', 'unbound');
  const t = setPlacement(u, 'T', n);
  const unboundMerging = merging(u);
  // The control: the unbound task's K merged into the owner's K pairs on C in the same pass (its
  // merged pages beyond those of T on P).
  if (setPlacement(u, 'K', n).on(c) !== n || unboundMerging - t.on(p) < n)
    throw new ProbeError(
      `${what}: the control set K did not merge on node ${c} in the pass after the move (the unbound task has ${unboundMerging} pages merged, ${t.on(p)} of T on node ${p}): ksmd did not compare its pages`,
    );
  return { onP: t.on(p), unboundMerging, unbound: t.toJSON() };
}

/** The off case's steps, exactly: two batches of 2N (the owner's pages, then the unbound task's), a pass end, again. */
const OFF_STEPS = ['batch', 'batch', 'pass', 'batch', 'batch', 'pass'];

function parseOff(s: Record<string, string>, n: number, c: number, p: number) {
  const what = 'ksm-cross off';
  const text = section(s, 'off', 'ksm-cross');
  assertTasksRanClean(text, 2, what);
  const steps = ksmSteps(text);
  if (
    steps.length !== OFF_STEPS.length ||
    steps.some(
      (x, i) =>
        x.kind !== OFF_STEPS[i] ||
        x.scans !== (x.kind === 'pass' ? 1 : 0) ||
        x.pages !== (x.kind === 'pass' ? 0 : 2 * n),
    )
  )
    throw new ProbeError(
      `${what}: ksmd's batches did not line up with the tasks (another mergeable task?): ${JSON.stringify(steps)}`,
    );
  const r = parseRecords(text);
  assertAllOn(ksmRecord(r, 'ready', 'owner'), ['t', 'k'], n, c, what);
  assertAllOn(ksmRecord(r, 'ready', 'unbound'), ['t', 'k'], n, c, what);
  assertMovedTo(r, 't', n, p, what);
  const u = ksmRecord(r, 'result', 'unbound');
  const b = ksmRecord(r, 'result', 'owner');
  const t = setPlacement(b, 't', n);
  const offP = n - t.on(p);
  // The control: both tasks' k merged on C, the unbound task's copies each into the owner's.
  if (
    setPlacement(u, 'k', n).on(c) !== n ||
    setPlacement(b, 'k', n).on(c) !== n ||
    merging(u) - offP < n ||
    merging(b) - offP < n
  )
    throw new ProbeError(
      `${what}: the control set k did not merge on node ${c} (the unbound task has ${merging(u)} pages merged, the owner ${merging(b)}): ksmd did not compare the tasks' pages`,
    );
  return { offP, unboundOnP: setPlacement(u, 't', n).on(p), ownerMerging: merging(b), owner: t.toJSON() };
}

/**
 * Two unprivileged tasks with identical pages, ksmd stepped by hand. Onto: the owner's merged pairs,
 * each mapped once, moved to P between two passes take the unbound task's copies in at the next
 * pass, which meets the unbound task first. Off: pages moved to P between ksmd's batch over the
 * owner (which put them in the unstable tree on C) and its batch over the unbound task are replaced
 * by the unbound task's copies on C. Control sets on C must merge in the same pass (ksmd compared
 * them), the owner's moves must land on P, and every page must start on C. n/a without `,user`:
 * no user page can get onto P there (move_pages(2) gives ENODEV whoever asks).
 */
export const ksmCross: InvariantSpec<KsmCrossObs> = {
  id: 'ksm-cross',
  title: 'KSM merges no page into P or out of it',
  expect: expect('fail', 'fail', 'n/a', 'pass'),
  disturbs: false,
  steps: ({ roles: { c, p } }) => [
    { name: 'ksm-cross', script: 'ksm-cross.sh', env: { C: c, P: p, KSM_PAGES }, timeoutMs: 240_000 },
  ],
  parse(raw, { roles: { c, p } }) {
    const s = ksmSections(raw, 'ksm-cross');
    const onto = parseOnto(s, KSM_PAGES, c, p);
    const off = parseOff(s, KSM_PAGES, c, p);
    return {
      pages: KSM_PAGES,
      onto,
      off,
      knobs: keyValues(section(s, 'knobs', 'ksm-cross')),
      stats: { onto: keyValues(s.onto!), off: keyValues(s.off!) },
    };
  },
  decide(o, { roles: { c, p } }) {
    const problems: string[] = [];
    if (o.onto.onP > 0)
      problems.push(
        `onto: ${o.onto.onP} of ${o.pages} pages of an unbound task were merged into KSM pages on node ${p} (the owner's, moved there by move_pages(2))`,
      );
    if (o.off.offP > 0)
      problems.push(
        `off: ${o.off.offP} of ${o.pages} pages the owner moved to node ${p} were replaced by KSM pages on node ${c} (the unbound task's copies)`,
      );
    if (o.off.unboundOnP > 0)
      problems.push(`off: ${o.off.unboundOnP} of ${o.pages} pages of the unbound task are on node ${p}`);
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? `nothing of an unbound task merged into node ${p}'s KSM pages, nothing moved to node ${p} merged out of it (the controls merged on node ${c})`
        : problems[0]!,
      problems,
      evidence: { node: p, ...o },
      placements: [
        chart("onto: the unbound task's copies, after ksmd's pass", { pages: o.onto.unbound }),
        chart("off: the owner's pages moved to P, after ksmd's pass", { pages: o.off.owner }),
      ],
    };
  },
};

interface KsmRmapObs {
  pages: number;
  /** Set when the task did not end within FINISH_S of moving the pages back (`hung 60`, `unkillable 60`). */
  hung?: string;
  moved: number;
  /** move_pages(2) returned a positive count: the kernel could not migrate the page. */
  stuck: number;
  refused: Record<string, number>;
  /** The owner's rmap items in the stable tree after ksmd's pass over its pages on P. */
  mergingAfter: number;
  onP?: Record<string, number>;
  after?: Record<string, number>;
  stats: Record<string, number>;
}

/**
 * KSM pages moved to P by their only user must stay migratable: after ksmd's next pass over them,
 * each moved back to C on its own must move. v1 and v2 drop the pages' rmap items at that pass
 * (0009 skips them), and a KSM folio without them cannot be unmapped: move_pages(2) returns a
 * positive count, and offlining and reclaim fail alike. Stock 6.12 moves them.
 */
export const ksmRmap: InvariantSpec<KsmRmapObs> = {
  id: 'ksm-rmap',
  title: 'a KSM page on P keeps its reverse mapping: it can be migrated off P',
  expect: expect('pass', 'pass', 'n/a', 'pass'),
  disturbs: false,
  steps: ({ roles: { c, p } }) => [
    { name: 'ksm-rmap', script: 'ksm-rmap.sh', env: { C: c, P: p, KSM_PAGES }, timeoutMs: 120_000 },
  ],
  parse(raw, { roles: { c, p } }) {
    const what = 'ksm-rmap';
    const n = KSM_PAGES;
    const s = ksmSections(raw, 'ksm-rmap');
    const text = section(s, 'rmap', what);
    const ends = taskEndings(text);
    if (ends.length !== 1) throw new ProbeError(`${what}: the step says the task ended ${ends.length} times`);
    if (ends[0]!.startsWith('exit ')) assertTasksRanClean(text, 1, what);
    assertPasses(ksmSteps(text), 3, what);
    const r = parseRecords(text);
    assertAllOn(ksmRecord(r, 'ready', 'owner'), ['S'], 2 * n, c, what);
    const merged = merging(ksmRecord(r, 'phase-2', 'owner'));
    if (merged !== 2 * n)
      throw new ProbeError(
        `${what}: ${merged} of the owner's ${2 * n} pages merged on node ${c} in ksmd's second pass`,
      );
    const toP = assertMovedTo(r, 'S', n, p, what);
    const stats = keyValues(text);
    const each = recordsOf(r, 'ksm-cross', 'move-each', 0);
    if (ends[0] !== 'exit 0') {
      // Killed (or unkillable) after FINISH_S: a fail where the moves back never returned.
      if (each.length) throw new ProbeError(`${what}: the task ${ends[0]} s after it moved its pages back`);
      return { pages: n, hung: ends[0], moved: 0, stuck: 0, refused: {}, mergingAfter: -1, stats };
    }
    const e = ksmRecord(r, 'move-each', 'owner', 'S');
    const moved = num(e, 'moved');
    const stuck = num(e, 'stuck');
    const refused = counts(e.refused, `${what}: the moves back`);
    const total = moved + stuck + Object.values(refused).reduce((a, b) => a + b, 0);
    if (total !== n || num(e, 'pages') !== n)
      throw new ProbeError(`${what}: the moves back account for ${total} of ${n} pages`);
    const after = setPlacement(e, 'S', n);
    if (after.on(c) !== moved)
      throw new ProbeError(
        `${what}: ${moved} pages moved back by their status, ${after.on(c)} on node ${c} by their placement`,
      );
    return {
      pages: n,
      moved,
      stuck,
      refused,
      mergingAfter: merging(e),
      onP: setPlacement(toP, 'S', n).toJSON(),
      after: after.toJSON(),
      stats,
    };
  },
  decide(o, { roles: { c, p } }) {
    const problems: string[] = [];
    if (o.hung)
      problems.push(
        `moving the KSM pages back from node ${p} to node ${c} one by one did not finish in ${FINISH_S} s (${o.hung.split(' ')[0]})`,
      );
    if (o.stuck > 0)
      problems.push(
        `${o.stuck} of ${o.pages} KSM pages on node ${p} could not be migrated to node ${c}: move_pages(2) returned a positive count (ksmd kept ${o.mergingAfter} of the owner's rmap items)`,
      );
    const refused = Object.entries(o.refused).filter(([, k]) => k > 0);
    if (refused.length)
      problems.push(`moving them back to node ${c} was refused: ${refused.map(([e, k]) => `${k} ${e}`).join(', ')}`);
    const passed = problems.length === 0 && o.moved === o.pages;
    return {
      passed,
      summary: passed
        ? `all ${o.pages} KSM pages the owner had moved to node ${p} moved back to node ${c} after ksmd's pass over them`
        : (problems[0] ?? `${o.moved} of ${o.pages} KSM pages moved back to node ${c}`),
      problems: passed
        ? []
        : problems.length
          ? problems
          : [`${o.moved} of ${o.pages} KSM pages moved back to node ${c}`],
      evidence: { node: p, ...o },
      placements: o.onP && o.after ? [chart("the owner's KSM pages", { 'on P': o.onP, 'moved back': o.after })] : [],
    };
  },
};
