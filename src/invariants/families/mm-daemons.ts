import type { Topology } from '../../model/topology.js';
import { chart } from '../../model/verdict.js';
import { parseMemoryTiers, type MemoryTiers } from '../../parsers/isolation-parsers.js';
import { parseFill, type FillResult } from '../fill.js';
import {
  errnoOf,
  num,
  parseRecords,
  parseSections,
  Placement,
  placements,
  recordsOf,
  keyValues,
  section,
} from '../records.js';
import { assertRanClean } from '../shell.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';
import { KernelLacks, ProbeError } from '../errors.js';

/** A step's sections, or KernelLacks when its script printed "### none" (unless_missing in guest/scripts/lib.sh). */
function sectionsOrLacks(raw: Record<string, string>, step: string, lacks: string): Record<string, string> {
  const s = parseSections(rawOf(raw, step));
  if ('none' in s) throw new KernelLacks(lacks);
  return s;
}

const HUGEPAGES_ASKED = 4;

interface HugetlbObs {
  /** P's own pool: the write's answer and what it read back; absent when the kernel has no per-node file for P. */
  node?: { write: string; got: number };
  /** 4 more pages for the global pool, spread by the kernel over the nodes it allows: how many landed on P. */
  global: { asked: number; total: number; onP: number };
}

/**
 * Two ways to grow a pool on P: its own nr_hugepages, and the global pool
 * (which the kernel spreads over the nodes with memory). A refusal of the
 * first write is an answer, not a probe failure.
 */
export const hugetlb: InvariantSpec<HugetlbObs> = {
  id: 'hugetlb',
  title: 'the HugeTLB pool cannot grow on P',
  expect: expect('fail', 'fail', 'pass', 'n/a'),
  disturbs: true,
  steps: ({ roles: { p } }) => [{ name: 'hugetlb', script: 'hugetlb.sh', env: { P: p, HUGEPAGES_ASKED } }],
  parse(raw) {
    const s = sectionsOrLacks(raw, 'hugetlb', 'the kernel has no 2 MiB HugeTLB pages (CONFIG_HUGETLBFS)');
    const node = section(s, 'node', 'hugetlb');
    const g = keyValues(section(s, 'global', 'hugetlb'));
    if (g.asked === undefined || g.total === undefined || g.onp === undefined)
      throw new ProbeError(`the global pool step printed ${JSON.stringify(g)}`);
    const global = { asked: g.asked, total: g.total, onP: g.onp };
    if (/^no-file$/m.test(node)) return { global };
    const write = /^write (.*)$/m.exec(node)?.[1];
    const got = /^got (\d+)$/m.exec(node)?.[1];
    if (write === undefined || got === undefined) throw new ProbeError(`the node pool step printed: ${node.trim()}`);
    return { node: { write, got: Number(got) }, global };
  },
  decide(o, { roles: { p } }) {
    const problems: string[] = [];
    const file = `nodes/node${p}/hugepages/hugepages-2048kB/nr_hugepages`;
    if (o.node && o.node.got > 0) problems.push(`${file} took ${o.node.got} of ${HUGEPAGES_ASKED} huge pages`);
    if (o.global.onP > 0)
      problems.push(`growing the global pool by ${HUGEPAGES_ASKED} put ${o.global.onP} huge pages on node ${p}`);
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? `node ${p}'s pool stayed empty (${o.node ? `its own write: ${o.node.write}` : 'no per-node file'}; the global pool grew elsewhere)`
        : problems[0]!,
      problems,
      evidence: { node: p, asked: HUGEPAGES_ASKED, ...o },
    };
  },
};

interface BootPool {
  /** The word's value: "8", or "0:4,1:4". */
  arg: string;
  /** Huge pages asked for in all. */
  total: number;
  /** Per node, when the word names nodes (hugepages=<node>:<count>,...). */
  byNode?: Record<number, number>;
  /** The page size the word is for: the hugepagesz= before it, else default_hugepagesz=, else 2 MiB. */
  sizeKiB: number;
}

