import type { Topology } from '../../model/topology.js';
import { KernelLacks, ProbeError } from '../errors.js';
import { parseSections, section } from '../records.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';
import { hex, nodeRanges, nodeRangesText, type Range } from './devices.js';

const PAGE = 4096;
const MIB = 1024 * 1024;

/** The command-line words that reserve memory at boot, which the kernel places where it finds room. */
const RESERVATION_WORDS = ['cma', 'cma_pernuma', 'numa_cma', 'hugetlb_cma', 'crashkernel'] as const;
type Word = (typeof RESERVATION_WORDS)[number];

/** The reservation words the topology's command line asks for, each with its value (the last, as the kernel keeps it). Pure. */
function reservationsAsked(t: Topology): Partial<Record<Word, string>> {
  const asked: Partial<Record<Word, string>> = {};
  for (const arg of t.cmdline) {
    const at = arg.indexOf('=');
    const word = arg.slice(0, at) as Word;
    if (at > 0 && RESERVATION_WORDS.includes(word)) asked[word] = arg.slice(at + 1);
  }
  return asked;
}

/** x86-64's low part of crashkernel=<size>,high when no crashkernel=<size>,low says otherwise (DEFAULT_CRASH_KERNEL_LOW_SIZE). */
const CRASH_LOW_DEFAULT_MIB = 256;

const sizeMiB = (word: string) => {
  const m = /^(\d+)([KMG]?)$/i.exec(word);
  return m
    ? Number(m[1]) * { '': 1 / 1024 / 1024, K: 1 / 1024, M: 1, G: 1024 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G']
    : 0;
};

/**
 * The memory crashkernel= takes out of the nodes' MemTotal wherever the kernel puts it: its size (the
 * largest of a range list's), and with ",high" also the low part. Pure.
 */
export function crashKernelMiB(cmdline: string[]): number {
  const words = cmdline.filter((a) => a.startsWith('crashkernel=')).map((a) => a.slice('crashkernel='.length));
  const main = words.filter((w) => !w.endsWith(',low')).at(-1);
  if (main === undefined) return 0;
  const size = Math.max(
    ...main
      .replace(/,high$/, '')
      .replace(/@.*$/, '')
      .split(',')
      .map((r) => sizeMiB(r.split(':').at(-1)!)),
  );
  if (!main.endsWith(',high')) return size;
  const low = words.filter((w) => w.endsWith(',low')).at(-1);
  return size + (low === undefined ? CRASH_LOW_DEFAULT_MIB : sizeMiB(low.slice(0, -',low'.length)));
}

interface Area {
  /** The CMA area's debugfs name (reserved, pernumaN, numaN, hugetlbN), or "crash kernel". */
  name: string;
  start: number;
  end: number;
}

interface BootReserveObs {
  /** P's guest-physical ranges: its memory blocks, which QEMU's map of its backend confirms. */
  ranges: Range[];
  areas: Area[];
  /** CMA pages /proc/zoneinfo counts in P's zones: every CMA area there, named or not. */
  zoneCmaPagesOnP: number;
  /** The asked words the kernel did not know (its "Unknown kernel command line parameters" line). */
  ignored: Word[];
  /** The kernel's own lines on these reservations. */
  kernel: string[];
}

/** Areas in the order a reader weighs them: the default area serves every node's devices, the crash kernel runs after a panic. */
const AREA_ORDER = ['reserved', 'crash kernel', 'numa', 'pernuma', 'hugetlb'];
const rank = (a: Area) => AREA_ORDER.findIndex((prefix) => a.name.startsWith(prefix));

const overlap = (a: Area, r: Range) => Math.max(0, Math.min(a.end, r.end) - Math.max(a.start, r.start));
const onNode = (a: Area, ranges: Range[]) => ranges.reduce((sum, r) => sum + overlap(a, r), 0);
const areaText = (a: Area) => `${a.name} (${(a.end - a.start) / MIB} MiB at ${hex(a.start)})`;

/** `name base_pfn count` lines of the debugfs CMA areas; empty areas (never activated) left out. Pure. */
function parseCmaAreas(text: string): Area[] {
  return [...text.matchAll(/^(\S+) (\d+) (\d+)$/gm)]
    .filter((m) => Number(m[3]) > 0)
    .map((m) => ({ name: m[1]!, start: Number(m[2]) * PAGE, end: (Number(m[2]) + Number(m[3])) * PAGE }));
}

/** /proc/iomem's `start-end : Crash kernel` lines (inclusive ends), as root reads them. Pure. */
function parseCrashRanges(text: string): Area[] {
  return [...text.matchAll(/^\s*([0-9a-f]+)-([0-9a-f]+) : Crash kernel$/gm)].map((m) => ({
    name: 'crash kernel',
    start: parseInt(m[1]!, 16),
    end: parseInt(m[2]!, 16) + 1,
  }));
}

/** The words of the kernel's `Unknown kernel command line parameters "..."` line. Pure. */
function unknownWords(kernel: string[]): string[] {
  const line = kernel.map((l) => /Unknown kernel command line parameters "([^"]*)"/.exec(l)?.[1]).find(Boolean);
  return line ? line.split(/\s+/).map((w) => w.split('=')[0]!) : [];
}

