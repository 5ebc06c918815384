import { chart } from '../../model/verdict.js';
import { KernelLacks, ProbeError } from '../errors.js';
import { errnoOf, num, parseRecords, parseSections, Placement, recordsOf, section } from '../records.js';
import { assertRanClean } from '../shell.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';
import type { StepWitness } from '../witness.js';

/** What root printed before the arms and after each (guest/scripts/zpool-user.sh's counters). */
interface Counters {
  /** Each node's nr_zspages: the pages zsmalloc's pool holds there. */
  zspages: Record<number, number>;
  /** zram0's mm_stat: bytes stored (orig_data_size) and the pool's size in pages (mem_used_total / 4096). */
  storedBytes: number;
  poolPages: number;
  /** The victim's VmSwap. */
  victimSwapKb: number;
}

interface ArmObs {
  /** Arm 1 only: the writer's set_mempolicy(BIND, {P}). */
  bind?: { ret: number; errno: string | null };
  /** The write of 8M to the victim's memory.reclaim (EAGAIN: less was reclaimed). */
  reclaim: { ret: number; errno: string | null };
  after: Counters;
}

interface ZpoolObs {
  /** The compressor zram0 used (lzo-rle keeps a page's first bytes, its tag, in the object). */
  compressor: string;
  start: Counters;
  /** In the order they ran: arm 1 (bound to P), then arm 0 (the control). */
  arms: { 1: ArmObs; 0: ArmObs };
  /** The victim's pages once it read them all back, and how many pagemap showed swapped before. */
  victim: { swapped: number; placement: Placement };
}

const WHAT = 'zpool-user';

/** The counters of one reading; C's or P's nr_zspages missing is a ProbeError (a missing P would read as none there). */
function parseCounters(text: string, name: string, nodes: number[]): Counters {
  const zspages: Record<number, number> = {};
  for (const m of text.matchAll(/^nr_zspages (\d+) (\d+)$/gm)) zspages[Number(m[1])] = Number(m[2]);
  const mmStat = /^mm_stat((?: +\d+){3,})$/m.exec(text)?.[1]?.trim().split(/ +/).map(Number);
  const swap = /^vmswap_kb (\d+)$/m.exec(text)?.[1];
  const missing = nodes.filter((n) => zspages[n] === undefined);
  if (missing.length || !mmStat || swap === undefined)
    throw new ProbeError(
      `${WHAT}: the counters ${name} lack ${missing.length ? `node ${missing.join(' and ')}'s nr_zspages` : "zram0's mm_stat or the victim's VmSwap"}`,
    );
  return { zspages, storedBytes: mmStat[0]!, poolPages: Math.round(mmStat[2]! / 4096), victimSwapKb: Number(swap) };
}

function armOf(sections: Record<string, string>, arm: 0 | 1, nodes: number[]): ArmObs {
  const text = section(sections, `arm-${arm}`, WHAT);
  assertRanClean(text, `${WHAT} arm ${arm}`);
  const records = parseRecords(text);
  const result = (call: string) => {
    const r = recordsOf(records, 'zpool', call)[0]!;
    if (num(r, 'uid') === 0) throw new ProbeError(`${WHAT} arm ${arm}: the reclaimer ran as root`);
    return { ret: num(r, 'ret'), errno: errnoOf(r) };
  };
  const bind = arm === 1 ? result('bind') : undefined;
  if (bind && bind.ret !== 0)
    throw new ProbeError(`${WHAT} arm 1: the reclaimer's set_mempolicy(BIND, {P}) was refused (${bind.errno})`);
  return {
    ...(bind ? { bind } : {}),
    reclaim: result('reclaim'),
    after: parseCounters(section(sections, `counters-${arm}`, WHAT), `after arm ${arm}`, nodes),
  };
}

/** How an arm moved the counters: pool pages gained on each node, and the victim's swap. */
function grown(before: Counters, after: Counters) {
  const nodes = new Set([...Object.keys(before.zspages), ...Object.keys(after.zspages)].map(Number));
  const zspages = Object.fromEntries(
    [...nodes].map((n) => [n, (after.zspages[n] ?? 0) - (before.zspages[n] ?? 0)] as const),
  );
  return { zspages, swapKb: after.victimSwapKb - before.victimSwapKb };
}

/** Compressors whose objects begin with the page's first bytes as literals: the host can find the tag inside them. */
const LITERAL_FIRST = ['lzo', 'lzo-rle', 'lz4', 'lz4hc'];

/**
 * The host's count of the victim's pages compressed inside P's pages; why it cannot count (a compressor that
 * codes its literals, such as zstd); undefined when it did not read (no witness, no memfd).
 */
function copiesSeen(compressor: string, witness: StepWitness[]): number | string | undefined {
  const copies = witness.find((w) => w.step === WHAT)?.reading?.copies;
  if (copies === undefined) return undefined;
  return LITERAL_FIRST.includes(compressor) ? copies : `the host cannot look inside ${compressor} objects`;
}

/** A chart counts pages: a pool that shrank on a node (compaction) shows nothing there. */
const added = (zspages: Record<number, number>) =>
  Object.fromEntries(Object.entries(zspages).map(([n, d]) => [n, Math.max(0, d)]));