const TWO_MIB_KIB = 2048;
const ONE_GIB_KIB = 1024 * 1024;

/** A hugepagesz= or default_hugepagesz= value in KiB ("1G", "2M", "2048K"), or NaN. */
function pageSizeKiB(value: string): number {
  const m = /^(\d+)([KMG])$/i.exec(value);
  return m ? Number(m[1]) * { K: 1, M: 1024, G: 1024 * 1024 }[m[2]!.toUpperCase() as 'K' | 'M' | 'G'] : NaN;
}

/**
 * The pool the first hugepages= of the topology's command line asks for, if
 * it asks for one: N, or per node. As the kernel reads it, the word is for the
 * page size of the hugepagesz= before it, else of default_hugepagesz=.
 */
export const bootPoolAsked = (t: Topology): BootPool | undefined => {
  const at = t.cmdline.findIndex((a) => /^hugepages=(\d+|\d+:\d+(,\d+:\d+)*)$/.test(a));
  if (at === -1) return undefined;
  const arg = t.cmdline[at]!.slice('hugepages='.length);
  const sizeWord =
    t.cmdline
      .slice(0, at)
      .filter((a) => a.startsWith('hugepagesz='))
      .at(-1) ?? t.cmdline.find((a) => a.startsWith('default_hugepagesz='));
  const sizeKiB = sizeWord ? pageSizeKiB(sizeWord.slice(sizeWord.indexOf('=') + 1)) : TWO_MIB_KIB;
  if (!arg.includes(':')) return { arg, total: Number(arg), sizeKiB };
  // A node named twice keeps its last count, as the kernel's per-node array does.
  const byNode: Record<number, number> = Object.fromEntries(arg.split(',').map((pair) => pair.split(':').map(Number)));
  return { arg, total: Object.values(byNode).reduce((a, b) => a + b, 0), byNode, sizeKiB };
};

const GIB_MIB = 1024;
/** QEMU's q35 puts 2 GiB of RAM below 4 GiB once the guest has 2.75 GiB or more, else all of it. */
const Q35_LOWMEM_FROM_MIB = 2816;
const Q35_LOWMEM_MIB = 2048;

/**
 * How many 1 GiB boot pages each node of the topology can hold at most, from
 * the layout QEMU's q35 gives guest RAM (the nodes in id order; 2 GiB below
 * 4 GiB once RAM reaches 2.75 GiB, else all of it; the rest from 4 GiB): the
 * aligned GiBs of a node above 4 GiB (below, the kernel image, the firmware
 * and the PCI hole leave none whole), less one whose top the node's own
 * memmap and pg_data_t take (64 bytes a page, a margin of 16 MiB). The
 * host's count from the layout, not the guest's word: a pool short of it was
 * dropped by the kernel. It errs low below 4 GiB, and it matched what the
 * kernels placed on hugepages-1g (2 on C) and hugepages-1g-node (none on C).
 */
export function gigantic1GRoom(t: Topology): Record<number, number> {
  const boot = t.nodes.filter((n) => !n.hotplug && n.memMiB > 0).sort((a, b) => a.id - b.id);
  const totalMiB = boot.reduce((sum, n) => sum + n.memMiB, 0);
  const lowMiB = totalMiB >= Q35_LOWMEM_FROM_MIB ? Q35_LOWMEM_MIB : totalMiB;
  let start = 0; // MiB of RAM laid out so far
  const room: Record<number, number> = {};
  for (const n of boot) {
    const end = start + n.memMiB;
    // The part above 4 GiB, as guest physical MiB.
    const highStart = 4 * GIB_MIB + Math.max(start, lowMiB) - lowMiB;
    const highEnd = 4 * GIB_MIB + Math.max(end, lowMiB) - lowMiB;
    const first = Math.ceil(highStart / GIB_MIB);
    const last = Math.floor(highEnd / GIB_MIB); // blocks [first, last)
    const topDataMiB = n.memMiB / 64 + 16;
    const whole = Math.max(0, last - first);
    room[n.id] = whole > 0 && highEnd - last * GIB_MIB < topDataMiB ? whole - 1 : whole;
    start = end;
  }
  return room;
}