/** The areas a reservation word asked for that must exist, on any kernel that knows the word: else dropping it would pass. */
function areasDue(asked: Partial<Record<Word, string>>, ignored: Word[], c: number): { word: string; area: string }[] {
  const due: { word: string; area: string }[] = [];
  const known = (w: Word) => asked[w] !== undefined && !ignored.includes(w);
  if (known('cma')) due.push({ word: `cma=${asked.cma}`, area: 'reserved' });
  if (known('cma_pernuma')) due.push({ word: `cma_pernuma=${asked.cma_pernuma}`, area: `pernuma${c}` });
  if (known('numa_cma') && asked.numa_cma!.split(',').some((pair) => pair.split(':')[0] === String(c)))
    due.push({ word: `numa_cma=${asked.numa_cma}`, area: `numa${c}` });
  if (known('crashkernel')) due.push({ word: `crashkernel=${asked.crashkernel}`, area: 'crash kernel' });
  return due;
}

/**
 * Memory the command line reserves at boot without naming a node, or on
 * every node (finding 3 of issue 22): the default CMA area (cma=), the
 * per-node DMA areas (cma_pernuma=, numa_cma=), the gigantic-page areas
 * (hugetlb_cma=) and the crash kernel (crashkernel=). None may lie on P: CMA
 * areas serve the DMA of every node's devices, the crash kernel runs after a
 * panic, and P's owner never asked for either. A ,user node may hold its own
 * hugetlb area (user memory by an explicit bind, as its gigantic boot pages).
 * Each area asked for must still exist where the other nodes have room (C
 * has room for all but hugetlb_cma's aligned GiB on numacage's layouts), or
 * a kernel that drops the word would pass. CMA areas are free pages the
 * boot-data count never sees; P's zones' CMA count must match the named ones.
 */
