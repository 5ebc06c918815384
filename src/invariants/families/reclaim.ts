import { chart } from '../../model/verdict.js';
import type { Topology } from '../../model/topology.js';
import { KernelLacks, ProbeError } from '../errors.js';
import { parseFill, type FillResult } from '../fill.js';
import { num, parseRecords, parseSections, recordsOf, section, type ProbeRecord } from '../records.js';
import { assertRanClean } from '../shell.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';

/**
 * A ,user owner's pages on P under another task's pressure: reclaim of P, by whoever's allocation
 * starts there, swaps them out or drops them, and they come back under the faulting task's policy
 * (docs/design/reclaim-user.md).
 */

const SETS = ['A', 'B', 'F', 'L', 'E'] as const;
type SetName = (typeof SETS)[number];
/** The sets whose pages must stay on P: bound, moved there, page cache read under a bind. */
const JUDGED: SetName[] = ['A', 'B', 'F'];
const SET_WORDS: Record<SetName, string> = {
  A: 'bound',
  B: 'moved',
  F: 'page cache',
  L: 'mlocked',
  E: 'paged out by the owner',
};

interface SetState {
  pages: number;
  /** Pages per node, as move_pages(2) read them without faulting. */
  byNode: Record<string, number>;
  /** Pages mapped nowhere (move_pages' ENOENT): swapped out, or page cache dropped. */
  absent: number;
  /** Pages pagemap shows swapped out. */
  swapped: number;
}

type Sets = Record<SetName, SetState>;

interface ReclaimObs {
  fill: FillResult;
  placed: Sets;
  beforeTouch: Sets;
  afterTouch: Sets;
}

/** One set of a reclaim-owner record: every page on a node or absent (ENOENT), nothing else. */
function setState(raw: unknown, what: string): SetState {
  const s = raw as { pages?: unknown; placement?: unknown; swapped?: unknown } | undefined;
  if (!s || typeof s.pages !== 'number' || typeof s.swapped !== 'number' || !s.placement)
    throw new ProbeError(`${what}: no pages, placement or swapped count`);
  const byNode: Record<string, number> = {};
  let absent = 0;
  let sum = 0;
  for (const [key, count] of Object.entries(s.placement as Record<string, unknown>)) {
    if (typeof count !== 'number' || count < 0) throw new ProbeError(`${what}: placement ${key} is ${String(count)}`);
    sum += count;
    if (/^\d+$/.test(key)) byNode[key] = count;
    else if (key === 'ENOENT') absent = count;
    else throw new ProbeError(`${what}: the node of ${count} page(s) could not be read (${key})`);
  }
  if (s.pages <= 0 || sum !== s.pages) throw new ProbeError(`${what}: placement counts ${sum} pages of ${s.pages}`);
  if (s.swapped < 0 || s.swapped > s.pages) throw new ProbeError(`${what}: ${s.swapped} swapped of ${s.pages}`);
  return { pages: s.pages, byNode, absent, swapped: s.swapped };
}

function setsOf(r: ProbeRecord, what: string): Sets {
  const sets = r.sets as Record<string, unknown> | undefined;
  if (!sets) throw new ProbeError(`${what}: no sets`);
  return Object.fromEntries(SETS.map((name) => [name, setState(sets[name], `${what}, set ${name}`)])) as Sets;
}

const onP = (s: SetState, p: number) => s.byNode[String(p)] ?? 0;

/** Topologies with a scratch virtio-blk disk, where the step puts swap. */
export const hasSwapDisk = (t: Topology) => (t.devices ?? []).some((d) => d.kind === 'virtio-blk');

export const reclaimUser: InvariantSpec<ReclaimObs> = {
  id: 'reclaim-user',
  title: "another task's pressure on P takes none of an owner's pages off P",
  expect: expect('fail', 'fail', 'n/a', 'pass'),
  disturbs: true,
  witnessed: true,
  unsupported: (t) => (hasSwapDisk(t) ? undefined : `topology ${t.name} has no scratch disk (virtio-blk) to swap to`),
  steps: ({ roles: { c, p } }) => [
    { name: 'reclaim-user', script: 'reclaim-user.sh', env: { C: c, P: p }, timeoutMs: 180_000 },
  ],
  parse(raw) {
    const what = 'reclaim-user';
    const text = rawOf(raw, what);
    const s = parseSections(text);
    if ('none' in s) throw new KernelLacks('the kernel has no swap (/proc/swaps)');
    const fill = parseFill(text, what);
    const ownerText = section(s, 'owner', what);
    assertRanClean(ownerText, `${what}'s owner`);
    const records = parseRecords(ownerText);
    const one = (call: string) => setsOf(recordsOf(records, 'reclaim-owner', call)[0]!, `${what} ${call}`);
    const [placedRecord] = recordsOf(records, 'reclaim-owner', 'placed');
    if (num(placedRecord!, 'uid') === 0) throw new ProbeError(`${what}: the owner ran as root`);
    return { fill, placed: one('placed'), beforeTouch: one('before-touch'), afterTouch: one('after-touch') };
  },
  decide(o, { roles: { c, p } }) {
    for (const name of ['A', 'B', 'F', 'L'] as const)
      if (onP(o.placed[name], p) !== o.placed[name].pages)
        throw new ProbeError(
          `the owner's ${SET_WORDS[name]} set ${name} was not all on node ${p} when placed (${JSON.stringify(o.placed[name].byNode)})`,
        );
    const e = o.placed.E;
    if (e.swapped !== e.pages)
      throw new ProbeError(
        `the owner's own MADV_PAGEOUT swapped ${e.swapped} of ${e.pages} pages: without swap that works nothing here can be told`,
      );
    if (onP(o.beforeTouch.L, p) !== o.beforeTouch.L.pages)
      throw new ProbeError(`the owner's mlocked set left node ${p}: the control moved, the check cannot be read`);
    for (const name of SETS)
      if (o.afterTouch[name].absent)
        throw new ProbeError(
          `${o.afterTouch[name].absent} page(s) of set ${name} were still absent after the owner read them`,
        );

    const problems = JUDGED.flatMap((name) => {
      const before = o.beforeTouch[name];
      const left = before.pages - onP(before, p);
      if (!left) return [];
      const how = name === 'F' ? `${before.absent} dropped` : `${before.swapped} swapped out`;
      const elsewhere = before.pages - onP(o.afterTouch[name], p);
      return [
        `${left} of the ${before.pages} ${SET_WORDS[name]} pages (${name}) left node ${p} under another task's pressure (${how}); ${elsewhere} came back on node ${c} or another node`,
      ];
    });
    const passed = problems.length === 0;
    const pressure =
      o.fill.ending === 'completed'
        ? `the task bound to node ${p} got its ${o.fill.askedMiB} MiB`
        : `the task bound to node ${p} was OOM-killed after ${o.fill.reachedMiB} MiB`;
    return {
      passed,
      summary: passed
        ? `${pressure}; every bound, moved and cached page of the owner stayed on node ${p}`
        : `${problems[0]!}; ${pressure}`,
      problems,
      evidence: { ...o },
      placements: JUDGED.map((name) =>
        chart(`${SET_WORDS[name]} (${name}), after the owner read them`, { pages: o.afterTouch[name].byNode }),
      ),
    };
  },
};