interface HugetlbBootObs {
  total: number;
  onP: number;
  /** The kernel's own HugeTLB lines (a refused node, a short pool). */
  kernel: string[];
}

/**
 * The pool asked for on the command line (hugepages=N, or per node
 * hugepages=<node>:<count>,...; 2 MiB pages, or 1 GiB after hugepagesz=1G)
 * is spread by the boot over the nodes it allows: none of it may land on P,
 * where no unbound task may use it and every reservation still counts it.
 * And all of it must be there, but for what P was asked for and, of 1 GiB
 * pages, what the other nodes have no room for (gigantic1GRoom): a kernel
 * that keeps P clean by dropping pages fails too. Read before any check
 * changes the pool.
 */
export const hugetlbBoot: InvariantSpec<HugetlbBootObs> = {
  id: 'hugetlb-boot',
  title: 'the boot-time HugeTLB pool stays off P',
  expect: expect('fail', 'fail', 'pass', 'n/a'),
  disturbs: false,
  unsupported: (t) => {
    const pool = bootPoolAsked(t);
    if (pool === undefined)
      return `topology ${t.name} asks for no boot-time HugeTLB pool (a "hugepages=N" or "hugepages=<node>:<count>,..." in its cmdline)`;
    if (pool.sizeKiB !== TWO_MIB_KIB && pool.sizeKiB !== ONE_GIB_KIB)
      return `topology ${t.name} asks for a boot-time pool of pages that are neither 2 MiB nor 1 GiB (hugepagesz=): numacage reads those two pools only`;
    return undefined;
  },
  steps: ({ roles: { p }, topology }) => [
    {
      name: 'hugetlb-boot',
      script: 'hugetlb-boot.sh',
      env: { P: p, SIZE_KB: bootPoolAsked(topology)?.sizeKiB ?? TWO_MIB_KIB },
    },
  ],
  parse(raw) {
    const s = sectionsOrLacks(raw, 'hugetlb-boot', 'the kernel has no HugeTLB pages of the size asked for');
    const pool = keyValues(section(s, 'pool', 'hugetlb-boot'));
    if (pool.total === undefined || pool.onp === undefined)
      throw new ProbeError(`the pool step printed ${JSON.stringify(pool)}`);
    const kernel = (s.kernel ?? '')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    return { total: pool.total, onP: pool.onp, kernel };
  },
  decide(o, { roles: { p }, topology }) {
    const { arg, total, byNode, sizeKiB } = bootPoolAsked(topology)!;
    const askedOnP = byNode?.[p] ?? 0;
    const room = sizeKiB === ONE_GIB_KIB ? gigantic1GRoom(topology) : undefined;
    const due = offPDue(total, byNode, p, room);
    const pages = sizeKiB === ONE_GIB_KIB ? '1 GiB pages' : 'huge pages';
    const problems: string[] = [];
    if (o.onP > 0) problems.push(`hugepages=${arg} at boot put ${o.onP} of its ${pages} on node ${p}`);
    if (o.total < due)
      problems.push(
        `the boot-time pool holds ${o.total} of the ${due} ${pages} asked for${askedOnP ? ` off node ${p}` : ''}${due < total - askedOnP ? ' that the other nodes have room for' : ''}`,
      );
    const passed = problems.length === 0;
    const roomNote = due < total - askedOnP ? ` (the other nodes have room for ${due} of the ${total - askedOnP})` : '';
    return {
      passed,
      summary: passed
        ? `hugepages=${arg}: ${askedOnP ? `the ${askedOnP} asked for on node ${p} refused, ` : ''}all ${o.total} off node ${p}${roomNote}`
        : problems[0]!,
      problems,
      evidence: {
        node: p,
        asked: total,
        ...(byNode ? { askedByNode: byNode } : {}),
        pageKiB: sizeKiB,
        ...(room ? { roomOffP: due, roomByNode: room } : {}),
        ...o,
      },
    };
  },
};