export const bootReserve: InvariantSpec<BootReserveObs> = {
  id: 'boot-reserve',
  title: 'no boot-time reservation (cma=, cma_pernuma=, numa_cma=, hugetlb_cma=, crashkernel=) lands on P',
  expect: expect('fail', 'fail', 'pass', 'pass'),
  disturbs: false,
  unsupported(t, { p }) {
    if (t.nodes.find((n) => n.id === p)?.hotplug)
      return `node ${p} is hot-plugged in topology ${t.name}: no boot-time reservation can land on it`;
    if (!Object.keys(reservationsAsked(t)).length)
      return `topology ${t.name} asks for no boot-time reservation (${RESERVATION_WORDS.map((w) => `${w}=`).join(', ')} in its cmdline)`;
    return undefined;
  },
  steps: ({ roles: { p } }) => [
    { name: 'boot-reserve', script: 'boot-reserve.sh' },
    { name: 'boot-reserve-ranges', run: (host) => nodeRangesText(host, p) },
  ],
  parse(raw, { roles: { p }, topology }) {
    const s = parseSections(rawOf(raw, 'boot-reserve'));
    const kernel = (s.kernel ?? '')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const asked = Object.keys(reservationsAsked(topology)) as Word[];
    const unknown = unknownWords(kernel);
    const ignored = asked.filter((w) => unknown.includes(w));
    if (ignored.length === asked.length)
      throw new KernelLacks(
        `the kernel knows none of ${asked.map((w) => `${w}=`).join(', ')} (no CONFIG_CMA, no CONFIG_CRASH_RESERVE)`,
      );
    const cmaText = section(s, 'cma', 'boot-reserve');
    const cmaAsked = asked.some((w) => w !== 'crashkernel' && !ignored.includes(w));
    if (cmaAsked && cmaText.trim() === 'no-debugfs')
      throw new KernelLacks(
        'the kernel has CMA but no /sys/kernel/debug/cma to name its areas by (CONFIG_CMA_DEBUGFS)',
      );
    const zoneCma = [...section(s, 'zone-cma', 'boot-reserve').matchAll(/^(\d+) (\S+) (\d+)$/gm)];
    if (!zoneCma.length) throw new ProbeError('/proc/zoneinfo printed no cma count for any zone');
    return {
      ranges: nodeRanges(parseSections(rawOf(raw, 'boot-reserve-ranges')), p, 'boot-reserve-ranges').guestRanges,
      areas: [...parseCmaAreas(cmaText), ...parseCrashRanges(section(s, 'crash', 'boot-reserve'))].sort(
        (a, b) => rank(a) - rank(b) || a.start - b.start,
      ),
      zoneCmaPagesOnP: zoneCma.filter((m) => Number(m[1]) === p).reduce((sum, m) => sum + Number(m[3]), 0),
      ignored,
      kernel,
    };
  },
  decide(o, { roles: { c, p }, topology, profile }) {
    const ownArea = `hugetlb${p}`;
    const allowed = (a: Area) => a.name === ownArea && profile === 'private-user';
    const onP = o.areas.filter((a) => onNode(a, o.ranges) > 0);
    const problems = onP
      .filter((a) => !allowed(a))
      .map(
        (a) =>
          `${areaText(a)} lies on node ${p}${a.name === ownArea ? `, whose pool may not grow without ",user"` : ''}`,
      );
    const namedCmaPages =
      onP.filter((a) => a.name !== 'crash kernel').reduce((sum, a) => sum + onNode(a, o.ranges), 0) / PAGE;
    if (o.zoneCmaPagesOnP > namedCmaPages)
      problems.push(
        `node ${p}'s zones count ${o.zoneCmaPagesOnP} CMA pages, the areas named on it ${namedCmaPages}: an area debugfs does not show`,
      );
    for (const { word, area } of areasDue(reservationsAsked(topology), o.ignored, c))
      if (!o.areas.some((a) => a.name === area))
        problems.push(
          `${word}: no ${area} area, though node ${c} has room for it (the kernel dropped it rather than place it)`,
        );
    const passed = problems.length === 0;
    const offP = o.areas.filter((a) => !onP.includes(a));
    const notes = [
      ...(onP.some(allowed) ? [`${ownArea} on it, allowed with ",user"`] : []),
      ...(o.ignored.length ? [`ignored by the kernel: ${o.ignored.map((w) => `${w}=`).join(' ')}`] : []),
    ];
    return {
      passed,
      summary: passed
        ? [`${offP.length ? offP.map(areaText).join(', ') : 'no area reserved'} off node ${p}`, ...notes].join('; ')
        : problems[0]!,
      problems,
      evidence: {
        node: p,
        ranges: o.ranges.map((r) => `${hex(r.start)}-${hex(r.end)}`),
        areas: o.areas.map((a) => ({
          name: a.name,
          at: hex(a.start),
          mib: (a.end - a.start) / MIB,
          onP: onP.includes(a),
        })),
        zoneCmaPagesOnP: o.zoneCmaPagesOnP,
        ignored: o.ignored,
        kernel: o.kernel,
      },
    };
  },
};
