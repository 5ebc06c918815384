import { chart } from '../../model/verdict.js';
import { parseCpuList } from '../../topology/schema.js';
import { KernelLacks, ProbeError } from '../errors.js';
import { keyValues, parseRecords, parseSections, placements, recordsOf, section } from '../records.js';
import { assertRanClean } from '../shell.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';
import { memsAnswer } from './confinement.js';

/** Agents that move or place other tasks' memory by the node they are given: none may choose P for memory that never asked for it. */

const DAMON_WAIT_S = 20;
const DAMON_PAGES = 64;

interface DamonObs {
  /** What target_nid read back after the write of P (or the write's error). */
  targetNid: string;
  bytes: number;
  stats: { nr_tried: number; sz_tried: number; nr_applied: number; sz_applied: number };
  waitedS: number;
  pages: number;
  onP: number;
  before: Record<string, number>;
  after: Record<string, number>;
}

/**
 * A DAMON migrate_cold scheme with target_nid P (root's), over the physical
 * ranges of 64 pages an unbound task faulted on C. DAMON migrates by physical
 * address, whoever's the pages are: without the opt-in nothing may land on P,
 * and the scheme must have been tried on every byte of its ranges, or the
 * check has not seen it run. With ",user" the target is as allowed as root's
 * move_pages(2) to P (n/a).
 */
export const damonMigrate: InvariantSpec<DamonObs> = {
  id: 'damon-migrate',
  title: "DAMON's migrate schemes move nothing onto P without the opt-in",
  expect: expect('fail', 'fail', 'pass', 'n/a'),
  disturbs: true,
  witnessed: true,
  steps: ({ roles: { p } }) => [
    { name: 'damon-migrate', script: 'damon-migrate.sh', env: { P: p, DAMON_PAGES, DAMON_WAIT_S }, timeoutMs: 90_000 },
  ],
  parse(raw, { roles: { p } }) {
    const what = 'damon-migrate';
    const text = rawOf(raw, what);
    const s = parseSections(text);
    if ('none' in s)
      throw new KernelLacks('the kernel has no DAMON for physical memory (CONFIG_DAMON_PADDR, CONFIG_DAMON_SYSFS)');
    const busy = /^busy: (.*)$/m.exec(text);
    if (busy) throw new ProbeError(`${what}: DAMON was in use before the check (${busy[1]}), not numacage's to reset`);
    const setup = section(s, 'setup', what);
    const target = /^target_nid (.*)$/m.exec(setup);
    const { bytes } = keyValues(setup);
    if (!target || !bytes) throw new ProbeError(`${what}: the scheme was not set up: ${setup.trim()}`);
    const stats = keyValues(section(s, 'stats', what));
    const { nr_tried, sz_tried, nr_applied, sz_applied, waited } = stats;
    if ([nr_tried, sz_tried, nr_applied, sz_applied, waited].some((v) => v === undefined))
      throw new ProbeError(`${what}: the scheme's stats were not read (${JSON.stringify(stats)})`);
    const pagesText = section(s, 'pages', what);
    assertRanClean(pagesText, what);
    const [r] = recordsOf(parseRecords(pagesText), 'damon-target', 'after');
    const { before, after, pages } = placements(r!, what);
    if (pages !== DAMON_PAGES) throw new ProbeError(`${what}: the probe faulted ${pages} pages, not ${DAMON_PAGES}`);
    return {
      targetNid: target[1]!.trim(),
      bytes,
      stats: { nr_tried: nr_tried!, sz_tried: sz_tried!, nr_applied: nr_applied!, sz_applied: sz_applied! },
      waitedS: waited!,
      pages,
      onP: after.on(p),
      before: before?.toJSON() ?? {},
      after: after.toJSON(),
    };
  },
  decide(o, { roles: { c, p } }) {
    const { onP } = o;
    if ((o.before[String(c)] ?? 0) !== o.pages)
      throw new ProbeError(
        `the task's ${o.pages} pages were not all on node ${c} before DAMON (${JSON.stringify(o.before)})`,
      );
    if (o.stats.sz_tried < o.bytes && onP === 0)
      throw new ProbeError(
        `DAMON tried the scheme on ${o.stats.sz_tried} of its ${o.bytes} bytes in ${o.waitedS} s: it has not been seen to run over the task's pages`,
      );
    const problems: string[] = [];
    if (onP > 0) problems.push(`migrate_cold to node ${p} moved ${onP} of the task's ${o.pages} pages onto it`);
    if (o.stats.sz_applied > 0)
      problems.push(`the scheme applied its action to ${o.stats.sz_applied} bytes (${o.stats.nr_applied} regions)`);
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? `target_nid ${o.targetNid}: tried on ${o.stats.sz_tried} bytes, applied to none, all ${o.pages} pages still on node ${c}`
        : problems.join('; '),
      problems,
      evidence: { ...o },
      placements: [chart(`${o.pages} pages under a migrate_cold scheme to ${p}`, { before: o.before, after: o.after })],
    };
  },
};

const SPREAD_MIB = 16;

interface SpreadObs {
  mems: ReturnType<typeof memsAnswer>;
  pages?: number;
  placement?: Record<string, number>;
}

/**
 * cgroup v1's memory_spread_page: page cache written by a task of a cpuset
 * with mems {C,C2,P} is spread round-robin over its mems. Spreading is no
 * request for P: the file's pages must land on C and C2, both of them (or
 * spreading has not been seen at all), and none on P.
 */