/** The pages that must be in the pool off P: all asked for off P, or as many as the other nodes have room for. */
function offPDue(
  total: number,
  byNode: Record<number, number> | undefined,
  p: number,
  room?: Record<number, number>,
): number {
  const offP = (n: string) => Number(n) !== p;
  if (byNode)
    return Object.entries(byNode)
      .filter(([n]) => offP(n))
      .reduce((sum, [n, count]) => sum + Math.min(count, room ? (room[Number(n)] ?? 0) : count), 0);
  if (!room) return total;
  return Math.min(
    total,
    Object.entries(room)
      .filter(([n]) => offP(n))
      .reduce((sum, [, r]) => sum + r, 0),
  );
}

interface CompactionObs {
  kcompactd: boolean;
  kswapd: boolean;
  /** Writing nodeP/compact: the write's answer and the pages compaction scanned meanwhile (kcompactd's own share taken out); null without VM event counters. */
  nodeCompact: { write: string; scanned: number | null };
  /** 256 pages bound to P across a global compaction; absent from placement checks when the bind was refused. */
  pages: {
    bindErrno: string | null;
    compactErrno: string | null;
    pfnsChanged: number;
    before: Record<string, number>;
    after: Record<string, number>;
    onPBefore: number;
    onPAfter: number;
  };
}

/**
 * No kcompactd or kswapd for P; writing nodeP/compact is refused or does
 * nothing (6.12 accepts every write, so the scan counters tell whether
 * compaction ran, with proactive compaction paused; a kernel without VM
 * event counters has none, which the report says); and pages bound to P
 * keep their frames across /proc/sys/vm/compact_memory (a changed frame
 * means compaction ran on P).
 */
export const compaction: InvariantSpec<CompactionObs> = {
  id: 'compaction',
  title: 'compaction is gated on P and never moves memory off it',
  expect: expect('fail', 'fail', 'pass', 'pass'),
  disturbs: false,
  witnessed: true,
  steps: ({ roles: { p } }) => [{ name: 'compaction', script: 'compaction.sh', env: { P: p } }],
  parse(raw, { roles: { p } }) {
    const s = sectionsOrLacks(raw, 'compaction', 'the kernel has no compaction (CONFIG_COMPACTION)');
    const threads = keyValues(section(s, 'threads', 'compaction'));
    const node = section(s, 'node-compact', 'compaction');
    const write = /^write (.*)$/m.exec(node)?.[1];
    const { scanned, counters } = keyValues(node);
    if (
      threads.kcompactd === undefined ||
      threads.kswapd === undefined ||
      write === undefined ||
      scanned === undefined ||
      counters === undefined
    )
      throw new ProbeError('the compaction step did not print the threads, the write and the scan count');
    const pagesText = section(s, 'pages', 'compaction');
    assertRanClean(pagesText, 'compact-pages');
    const [r] = recordsOf(parseRecords(pagesText), 'compact-pages', 'compact_memory');
    const { before, after } = placements(r!, 'compact-pages');
    return {
      kcompactd: threads.kcompactd === 1,
      kswapd: threads.kswapd === 1,
      nodeCompact: { write, scanned: counters ? scanned : null },
      pages: {
        bindErrno: errnoOf(r!, 'bind_errno'),
        compactErrno: errnoOf(r!, 'compact_errno'),
        pfnsChanged: num(r!, 'pfns_changed'),
        before: before!.toJSON(),
        after: after.toJSON(),
        onPBefore: before!.on(p),
        onPAfter: after.on(p),
      },
    };
  },
  decide(o, { roles: { p } }) {
    const problems: string[] = [];
    if (o.kcompactd) problems.push(`kcompactd${p} runs`);
    if (o.kswapd) problems.push(`kswapd${p} runs`);
    const scanned = o.nodeCompact.scanned;
    if (o.nodeCompact.write === 'ok' && scanned)
      problems.push(`writing node${p}/compact compacted: ${scanned} pages scanned`);
    if (o.pages.compactErrno)
      throw new ProbeError(`writing /proc/sys/vm/compact_memory failed with ${o.pages.compactErrno}`);
    if (o.pages.onPAfter < o.pages.onPBefore)
      problems.push(
        `compact_memory moved ${o.pages.onPBefore - o.pages.onPAfter} of ${o.pages.onPBefore} pages off node ${p}`,
      );
    // Pages bound to P that changed frame: compaction ran on P, even if it kept them there.
    else if (o.pages.onPBefore && o.pages.pfnsChanged > 0)
      problems.push(
        `compact_memory moved ${o.pages.pfnsChanged} of ${o.pages.onPBefore} bound pages within node ${p}: compaction runs there`,
      );
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? `no kcompactd${p} or kswapd${p}; node${p}/compact ${o.nodeCompact.write !== 'ok' ? 'refused' : scanned === null ? 'accepted (its effect unmeasured: no VM event counters)' : 'scanned nothing'}; ${o.pages.onPBefore ? `${o.pages.onPBefore} bound pages stayed put on node ${p}` : `no user page could be put on node ${p} (${o.pages.bindErrno})`}`
        : problems.join('; '),
      problems,
      evidence: { node: p, ...o },
      placements: o.pages
        ? [chart(`256 pages bound to ${p} across compact_memory`, { before: o.pages.before, after: o.pages.after })]
        : [],
    };
  },
};