/**
 * zram and zswap compress in the context of whoever reclaims, into zsmalloc pool pages that its
 * policy places: a task bound to P that writes another cgroup's memory.reclaim (a delegated
 * subtree) must not put the pool on P (docs/design/swap-paths.md §2).
 */
export const zpoolUser: InvariantSpec<ZpoolObs> = {
  id: 'zpool-user',
  title: "a reclaimer bound to P compresses another cgroup's pages into no pool page on P",
  // Stock 6.12 means it: zsmalloc takes its pages under the current task's policy.
  expect: expect('fail', 'fail', 'n/a', 'pass'),
  disturbs: true,
  // The victim's pages (on C) are held against the host's count, and the host looks for their
  // compressed copies inside P's pages (hostCopies): decide holds those against nr_zspages.
  witnessed: true,
  hostCopies: true,
  steps: ({ roles: { p } }) => [{ name: WHAT, script: 'zpool-user.sh', env: { P: p }, timeoutMs: 180_000 }],
  parse(raw, { roles: { c, p } }) {
    const s = parseSections(rawOf(raw, WHAT));
    if ('none' in s)
      throw new KernelLacks('the kernel has no zram (no /sys/block/zram0, and modprobe zram found none)');
    const compressor = /^comp_algorithm ([\w-]+)$/m.exec(section(s, 'settings', WHAT))?.[1];
    if (!compressor) throw new ProbeError(`${WHAT}: no compressor named in the settings`);
    const start = parseCounters(section(s, 'counters-start', WHAT), 'before the arms', [c, p]);
    const arms = { 1: armOf(s, 1, [c, p]), 0: armOf(s, 0, [c, p]) };
    const text = section(s, 'victim', WHAT);
    assertRanClean(text, `${WHAT} victim`);
    const touched = recordsOf(parseRecords(text), 'zpool', 'touched')[0]!;
    if (num(touched, 'uid') === 0) throw new ProbeError(`${WHAT}: the victim ran as root`);
    return {
      compressor,
      start,
      arms,
      victim: {
        swapped: num(touched, 'swapped'),
        placement: Placement.of(touched.placement, num(touched, 'pages'), `${WHAT}, the victim's pages`),
      },
    };
  },
  decide(o, { roles: { c, p } }, witness = []) {
    const bound = grown(o.start, o.arms[1].after);
    const control = grown(o.arms[1].after, o.arms[0].after);
    for (const [arm, g] of [
      [1, bound],
      [0, control],
    ] as const) {
      const pool = Object.values(g.zspages).reduce((a, b) => a + b, 0);
      if (g.swapKb <= 0 || pool <= 0)
        throw new ProbeError(
          `arm ${arm}: the write to memory.reclaim (${o.arms[arm].reclaim.errno ?? 'ret ' + o.arms[arm].reclaim.ret}) swapped ${g.swapKb} kB of the victim and grew the pool by ${pool} page(s): nothing was compressed, so the check cannot tell`,
        );
    }
    const problems: string[] = [];
    const onP = bound.zspages[p]!;
    const controlOnP = control.zspages[p]!;
    const copies = copiesSeen(o.compressor, witness);
    const seen =
      typeof copies === 'number'
        ? `; the host finds ${copies} of the victim's pages compressed in node ${p}'s memfd`
        : copies
          ? `; ${copies}`
          : '';
    if (onP > 0)
      problems.push(
        `the pool grew by ${onP} page(s) on node ${p} while a task bound to node ${p} reclaimed ${bound.swapKb} kB of another cgroup's pages (${bound.zspages[c]} on node ${c})${seen}`,
      );
    if (controlOnP > 0) problems.push(`the pool grew by ${controlOnP} page(s) on node ${p} under an unbound reclaimer`);
    const victimOnP = o.victim.placement.on(p);
    if (victimOnP > 0)
      problems.push(`${victimOnP} of the victim's ${o.victim.placement.total} pages came back on node ${p}`);
    // Compressed copies on P that nr_zspages denies: the guest's counters cannot be taken at their word.
    if (typeof copies === 'number' && copies > 0 && onP <= 0 && controlOnP <= 0) {
      const contradiction = `the host finds ${copies} of the victim's pages compressed in node ${p}'s memfd, and nr_zspages says the pool never grew on node ${p}`;
      if (!problems.length) throw new ProbeError(`the host contradicts the guest: ${contradiction}`);
      problems.push(contradiction);
    }
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? `a task bound to node ${p} reclaimed ${bound.swapKb} kB of another cgroup's pages into ${bound.zspages[c]} new pool page(s) on node ${c} and none on node ${p} (the unbound control: ${control.zspages[c]} on node ${c})${seen}`
        : problems.join('; '),
      problems,
      evidence: { ...o, grown: { bound, control } },
      placements: [
        chart('pool pages (nr_zspages) each arm added', {
          [`bound to node ${p}`]: added(bound.zspages),
          unbound: added(control.zspages),
        }),
        chart("the victim's pages after it read them back", { pages: o.victim.placement.toJSON() }),
      ],
    };
  },
};