export const memorySpread: InvariantSpec<SpreadObs> = {
  id: 'memory-spread',
  title: "a cpuset's memory_spread_page spreads no page cache onto P",
  expect: expect('fail', 'fail', 'pass', 'pass'),
  /** It takes the cpuset controller from cgroup v2 for the time of a v1 mount. */
  disturbs: true,
  unsupported: (t, { c2 }) =>
    c2 === undefined ? `topology ${t.name} has no ordinary node besides C (C2) to spread over` : undefined,
  steps: ({ roles: { c, p, c2 } }) =>
    c2 === undefined
      ? []
      : [{ name: 'memory-spread', script: 'memory-spread.sh', env: { C: c, C2: c2, P: p, SPREAD_MIB } }],
  parse(raw) {
    const what = 'memory-spread';
    const s = parseSections(rawOf(raw, what));
    if ('none' in s) throw new KernelLacks('the kernel has no cgroup v1 cpuset files (CONFIG_CPUSETS_V1)');
    const setup = section(s, 'setup', what);
    const mems = memsAnswer(setup, what);
    if (!mems.accepted) return { mems };
    if (!/^spread 1$/m.test(setup)) throw new ProbeError(`${what}: memory_spread_page did not read back 1`);
    const file = section(s, 'file', what);
    assertRanClean(file, what);
    const [r] = recordsOf(parseRecords(file), 'spread-file', 'write');
    const { after, pages } = placements(r!, what);
    return { mems, pages, placement: after.toJSON() };
  },
  decide(o, { roles: { c, p, c2 } }) {
    if (!o.mems.accepted)
      throw new ProbeError(`the cpuset's mems ${c},${c2},${p} were refused (${o.mems.reason}): nothing to spread over`);
    const effective = parseCpuList(o.mems.effective);
    if (effective?.join(',') !== [c, p, c2!].sort((a, b) => a - b).join(','))
      throw new ProbeError(`the cpuset's effective mems are ${o.mems.effective}, not ${c},${p},${c2}`);
    const on = (n: number) => o.placement![String(n)] ?? 0;
    if (on(p) === 0 && (on(c) === 0 || on(c2!) === 0))
      throw new ProbeError(
        `the file's pages are not spread (${JSON.stringify(o.placement)}): memory_spread_page has not been seen to act`,
      );
    const passed = on(p) === 0;
    const summary = passed
      ? `${o.pages} page cache pages spread over nodes ${c} (${on(c)}) and ${c2} (${on(c2!)}), none on node ${p}`
      : `${on(p)} of ${o.pages} page cache pages spread onto node ${p}`;
    return {
      passed,
      summary,
      problems: passed ? [] : [summary],
      evidence: { ...o },
      placements: [
        chart(`a ${SPREAD_MIB} MiB file written in a cpuset {${c},${c2},${p}} spreading its pages`, {
          after: o.placement!,
        }),
      ],
    };
  },
};

interface OnlineObs {
  block: string;
  validZones: string;
  answer: string;
  state: string;
  zone: string;
  normalMemory: string;
  after: { state: string; zone: string };
}

const lineOf = (text: string, key: string, what: string): string => {
  const m = new RegExp(`^${key} (.*)$`, 'm').exec(text);
  if (!m) throw new ProbeError(`${what}: no "${key}" line`);
  return m[1]!.trim();
};

/**
 * (root) One of P's memory blocks offlined, then onlined with
 * "online_kernel": P must not gain a kernel zone, which would take kernel
 * allocations (SLUB adds a node with normal memory to its slab nodes). A
 * refusal passes, and so does the block landing in ZONE_MOVABLE anyway.
 */
export const onlineKernel: InvariantSpec<OnlineObs> = {
  id: 'online-kernel',
  title: 'onlining memory never gives P a kernel zone',
  expect: expect('fail', 'fail', 'pass', 'pass'),
  disturbs: true,
  steps: ({ roles: { p } }) => [
    { name: 'online-kernel', script: 'online-kernel.sh', env: { P: p }, timeoutMs: 90_000 },
  ],
  parse(raw) {
    const what = 'online-kernel';
    const s = parseSections(rawOf(raw, what));
    if ('none' in s) throw new KernelLacks('the kernel has no memory hotplug (CONFIG_MEMORY_HOTPLUG)');
    const offline = section(s, 'offline', what);
    const block = /^block (\S+) was \S+ valid_zones (.*)$/m.exec(offline);
    if (!block)
      throw new ProbeError(
        `${what}: none of the ${lineOf(offline, 'tried', what)} memory blocks of P tried could be offlined`,
      );
    const online = section(s, 'online-kernel', what);
    const after = section(s, 'after', what);
    return {
      block: block[1]!,
      validZones: block[2]!.trim(),
      answer: lineOf(online, 'answer', what),
      state: lineOf(online, 'state', what),
      zone: lineOf(online, 'zone', what),
      normalMemory: lineOf(online, 'normal_memory', what),
      after: { state: lineOf(after, 'state', what), zone: lineOf(after, 'zone', what) },
    };
  },
  decide(o, { roles: { p } }) {
    const problems: string[] = [];
    if (o.answer === 'ok' && o.zone !== 'Movable')
      problems.push(`online_kernel put ${o.block} of node ${p} in zone ${o.zone}`);
    if (parseCpuList(o.normalMemory)?.includes(p))
      problems.push(`node ${p} is in has_normal_memory (${o.normalMemory}): SLUB may keep slabs there`);
    const passed = problems.length === 0;
    const answered = o.answer === 'ok' ? `onlined into ${o.zone}` : `refused (${o.answer})`;
    return {
      passed,
      summary: passed
        ? `online_kernel of ${o.block} ${answered}; valid_zones offline: ${o.validZones}; node ${p} not in has_normal_memory`
        : problems.join('; '),
      problems,
      evidence: { ...o },
    };
  },
};