interface ThpCase {
  memory: 'anon' | 'shmem';
  collapse: { ret: number; errno: string | null };
  hugeKiB: number;
  pages: number;
  onPAfter: number;
  before: Record<string, number>;
  after: Record<string, number>;
}

interface ThpObs {
  cases: ThpCase[];
}

/** Needs user pages on P: n/a on a private kernel, where bind-optin proves none can get there. */
const needPagesOnP = (what: string, bindErrno: string | null, before: Placement, p: number) => {
  if (bindErrno || before.on(p) !== before.total)
    throw new ProbeError(
      `${what} could not put its pages on node ${p} (mbind ${bindErrno ?? 'ok'}, placement ${JSON.stringify(before.toJSON())})`,
    );
};

/** The THP sections of the step: anonymous memory, then shmem (a shared memfd). */
const THP_CASES = [
  ['thp', 'anon'],
  ['thp-shmem', 'shmem'],
] as const;

/**
 * MADV_COLLAPSE of 4 MiB bound to P, anonymous and shmem: khugepaged's and
 * MADV_COLLAPSE's new huge page is the kernel's allocation, so none may be
 * made on P, and no page may leave it.
 */
export const thp: InvariantSpec<ThpObs> = {
  id: 'thp',
  title: 'no THP collapse on P, and collapse never moves memory off P',
  expect: expect('fail', 'fail', 'n/a', 'pass'),
  disturbs: false,
  witnessed: true,
  steps: ({ roles: { p } }) => [{ name: 'thp', script: 'thp.sh', env: { P: p } }],
  parse(raw, { roles: { p } }) {
    const s = sectionsOrLacks(raw, 'thp', 'the kernel has no transparent huge pages (CONFIG_TRANSPARENT_HUGEPAGE)');
    const cases = THP_CASES.map(([name, memory]): ThpCase => {
      const text = section(s, name, 'thp');
      assertRanClean(text, name);
      const [r] = recordsOf(parseRecords(text), 'thp', 'madvise');
      if (r!.memory !== memory) throw new ProbeError(`${name}: the probe collapsed ${String(r!.memory)} memory`);
      const { before, after, pages } = placements(r!, name);
      needPagesOnP(name, errnoOf(r!, 'bind_errno'), before!, p);
      return {
        memory,
        collapse: { ret: num(r!, 'ret'), errno: errnoOf(r!) },
        hugeKiB: num(r!, 'huge_kb'),
        pages,
        onPAfter: after.on(p),
        before: before!.toJSON(),
        after: after.toJSON(),
      };
    });
    return { cases };
  },
  decide(o, { roles: { p } }) {
    const problems: string[] = [];
    for (const c of o.cases) {
      if (c.hugeKiB > 0) problems.push(`${c.memory}: MADV_COLLAPSE made ${c.hugeKiB} kB of huge pages on node ${p}`);
      if (c.onPAfter < c.pages)
        problems.push(`${c.memory}: collapse moved ${c.pages - c.onPAfter} of ${c.pages} pages off node ${p}`);
    }
    const passed = problems.length === 0;
    const answer = (c: ThpCase) => `${c.memory} ${c.collapse.errno ?? c.collapse.ret}`;
    return {
      passed,
      summary: passed
        ? `no huge page made on node ${p}, all pages stayed (MADV_COLLAPSE: ${o.cases.map(answer).join(', ')})`
        : problems[0]!,
      problems,
      evidence: { ...o },
      placements: o.cases.map((c) =>
        chart(`${c.pages} ${c.memory} pages bound to ${p}, then MADV_COLLAPSE`, { before: c.before, after: c.after }),
      ),
    };
  },
};

