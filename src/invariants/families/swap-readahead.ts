import { chart } from '../../model/verdict.js';
import { KernelLacks, ProbeError } from '../errors.js';
import { errnoOf, num, parseRecords, parseSections, Placement, recordsOf, section } from '../records.js';
import { assertRanClean } from '../shell.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';
import { hasSwapDisk } from './reclaim.js';

/** What both tasks of an arm of swap-ra (guest/probe/swap-ra.c) say before anyone reads: their slots interleave, none cached. */
export interface Drop {
  /** Of A's pages (primer and own) and of B's, how many were swapped after the page-outs. */
  swapped: { a: [number, number]; b: [number, number] };
  /** How many were still in the swap cache once root had dropped it. */
  cachedBefore: { a: number; b: number };
}

/** One arm of swap-ra: A reads its swapped pages back, B's lie between them on swap. */
interface Arm extends Drop {
  /** Arm 1 only: A's set_mempolicy(BIND, {P}). */
  bind?: { ret: number; errno: string | null };
  /** Where A's pages came back: its primer (read first, in order) and the pages between B's. */
  primer: Placement;
  aOwn: Placement;
  /** B's pages in the swap cache after A's reads, before B touched any. */
  readAhead: number;
  /** Where B's pages are once B has read them all. */
  b: Placement;
}

interface SwapRaObs {
  settings: Settings;
  arms: [Arm, Arm];
}

/** The swap disk's rotational flag, vma_ra_enabled and page-cluster, as the guest printed them (words only: they reach the summary). */
export type Settings = Record<string, string>;

/** The records of one arm, by call and task; a missing one, or one printed as root, is a ProbeError. */
export function armRecords(text: string, what: string) {
  assertRanClean(text, what);
  const records = parseRecords(text);
  const one = (call: string, role: string) => {
    const r = recordsOf(records, 'swap-ra', call).find((x) => x.role === role);
    if (!r) throw new ProbeError(`${what}: no "${call}" record of task ${role}`);
    if (num(r, 'uid') === 0) throw new ProbeError(`${what}: the probe ran as root`);
    return r;
  };
  const counted = (call: string, role: string, key: string): [number, number] => {
    const r = one(call, role);
    return [num(r, key), num(r, 'pages')];
  };
  const drop: Drop = {
    swapped: { a: counted('paged-out', 'A', 'swapped'), b: counted('paged-out', 'B', 'swapped') },
    cachedBefore: { a: num(one('dropped', 'A'), 'cached'), b: num(one('dropped', 'B'), 'cached') },
  };
  const bind = (role: string) => {
    const r = one('bind', role);
    return { ret: num(r, 'ret'), errno: errnoOf(r) };
  };
  return { one, drop, bind };
}

function armOf(text: string, arm: number): Arm {
  const what = `swap-readahead arm ${arm}`;
  const { one, drop, bind } = armRecords(text, what);
  const swappedIn = one('swapped-in', 'A');
  const touched = one('touched', 'B');
  const primer = swappedIn.primer as Record<string, unknown> | undefined;
  if (!primer) throw new ProbeError(`${what}: no primer in the swapped-in record`);
  return {
    ...drop,
    ...(arm === 1 ? { bind: bind('A') } : {}),
    primer: Placement.of(primer.placement, num(primer, 'pages'), `${what}, A's primer`),
    aOwn: Placement.of(swappedIn.placement, num(swappedIn, 'pages'), `${what}, A's pages`),
    readAhead: num(one('read-ahead', 'B'), 'cached'),
    b: Placement.of(touched.placement, num(touched, 'pages'), `${what}, B's pages`),
  };
}

/** Why the slots do not interleave, or a read would hit the swap cache and read nothing ahead. */
export function dropProblem(d: Drop, arm: number): string | undefined {
  for (const [task, [swapped, pages]] of Object.entries(d.swapped))
    if (swapped !== pages)
      return `arm ${arm}: MADV_PAGEOUT swapped ${swapped} of task ${task.toUpperCase()}'s ${pages} pages, so the slots do not interleave`;
  for (const [task, cached] of Object.entries(d.cachedBefore))
    if (cached)
      return `arm ${arm}: ${cached} of task ${task.toUpperCase()}'s pages were still in the swap cache after root dropped it, so a read would hit it and read nothing ahead`;
  return undefined;
}

