import { chart } from '../../model/verdict.js';
import { ProbeError } from '../errors.js';
import { num, Placement } from '../records.js';
import { expect, type InvariantSpec } from '../spec.js';
import { hasSwapDisk } from './reclaim.js';
import {
  armRecords,
  dropProblem,
  settingsNote,
  swapRaSections,
  swapRaStep,
  type Drop,
  type Settings,
} from './swap-readahead.js';

/** One of swap-ra's arms 2 and 3 (guest/probe/swap-ra.c): B's pages are bound to P, A reads its own between them. */
interface ReverseArm extends Drop {
  /** B's bind: set_mempolicy before it faults (arm 2), mbind of its memfd range after the drop (arm 3). */
  bind: { ret: number; errno: string | null };
  /** Arm 2: where B's pages were faulted, under its bind. */
  placed?: Placement;
  /** Arm 2: B's pages still cached on P after the drop that B read and paged out again. */
  settled?: number;
  /** B's pages in the swap cache after A's reads, before B touched any. */
  readAhead: number;
  /** Where B's pages are once B has read them all: those A's reads had cached, and the rest. */
  ahead: Placement;
  missed: Placement;
}

interface ReverseObs {
  settings: Settings;
  arms: [ReverseArm, ReverseArm];
}

const ARMS = [2, 3] as const;
const KIND = { 2: 'anonymous pages, bound before they were faulted', 3: 'a memfd, bound after its page-out' };

function armOf(text: string, arm: number, settings: Settings): ReverseArm {
  const what = `swap-readahead-reverse arm ${arm}`;
  const { one, drop, bind } = armRecords(text, what);
  const touched = one('touched', 'B');
  const half = (key: 'ahead' | 'missed') => {
    const h = touched[key] as Record<string, unknown> | undefined;
    if (!h) throw new ProbeError(`${what}: no "${key}" in B's touched record`);
    const pages = num(h, 'pages');
    if (!pages)
      throw new ProbeError(
        key === 'ahead'
          ? `${what}: A's swap-ins read none of B's pages ahead (${settingsNote(settings)}), so the check cannot tell`
          : `${what}: every one of B's pages was read ahead, so none shows where B's own faults put them`,
      );
    return Placement.of(h.placement, pages, `${what}, B's ${key} pages`);
  };
  const placed = arm === 2 ? one('placed', 'B') : undefined;
  return {
    ...drop,
    bind: bind('B'),
    ...(placed ? { placed: Placement.of(placed.placement, num(placed, 'pages'), `${what}, B's placed pages`) } : {}),
    ...(arm === 2 ? { settled: num(one('settled', 'B'), 'settled') } : {}),
    readAhead: num(one('read-ahead', 'B'), 'cached'),
    ahead: half('ahead'),
    missed: half('missed'),
  };
}

/** What makes an arm unreadable: the setup it needs did not happen, or B's bind does not hold even on a miss. */
function setupProblem(a: ReverseArm, arm: number, p: number): string | undefined {
  if (a.bind.ret !== 0) return `arm ${arm}: B's bind to {${p}} was refused (${a.bind.errno})`;
  if (a.placed && a.placed.offNode(p))
    return `arm ${arm}: ${a.placed.offNode(p)} of B's ${a.placed.total} pages were faulted off node ${p} under its bind`;
  const dropped = dropProblem(a, arm);
  if (dropped) return dropped;
  if (a.missed.offNode(p))
    return `arm ${arm}: ${a.missed.offNode(p)} of B's ${a.missed.total} pages that nothing read ahead came in off node ${p}: B's bind does not hold even on a miss, so a read-ahead page off it says nothing of the swap cache`;
  return undefined;
}

/**
 * The reverse of swap-readahead: an unbound task's cluster readahead reads
 * a bound owner's swapped pages into the swap cache under its own policy,
 * off P, and the owner's fault maps the cached copy wherever it lies: a
 * swap-cache hit checks no policy, in do_swap_page() and in shmem alike
 * (docs/design/swap-reverse.md §1).
 */
export const swapReadaheadReverse: InvariantSpec<ReverseObs> = {
  id: 'swap-readahead-reverse',
  title: "pages bound to P come back on P when another task's swap readahead read them",
  // Stock 6.12 means it: shmem.c says a cached folio is used wherever it lies ("may well be extended").
  expect: expect('fail', 'fail', 'n/a', 'pass'),
  disturbs: true,
  witnessed: true,
  unsupported: (t) => (hasSwapDisk(t) ? undefined : `topology ${t.name} has no scratch disk (virtio-blk) to swap to`),
  steps: ({ roles: { c, p } }) => [swapRaStep('swap-readahead-reverse', ARMS.join(' '), c, p)],
  parse(raw) {
    const { settings, arms } = swapRaSections(raw, 'swap-readahead-reverse', [...ARMS]);
    return { settings, arms: [armOf(arms[0]!, 2, settings), armOf(arms[1]!, 3, settings)] };
  },
  decide(o, { roles: { c, p } }) {
    const unreadable = o.arms.map((a, i) => setupProblem(a, ARMS[i]!, p)).find(Boolean);
    if (unreadable) throw new ProbeError(unreadable);
    const problems = o.arms.flatMap((a, i) => {
      const off = a.ahead.offNode(p);
      return off
        ? [
            `arm ${ARMS[i]} (${KIND[ARMS[i]!]}): ${off} of B's ${a.ahead.total} read-ahead pages are mapped off node ${p} (${a.ahead.on(c)} on node ${c}): a swap-cache hit ignored B's bind`,
          ]
        : [];
    });
    const passed = problems.length === 0;
    const [anon, shmem] = o.arms;
    return {
      passed,
      summary: passed
        ? `all of B's pages came back on node ${p}, read ahead by the unbound A (${anon.ahead.total} anonymous, ${shmem.ahead.total} shmem) or not (${anon.missed.total}, ${shmem.missed.total})`
        : problems.join('; '),
      problems,
      evidence: { ...o },
      placements: o.arms.map((a, i) =>
        chart(`B's pages after B read them, arm ${ARMS[i]} (${KIND[ARMS[i]!]})`, {
          'read ahead': a.ahead.toJSON(),
          missed: a.missed.toJSON(),
        }),
      ),
    };
  },
};