interface KsmObs {
  pPfns: number[];
  cPfns: number[];
  waitedMs: number;
  stats: Record<string, number>;
}

const KSM_WAIT_S = 20;
const samePfn = (pfns: number[]) => pfns[0] !== 0 && pfns[0] === pfns[1];

/** A control pair on C must merge (proof that ksmd ran); the identical pair on P must not. */
export const ksm: InvariantSpec<KsmObs> = {
  id: 'ksm',
  title: 'KSM never merges pages on P',
  expect: expect('fail', 'fail', 'n/a', 'pass'),
  disturbs: false,
  steps: ({ roles: { c, p } }) => [{ name: 'ksm', script: 'ksm.sh', env: { C: c, P: p, KSM_WAIT_S } }],
  parse(raw, { roles: { c, p } }) {
    const s = sectionsOrLacks(raw, 'ksm', 'the kernel has no KSM (CONFIG_KSM)');
    const text = section(s, 'merge', 'ksm');
    assertRanClean(text, 'ksm');
    const [r] = recordsOf(parseRecords(text), 'ksm', 'merge');
    const pPfns = r!.p_pfns as number[];
    const cPfns = r!.c_pfns as number[];
    if (!Array.isArray(pPfns) || !Array.isArray(cPfns)) throw new ProbeError('the ksm record has no PFNs');
    needPagesOnP('ksm', null, Placement.of(r!.placement, 2, 'ksm pair on P'), p);
    if (Placement.of((r!.control as { placement?: unknown } | undefined)?.placement, 2, 'ksm control pair').on(c) !== 2)
      throw new ProbeError(`the control pair is not on node ${c}`);
    if (!samePfn(cPfns))
      throw new ProbeError(
        `KSM did not merge the control pair on node ${c} within ${KSM_WAIT_S} s (PFNs ${cPfns.join(', ')}): ksmd never answered`,
      );
    return { pPfns, cPfns, waitedMs: num(r!, 'waited_ms'), stats: keyValues(section(s, 'stats', 'ksm')) };
  },
  decide(o, { roles: { c, p } }) {
    const merged = samePfn(o.pPfns);
    return {
      passed: !merged,
      summary: merged
        ? `two identical pages on node ${p} were merged into PFN ${o.pPfns[0]}`
        : `the control pair on node ${c} merged, the pair on node ${p} did not`,
      problems: merged ? [`KSM merged the MADV_MERGEABLE pair on node ${p} (PFNs ${o.pPfns.join(', ')})`] : [],
      evidence: { ...o },
    };
  },
};

interface NumaBalancingObs {
  ended: string;
  seconds: number;
  hintFaults: number;
  hintFaultsLocal: number;
  pteUpdates: number;
  /** Complete passes of the scanner over the mm (-1: the kernel does not show its scan sequence). */
  scanPasses: number;
  pages: number;
  leftP: number;
  before: Record<string, number>;
  after: Record<string, number>;
  tunables: string;
}

