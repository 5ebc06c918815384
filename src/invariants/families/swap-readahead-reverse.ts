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

/** One half of B's pages as B read them: how many, how many of the faults were major, and where they are. */
interface Half {
  pages: number;
  major: number;
  /** Absent when the half is empty. */
  placement?: Placement;
}

/** One of swap-ra's arms 2 and 3 (guest/probe/swap-ra.c): B's pages are bound to P, A reads its own between them. */
interface ReverseArm extends Drop {
  /** B's bind: set_mempolicy before it faults (arm 2), mbind of its memfd range after the drop (arm 3). */
  bind: { ret: number; errno: string | null };
  /** Arm 2: where B's pages were faulted, under its bind. */
  placed?: Placement;
  /** Arm 2: B's pages still cached on P after the drop that B read and paged out again. */
  settled?: number;
  /** B's pages as B read them: those A's reads had put in the swap cache, then the rest. */
  ahead: Half;
  missed: Half;
}

interface ReverseObs {
  settings: Settings;
  arms: [ReverseArm, ReverseArm];
}

const ARMS = [2, 3] as const;
const KIND = { 2: 'anonymous pages, bound before they were faulted', 3: 'a memfd, bound after its page-out' };

function armOf(text: string, arm: number): ReverseArm {
  const what = `swap-readahead-reverse arm ${arm}`;
  const { one, drop, bind } = armRecords(text, what);
  const touched = one('touched', 'B');
  const half = (key: 'ahead' | 'missed'): Half => {
    const h = touched[key] as Record<string, unknown> | undefined;
    if (!h) throw new ProbeError(`${what}: no "${key}" in B's touched record`);
    const pages = num(h, 'pages');
    return {
      pages,
      major: num(h, 'major'),
      ...(pages ? { placement: Placement.of(h.placement, pages, `${what}, B's ${key} pages`) } : {}),
    };
  };
  const placed = arm === 2 ? one('placed', 'B') : undefined;
  return {
    ...drop,
    bind: bind('B'),
    ...(placed ? { placed: Placement.of(placed.placement, num(placed, 'pages'), `${what}, B's placed pages`) } : {}),
    ...(arm === 2 ? { settled: num(one('settled', 'B'), 'settled') } : {}),
    ahead: half('ahead'),
    missed: half('missed'),
  };
}

/** An arm's judgement: why it cannot be read at all, what it shows off P, and why it cannot show a pass. */
interface ArmJudgement {
  unreadable?: string;
  problems: string[];
  noPass?: string;
}

function judgeArm(a: ReverseArm, arm: 2 | 3, o: ReverseObs, c: number, p: number): ArmJudgement {
  const name = `arm ${arm} (${KIND[arm]})`;
  // Without B's bind, B's pages off P say nothing.
  if (a.bind.ret !== 0)
    return { unreadable: `${name}: B's bind to {${p}} was refused (${a.bind.errno})`, problems: [] };
  const problems: string[] = [];
  if (a.placed?.offNode(p))
    problems.push(
      `${name}: ${a.placed.offNode(p)} of B's ${a.placed.total} pages were faulted off node ${p} under its bind`,
    );
  const ahead = a.ahead.placement;
  if (ahead?.offNode(p))
    problems.push(
      `${name}: ${ahead.offNode(p)} of B's ${ahead.total} read-ahead pages are mapped off node ${p} (${ahead.on(c)} on node ${c}): a swap-cache hit ignored B's bind`,
    );
  const missed = a.missed.placement;
  if (missed?.offNode(p))
    problems.push(
      `${name}: ${missed.offNode(p)} of B's ${missed.total} pages that nothing had read ahead came in off node ${p}: B's bind did not hold on its own swap-ins`,
    );
  // What keeps a clean arm from passing: a hit on P itself, or no hit at all, would look like a copy onto P.
  const noPass =
    dropProblem(a, arm) ??
    (!a.ahead.pages
      ? `${name}: A's swap-ins read none of B's pages ahead (${settingsNote(o.settings)}), so the check cannot tell`
      : a.ahead.major
        ? `${name}: ${a.ahead.major} of B's faults on the ${a.ahead.pages} pages mincore showed cached were major (not swap-cache hits), so those pages cannot show a hit's copy`
        : undefined);
  return { problems, ...(noPass ? { noPass } : {}) };
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
    return { settings, arms: [armOf(arms[0]!, 2), armOf(arms[1]!, 3)] };
  },
  // An arm that shows B's pages off P fails the row whatever the other arm shows; an arm that cannot
  // be read, or cannot show a pass, makes an otherwise clean row an error.
  decide(o, { roles: { c, p } }) {
    const judged = o.arms.map((a, i) => judgeArm(a, ARMS[i]!, o, c, p));
    const problems = judged.flatMap((j) => j.problems);
    const blocked = judged.flatMap((j) => [j.unreadable, j.noPass].filter((x): x is string => !!x));
    if (!problems.length && blocked.length) throw new ProbeError(blocked.join('; '));
    const passed = problems.length === 0;
    const [anon, shmem] = o.arms;
    return {
      passed,
      summary: passed
        ? `all of B's pages came back on node ${p}, read ahead by the unbound A (${anon.ahead.pages} anonymous, ${shmem.ahead.pages} shmem, every fault on them minor) or not (${anon.missed.pages}, ${shmem.missed.pages})`
        : [...problems, ...blocked.map((b) => `(${b})`)].join('; '),
      problems,
      evidence: { ...o },
      placements: o.arms.map((a, i) =>
        chart(`B's pages after B read them, arm ${ARMS[i]} (${KIND[ARMS[i]!]})`, {
          'read ahead': a.ahead.placement?.toJSON() ?? {},
          missed: a.missed.placement?.toJSON() ?? {},
        }),
      ),
    };
  },
};
