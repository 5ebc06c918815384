import { chart } from '../../model/verdict.js';
import { KernelLacks, ProbeError } from '../errors.js';
import { errnoOf, num, parseRecords, parseSections, Placement, recordsOf, section } from '../records.js';
import { assertRanClean } from '../shell.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';
import { hasSwapDisk } from './reclaim.js';

/** One arm of swap-ra (guest/probe/swap-ra.c): A reads its swapped pages back, B's lie between them on swap. */
interface Arm {
  /** Of A's pages (primer and own) and of B's, how many pagemap showed swapped after the page-outs. */
  swapped: { a: [number, number]; b: [number, number] };
  /** How many were still in the swap cache once root had dropped it. */
  cachedBefore: { a: number; b: number };
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
  /** The swap disk's rotational flag, vma_ra_enabled and page-cluster, as the guest printed them (words only: they reach the summary). */
  settings: Record<string, string>;
  arms: [Arm, Arm];
}

function armOf(text: string, arm: number): Arm {
  const what = `swap-readahead arm ${arm}`;
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
  const bound = arm === 1 ? one('bind', 'A') : undefined;
  const swappedIn = one('swapped-in', 'A');
  const touched = one('touched', 'B');
  const primer = swappedIn.primer as Record<string, unknown> | undefined;
  if (!primer) throw new ProbeError(`${what}: no primer in the swapped-in record`);
  return {
    swapped: { a: counted('paged-out', 'A', 'swapped'), b: counted('paged-out', 'B', 'swapped') },
    cachedBefore: { a: num(one('dropped', 'A'), 'cached'), b: num(one('dropped', 'B'), 'cached') },
    ...(bound ? { bind: { ret: num(bound, 'ret'), errno: errnoOf(bound) } } : {}),
    primer: Placement.of(primer.placement, num(primer, 'pages'), `${what}, A's primer`),
    aOwn: Placement.of(swappedIn.placement, num(swappedIn, 'pages'), `${what}, A's pages`),
    readAhead: num(one('read-ahead', 'B'), 'cached'),
    b: Placement.of(touched.placement, num(touched, 'pages'), `${what}, B's pages`),
  };
}

/** What makes an arm unreadable: the setup it needs did not happen, whatever the kernel's answer. */
function setupProblem(a: Arm, arm: number, p: number): string | undefined {
  for (const [task, [swapped, pages]] of Object.entries(a.swapped))
    if (swapped !== pages)
      return `arm ${arm}: MADV_PAGEOUT swapped ${swapped} of task ${task.toUpperCase()}'s ${pages} pages, so the slots do not interleave`;
  for (const [task, cached] of Object.entries(a.cachedBefore))
    if (cached)
      return `arm ${arm}: ${cached} of task ${task.toUpperCase()}'s pages were still in the swap cache after root dropped it, so a read would hit it and read nothing ahead`;
  if (a.bind && a.bind.ret !== 0) return `arm ${arm}: A's set_mempolicy(BIND, {${p}}) was refused (${a.bind.errno})`;
  const own = a.primer.on(p) + a.aOwn.on(p);
  if (a.bind && own !== a.primer.total + a.aOwn.total)
    return `arm ${arm}: only ${own} of A's ${a.primer.total + a.aOwn.total} pages came back on node ${p} under its bind`;
  return undefined;
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
  steps: ({ roles: { c, p } }) => [
    { name: 'swap-readahead', script: 'swap-readahead.sh', env: { C: c, P: p }, timeoutMs: 240_000 },
  ],
  parse(raw) {
    const what = 'swap-readahead';
    const s = parseSections(rawOf(raw, what));
    if ('none' in s) throw new KernelLacks('the kernel has no swap (/proc/swaps)');
    const settings = Object.fromEntries(
      [...section(s, 'settings', what).matchAll(/^(\w+) (\w+)$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    return { settings, arms: [armOf(section(s, 'arm-0', what), 0), armOf(section(s, 'arm-1', what), 1)] };
  },
  decide(o, { roles: { c, p } }) {
    const [control, bound] = o.arms;
    const unreadable = setupProblem(control, 0, p) ?? setupProblem(bound, 1, p);
    if (unreadable) throw new ProbeError(unreadable);
    if (!control.readAhead)
      throw new ProbeError(
        `with no policy, A's swap-ins read none of B's ${control.b.total} pages ahead (rotational ${o.settings.rotational}, vma_ra_enabled ${o.settings.vma_ra_enabled}, page-cluster ${o.settings.page_cluster}): no readahead across tasks here, so the check cannot tell`,
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