const NUMA_BALANCING_LIMIT_S = 20;
const SCAN_TUNABLES = { scan_delay_ms: 100, scan_period_min_ms: 100, scan_size_mb: 256 };

/**
 * Pages on P, touched from a CPU of C, with a control range on C in the same
 * mapping. The scanner is sped up through its debugfs tunables; the probe
 * stops when P's pages move (a failure), or when the scanner has made two
 * complete passes over the mm (its scan sequence in /proc/self/sched) or the
 * control range has taken two passes' worth of local hinting faults, never
 * on P alone. No pass within the limit is a probe error.
 */
export const numaBalancing: InvariantSpec<NumaBalancingObs> = {
  id: 'numa-balancing',
  title: "NUMA balancing never migrates P's pages",
  expect: expect('fail', 'fail', 'n/a', 'pass'),
  disturbs: false,
  witnessed: true,
  steps: ({ roles: { c, p, cpuOfC } }) => [
    {
      name: 'numa-balancing',
      script: 'numa-balancing.sh',
      env: {
        C: c,
        P: p,
        CPU_OF_C: cpuOfC,
        NUMA_BALANCING_LIMIT_S,
        SCAN_TUNABLES: Object.entries(SCAN_TUNABLES)
          .map(([name, value]) => `${name}=${value}`)
          .join(' '),
      },
      timeoutMs: (NUMA_BALANCING_LIMIT_S + 30) * 1000,
    },
  ],
  parse(raw, { roles: { p } }) {
    const s = sectionsOrLacks(raw, 'numa-balancing', 'the kernel has no NUMA balancing (CONFIG_NUMA_BALANCING)');
    const text = section(s, 'hammer', 'numa-balancing');
    assertRanClean(text, 'numa-balancing');
    const [r] = recordsOf(parseRecords(text), 'numa-balancing', 'hammer');
    const { before, after, pages } = placements(r!, 'numa-balancing');
    if (num(r!, 'move_ret') !== 0 || before!.on(p) !== pages)
      throw new ProbeError(
        `the pages could not be moved to node ${p} first (move_pages ${num(r!, 'move_ret')}, placement ${JSON.stringify(before!.toJSON())})`,
      );
    const o: NumaBalancingObs = {
      ended: String(r!.ended),
      seconds: num(r!, 'seconds'),
      hintFaults: num(r!, 'hint_faults'),
      hintFaultsLocal: num(r!, 'hint_faults_local'),
      pteUpdates: num(r!, 'pte_updates'),
      scanPasses: num(r!, 'scan_passes'),
      pages,
      leftP: pages - after.on(p),
      before: before!.toJSON(),
      after: after.toJSON(),
      tunables:
        section(s, 'tunables', 'numa-balancing').trim().split('\n').filter(Boolean).join(' ') || 'none (defaults)',
    };
    if (o.leftP === 0 && o.ended !== 'scanned')
      throw new ProbeError(
        `the NUMA scanner made no two passes within ${o.seconds} s (${o.scanPasses < 0 ? 'no scan sequence shown' : `${o.scanPasses} passes`}, ${o.hintFaultsLocal} local hinting faults, ${o.pteUpdates} PTE updates)`,
      );
    return o;
  },
  decide(o, { roles: { p } }) {
    const passed = o.leftP === 0;
    return {
      passed,
      summary: passed
        ? `all ${o.pages} pages stayed on node ${p} while the scanner made ${o.scanPasses >= 2 ? `${o.scanPasses} passes` : `two passes (${o.hintFaultsLocal} local hinting faults)`} in ${o.seconds.toFixed(1)} s`
        : `${o.leftP} of ${o.pages} pages migrated off node ${p} in ${o.seconds.toFixed(1)} s`,
      problems: passed ? [] : [`NUMA balancing moved ${o.leftP} pages from node ${p} (now ${JSON.stringify(o.after)})`],
      evidence: { ...o },
      placements: [chart(`${o.pages} pages on ${p}, touched from C`, { before: o.before, after: o.after })],
    };
  },
};