/** What makes an arm unreadable: the setup it needs did not happen, whatever the kernel's answer. */
function setupProblem(a: Arm, arm: number, p: number): string | undefined {
  const dropped = dropProblem(a, arm);
  if (dropped) return dropped;
  if (a.bind && a.bind.ret !== 0) return `arm ${arm}: A's set_mempolicy(BIND, {${p}}) was refused (${a.bind.errno})`;
  const own = a.primer.on(p) + a.aOwn.on(p);
  if (a.bind && own !== a.primer.total + a.aOwn.total)
    return `arm ${arm}: only ${own} of A's ${a.primer.total + a.aOwn.total} pages came back on node ${p} under its bind`;
  return undefined;
}

/** The swap step's sections: its settings and each arm's output; a guest without swap lacks the feature. */
export function swapRaSections(raw: Record<string, string>, what: string, arms: number[]) {
  const s = parseSections(rawOf(raw, what));
  if ('none' in s) throw new KernelLacks('the kernel has no swap (/proc/swaps)');
  const settings: Settings = Object.fromEntries(
    [...section(s, 'settings', what).matchAll(/^(\w+) (\w+)$/gm)].map((m) => [m[1]!, m[2]!]),
  );
  return { settings, arms: arms.map((arm) => section(s, `arm-${arm}`, what)) };
}

/** The steps of the swap rows: swap-readahead.sh on the reclaim topology's scratch disk, with the arms it runs. */
export function swapRaStep(name: string, arms: string, c: number, p: number) {
  return { name, script: 'swap-readahead.sh', env: { C: c, P: p, ARMS: arms }, timeoutMs: 240_000 };
}

/** Names the settings that let one task read another's slots ahead, for a message saying it did not happen. */
export function settingsNote(s: Settings): string {
  return `rotational ${s.rotational}, vma_ra_enabled ${s.vma_ra_enabled}, page-cluster ${s.page_cluster}`;
}

/**
 * Swap readahead reads the slots around a faulting page under the faulting
 * task's policy, whoever owns them; their owner's later fault maps the copy
 * wherever it lies. A task bound to P that swaps its own pages back in must
 * not bring another task's pages onto P (docs/design/swap-paths.md §1).
 */
export const swapReadahead: InvariantSpec<SwapRaObs> = {
  id: 'swap-readahead',
  title: "a task bound to P reads none of another task's swapped pages onto P",
  // Stock 6.12 means it: the readahead's shared policy is documented (swap_cluster_readahead()).
  expect: expect('fail', 'fail', 'n/a', 'pass'),
  disturbs: true,
  witnessed: true,
  unsupported: (t) => (hasSwapDisk(t) ? undefined : `topology ${t.name} has no scratch disk (virtio-blk) to swap to`),
  steps: ({ roles: { c, p } }) => [swapRaStep('swap-readahead', '0 1', c, p)],
  parse(raw) {
    const { settings, arms } = swapRaSections(raw, 'swap-readahead', [0, 1]);
    return { settings, arms: [armOf(arms[0]!, 0), armOf(arms[1]!, 1)] };
  },
  decide(o, { roles: { c, p } }) {
    const [control, bound] = o.arms;
    const unreadable = setupProblem(control, 0, p) ?? setupProblem(bound, 1, p);
    if (unreadable) throw new ProbeError(unreadable);
    if (!control.readAhead)
      throw new ProbeError(
        `with no policy, A's swap-ins read none of B's ${control.b.total} pages ahead (${settingsNote(o.settings)}): no readahead across tasks here, so the check cannot tell`,
      );
    const problems = o.arms.flatMap((a, arm) => {
      const onP = a.b.on(p);
      if (!onP) return [];
      const who = arm ? `A, bound to node ${p},` : 'A, under no policy,';
      return [
        `${onP} of B's ${a.b.total} pages are on node ${p}, which B never asked for: ${who} read ${a.readAhead} of them ahead into the swap cache, and B's faults mapped those copies`,
      ];
    });
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? `B's ${bound.b.total} pages came back on node ${c} after A, bound to node ${p}, read its own swapped pages between them (${bound.readAhead} of B's read ahead with A's; ${control.readAhead} in the unbound control)`
        : problems.join('; '),
      problems,
      evidence: { ...o },
      placements: o.arms.map((a, arm) =>
        chart(`B's pages after B read them, arm ${arm} (A ${arm ? `bound to node ${p}` : 'unbound'})`, {
          pages: a.b.toJSON(),
        }),
      ),
    };
  },
};