interface DemotionObs {
  tiers: MemoryTiers;
  /** With HMAT: demotion enabled and C pressed. */
  pressure?: { fill: FillResult; pgdemote: Record<string, number>; demotionWas: string };
}

const hasHmat = (nodes: { hmat?: unknown }[]) => nodes.some((n) => n.hmat);

/**
 * P must be in no memory tier. Where HMAT makes P slower (a stock kernel
 * then puts it in a lower tier, a demotion target), demotion is also enabled
 * and C pressed by a fill bound to C (so that it cannot simply fall back to
 * P and C's reclaim has to demote): the pgdemote counters and P's AnonPages
 * must stay flat.
 */
export const demotion: InvariantSpec<DemotionObs> = {
  id: 'demotion',
  title: 'P is not a demotion target',
  expect: expect('fail', 'fail', 'pass', 'pass'),
  disturbs: true,
  steps: ({ roles: { c, p }, topology }) => [
    { name: 'demotion', script: 'demotion.sh' },
    ...(hasHmat(topology.nodes)
      ? [
          {
            name: 'demotion-pressure',
            script: 'demotion-pressure.sh',
            env: { C: c, P: p, KEEP_MIB: 640, MARGIN_MIB: 256 },
            timeoutMs: 180_000,
          },
        ]
      : []),
  ],
  parse(raw, { roles: { c }, topology }) {
    const s0 = parseSections(rawOf(raw, 'demotion'));
    if ('none' in s0) throw new KernelLacks('the kernel has no memory tiers (/sys/devices/virtual/memory_tiering)');
    const tiers = parseMemoryTiers(section(s0, 'tiers', 'demotion'));
    // Every node with memory sits in exactly one tier: a listing without C's is cut short or wrong.
    if (!tiers.tiers.some((t) => t.nodes.includes(c)))
      throw new ProbeError(
        `node ${c} is in no memory tier: the tier listing is incomplete (${JSON.stringify(tiers.tiers)})`,
      );
    if (!hasHmat(topology.nodes)) return { tiers };
    const text = rawOf(raw, 'demotion-pressure');
    const s = parseSections(text);
    const before = keyValues(section(s, 'vmstat-before', 'demotion-pressure'));
    const after = keyValues(section(s, 'vmstat-after', 'demotion-pressure'));
    const pgdemote = Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - (before[k] ?? 0)]));
    return {
      tiers,
      pressure: {
        fill: parseFill(text, 'demotion pressure'),
        pgdemote,
        demotionWas: section(s, 'demotion-was', 'demotion-pressure').trim(),
      },
    };
  },
  decide(o, { roles: { p } }) {
    const holding = o.tiers.tiers.filter((t) => t.nodes.includes(p)).map((t) => t.name);
    const problems = holding.map((t) => `node ${p} is listed in /sys/devices/virtual/memory_tiering/${t}/nodelist`);
    if (o.pressure) {
      for (const [k, v] of Object.entries(o.pressure.pgdemote))
        if (v > 0) problems.push(`${k} rose by ${v} while C was pressed with demotion enabled`);
      const rise = o.pressure.fill.anonPagesKiB.after - o.pressure.fill.anonPagesKiB.before;
      if (rise > 0) problems.push(`node ${p}'s AnonPages rose by ${rise} kB while C was pressed`);
    }
    const demoted = Object.values(o.pressure?.pgdemote ?? {}).reduce((a, b) => a + b, 0);
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? `node ${p} is in no memory tier${o.pressure ? '; pressing C with demotion enabled demoted nothing' : ''}`
        : [
            holding.length ? `node ${p} is in ${holding.join(', ')}` : '',
            demoted ? `pressing C demoted ${demoted} pages` : '',
          ]
            .filter(Boolean)
            .join('; ') || problems[0]!,
      problems,
      evidence: { node: p, ...o },
    };
  },
};
