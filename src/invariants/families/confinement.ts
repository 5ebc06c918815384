import { chart } from '../../model/verdict.js';
import type { Topology } from '../../model/topology.js';
import { fillPagesByNode, parseFill, type FillResult } from '../fill.js';
import {
  assertUnprivileged,
  errnoOf,
  num,
  parseRecords,
  parseSections,
  Placement,
  recordsOf,
  section,
  type ProbeRecord,
} from '../records.js';
import { KILLED } from '../shell.js';
import { parseCpuList } from '../../topology/parse.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';
import { KernelLacks, ProbeError } from '../errors.js';
import { optedIn } from './policy.js';

/** How a task run under await_bounded (guest/scripts/lib.sh) ended: hung = killed after its time, unkillable = not even then. */
export type Ending = { ended: 'exit'; status: number } | { ended: 'hung' | 'unkillable'; secs: number };

/** The last "# exit N", "# hung S" or "# unkillable S" line of a case, or a ProbeError. Pure. */
export function endingOf(text: string, what: string): Ending {
  const last = [...text.matchAll(/^# (exit|hung|unkillable) (\d+)$/gm)].at(-1);
  if (!last) throw new ProbeError(`${what}: the task's end was not reported`);
  const n = Number(last[2]);
  return last[1] === 'exit' ? { ended: 'exit', status: n } : { ended: last[1] as 'hung' | 'unkillable', secs: n };
}

/**
 * A bounded task's ending that can be judged: it exited 0, was killed (by the OOM killer, or an oops),
 * or did not end in time. Any other exit status is the probe's own failure, never the kernel's.
 */
export function judgeable(e: Ending, what: string): Ending {
  if (e.ended === 'exit' && e.status !== 0 && e.status !== KILLED)
    throw new ProbeError(
      `${what}: the probe exited ${e.status}${e.status === 126 || e.status === 127 ? ' (could not be run)' : ''}`,
    );
  return e;
}

export function describeEnding(e: Ending): string {
  if (e.ended !== 'exit')
    return e.ended === 'hung'
      ? `did not finish in ${e.secs} s (killed with cgroup.kill)`
      : `did not finish in ${e.secs} s, nor die of cgroup.kill 10 s later`;
  return e.status === KILLED ? 'was killed (SIGKILL)' : `exited ${e.status}`;
}

/** "mems-accepted EFFECTIVE" or "mems-refused REASON": what the kernel said to a cpuset.mems write. */
export function memsAnswer(
  text: string,
  what: string,
): { accepted: true; effective: string } | { accepted: false; reason: string } {
  const m = /^mems-(accepted|refused) ?(.*)$/m.exec(text);
  if (!m) throw new ProbeError(`${what}: the cpuset.mems write was not reported`);
  if (m[1] === 'refused' && !m[2]!.trim())
    throw new ProbeError(`${what}: the cpuset.mems write failed without a reason`);
  return m[1] === 'accepted' ? { accepted: true, effective: m[2]!.trim() } : { accepted: false, reason: m[2]!.trim() };
}

interface ConfinedTask {
  mems: ReturnType<typeof memsAnswer>;
  /** Absent when the kernel refused the mems. */
  ending?: Ending;
  /** Where the task's pages went (only-p: the fill; rebind: the pages faulted after the rebind). */
  placement?: Record<string, number>;
  onP?: number;
  pipeBytes?: number;
}

interface CpusetPrivateObs {
  onlyP: ConfinedTask;
  /** firstHalf: where the pages faulted before the rebind were, and are after it (a cpuset migrates them). */
  rebind: ConfinedTask & { firstHalf?: { before: Record<string, number>; after: Record<string, number> } };
  complaints: string[];
}

/** Where the fill's pages went, every step's placement checked; undefined before the first step. */
function fillPlacement(records: ProbeRecord[], what: string): Placement | undefined {
  const steps = records.filter((r) => r.probe === 'fill' && r.call === 'fault');
  if (!steps.length) return undefined;
  return Placement.of(
    fillPagesByNode(steps, what),
    steps.reduce((n, r) => n + num(r, 'pages'), 0),
    what,
  );
}

/** A task that faults 16 MiB (`stopped fill`) in a cpuset after a mems write: the write's answer, and the task's end and pages where it was accepted. */
function confinedFill(text: string, p: number, what: string): ConfinedTask {
  const mems = memsAnswer(text, what);
  if (!mems.accepted) return { mems };
  const ending = judgeable(endingOf(text, what), what);
  const records = parseRecords(text);
  if (ending.ended === 'exit' && ending.status === 0 && !records.some((r) => r.call === 'done'))
    throw new ProbeError(`${what}: the fill exited 0 without finishing`);
  const pl = fillPlacement(records, what);
  return { mems, ending, ...(pl ? { placement: pl.toJSON(), onP: pl.on(p) } : {}) };
}

function rebindCase(text: string, p: number): CpusetPrivateObs['rebind'] {
  const mems = memsAnswer(text, 'cpuset-private rebind');
  const ending = judgeable(endingOf(text, 'cpuset-private rebind'), 'cpuset-private rebind');
  const records = parseRecords(text).filter((x) => x.probe === 'interleave-rebind');
  const write = records.find((r) => r.call === 'write');
  const fault = records.find((r) => r.call === 'fault');
  if (ending.ended === 'exit' && ending.status === 0 && !fault)
    throw new ProbeError('cpuset-private rebind: the task exited 0 without its fault record');
  for (const r of records) assertUnprivileged(r, 'interleave-rebind');
  const base = { mems, ending, ...(write ? { pipeBytes: num(write, 'pipe_bytes') } : {}) };
  if (!fault) return base;
  const pages = num(fault, 'pages');
  const first = Placement.of(
    (fault.first_half as { placement?: unknown } | undefined)?.placement,
    pages,
    'rebind first half',
  );
  const firstAfter = Placement.of(
    (fault.first_half_after as { placement?: unknown } | undefined)?.placement,
    pages,
    'rebind first half, after',
  );
  const second = Placement.of(fault.placement, pages, 'rebind second half');
  return {
    ...base,
    firstHalf: { before: first.toJSON(), after: firstAfter.toJSON() },
    placement: second.toJSON(),
    onP: second.on(p),
  };
}

/**
 * A cpuset whose mems hold P alone would leave its tasks no memory an
 * ordinary allocation may use: a private-node kernel must refuse it (EINVAL),
 * both when it is set directly and when it is the target of a rebind. On a
 * kernel that accepts it, the tasks in it are watched: a fault that never
 * ends, a task killed, or an oops on the console is named. It disturbs: on
 * such a kernel it can leave tasks that never end, or crash the guest.
 */
export const cpusetPrivate: InvariantSpec<CpusetPrivateObs> = {
  id: 'cpuset-private',
  title: 'no cpuset confines tasks to P alone',
  expect: expect('fail', 'fail', 'pass', 'pass'),
  disturbs: true,
  witnessed: true,
  steps: ({ roles: { c, p } }) => [
    // Its cases are bounded by the clock (at most 2 x 25 s), but a kernel that loops printing a
    // complaint at every retried fault slows the guest's shell many times over: room for that.
    { name: 'cpuset-private', script: 'cpuset-private.sh', env: { C: c, P: p }, timeoutMs: 240_000 },
  ],
  parse(raw, { roles: { p } }) {
    const s = parseSections(rawOf(raw, 'cpuset-private'));
    return {
      onlyP: confinedFill(section(s, 'only-p', 'cpuset-private'), p, 'cpuset-private only-p'),
      rebind: rebindCase(section(s, 'rebind', 'cpuset-private'), p),
      complaints: section(s, 'complaints', 'cpuset-private').split('\n').filter(Boolean),
    };
  },
  decide(o, { roles: { p } }) {
    const problems: string[] = [];
    const judge = (name: string, k: ConfinedTask) => {
      if (!k.mems.accepted) {
        if (!/invalid argument/i.test(k.mems.reason))
          problems.push(`${name}: cpuset.mems=${p} refused with "${k.mems.reason}", expected EINVAL`);
        return;
      }
      const what =
        k.ending && (k.ending.ended !== 'exit' || k.ending.status !== 0)
          ? `its task ${describeEnding(k.ending)}`
          : undefined;
      problems.push(
        `${name}: cpuset.mems=${p} accepted${what ? `, and ${what}` : k.onP ? `: ${k.onP} pages landed on node ${p}` : ''}`,
      );
    };
    judge('set', o.onlyP);
    judge('rebind', o.rebind);
    if (o.complaints.length) problems.push(`the console: ${o.complaints[0]}`);
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed ? `cpuset.mems=${p} refused with EINVAL, directly and as a rebind target` : problems[0]!,
      problems,
      evidence: { ...o },
      placements: [
        ...(o.onlyP.placement ? [chart(`a task in cpuset.mems=${p}`, { pages: o.onlyP.placement })] : []),
        ...(o.rebind.placement && o.rebind.firstHalf
          ? [
              chart(`INTERLEAVE {C,P}, cpuset {C,P} → {${p}}`, {
                'first half': o.rebind.firstHalf.before,
                'first half, rebound': o.rebind.firstHalf.after,
                'second half': o.rebind.placement,
              }),
            ]
          : []),
      ],
    };
  },
};

interface CpusetMigrateObs {
  mems: ReturnType<typeof memsAnswer>;
  ending: Ending;
  /** Absent when the task did not live to print them (killed, or a fault that never ended). */
  halves?: {
    pages: number;
    /** The half faulted bound to C2 before the mems changed: where it was, and where it is after. */
    first: Record<string, number>;
    firstAfter: Record<string, number>;
    /** The half faulted after the change, under the bind as the cpuset rebound it. */
    second: Record<string, number>;
  };
}

/**
 * A cgroup v2 cpuset whose mems change moves its tasks' pages with them,
 * node for node ({C,C2} → {C,P}: C2's pages to P), and rebinds their
 * policies the same way (BIND {C2} → {P}). Neither is a request for P: no
 * page may land there, the moved ones nor those faulted under the rebound
 * policy. Needs an ordinary node besides C (C2).
 */
export const cpusetMigrate: InvariantSpec<CpusetMigrateObs> = {
  id: 'cpuset-migrate',
  title: 'a cpuset mems change moves no page onto P',
  expect: expect('fail', 'fail', 'pass', 'pass'),
  disturbs: true,
  witnessed: true,
  unsupported: (t, { c2 }) =>
    c2 === undefined ? `topology ${t.name} has no ordinary node besides C to move pages from (C2)` : undefined,
  steps: ({ roles: { c, p, c2 } }) =>
    c2 === undefined ? [] : [{ name: 'cpuset-migrate', script: 'cpuset-migrate.sh', env: { C: c, C2: c2, P: p } }],
  parse(raw) {
    const what = 'cpuset-migrate';
    const text = section(parseSections(rawOf(raw, what)), 'migrate', what);
    const mems = memsAnswer(text, what);
    const ending = judgeable(endingOf(text, what), what);
    const fault = parseRecords(text).find((r) => r.probe === 'cpuset-drop' && r.call === 'fault');
    if (!fault) {
      if (ending.ended === 'exit' && ending.status === 0)
        throw new ProbeError(`${what}: the task exited 0 without its fault record`);
      return { mems, ending };
    }
    assertUnprivileged(fault, what);
    const bindErrno = errnoOf(fault, 'bind_errno');
    if (bindErrno) throw new ProbeError(`${what}: the bind to C2 failed (${bindErrno})`);
    const pages = num(fault, 'pages');
    const half = (key: string) =>
      Placement.of((fault[key] as { placement?: unknown } | undefined)?.placement, pages, `${what} ${key}`).toJSON();
    return {
      mems,
      ending,
      halves: {
        pages,
        first: half('first_half'),
        firstAfter: half('first_half_after'),
        second: Placement.of(fault.placement, pages, `${what} second half`).toJSON(),
      },
    };
  },
  decide({ mems, ending, halves: h }, { roles: { c, p, c2 } }) {
    const change = `{${c},${c2}} → {${c},${p}}`;
    const problems: string[] = [];
    if (ending.ended !== 'exit' || ending.status !== 0)
      problems.push(`the task ${describeEnding(ending)} after its cpuset went ${change}`);
    if (h?.firstAfter[p])
      problems.push(
        `the cpuset moved ${h.firstAfter[p]} of ${h.pages} pages onto node ${p} as its mems went ${change}`,
      );
    if (h?.second[p])
      problems.push(
        `the bind to {${c2}}, rebound as the mems went ${change}, put ${h.second[p]} of ${h.pages} new pages on node ${p}`,
      );
    const passed = problems.length === 0;
    const nodes = (pl: Record<string, number>) =>
      Object.keys(pl)
        .filter((k) => /^\d+$/.test(k))
        .join(',');
    return {
      passed,
      summary: passed
        ? mems.accepted
          ? `mems ${change}: no page on node ${p} (the first half then on node ${nodes(h!.firstAfter)}, the second on node ${nodes(h!.second)})`
          : `mems ${change} refused (${mems.reason}); no page on node ${p}`
        : problems[0]!,
      problems,
      evidence: { mems, ending, ...h },
      placements: h
        ? [
            chart(`BIND {${c2}}, cpuset ${change}`, {
              'first half': h.first,
              'first half, after': h.firstAfter,
              'second half': h.second,
            }),
          ]
        : [],
    };
  },
};

interface CpusetShrinkObs {
  /** The parent's write {C,C2,P} → {C,P}, and the child's effective mems after it. */
  parent: ReturnType<typeof memsAnswer>;
  /** The stopped task's own pages on P after the shrink (its numa_maps, summed), before it faults anything. */
  ownPagesOnP: number;
  child: ConfinedTask;
  complaints: string[];
}

/** The pages a numa_maps listing puts on node n (its N<n>=count fields, summed). Pure. */
export function numaMapsPagesOn(text: string, n: number): number {
  return [...text.matchAll(new RegExp(`\\bN${n}=(\\d+)`, 'g'))].reduce((sum, m) => sum + Number(m[1]), 0);
}

/**
 * On cgroup v2 a child's effective mems are its own narrowed to its
 * parent's: a child asking for {C2,P} is left {P} alone when the parent
 * shrinks from {C,C2,P} to {C,P}, with no write to the child that could be
 * refused. Its tasks must get ordinary memory (the parent's, as cgroup v2
 * does for mems that become empty), not loop on their faults, and put no
 * page on P. Needs an ordinary node besides C (C2).
 */
export const cpusetShrink: InvariantSpec<CpusetShrinkObs> = {
  id: 'cpuset-shrink',
  title: "a parent's shrink leaves no cpuset P alone",
  expect: expect('fail', 'fail', 'pass', 'pass'),
  disturbs: true,
  witnessed: true,
  unsupported: (t, { c2 }) =>
    c2 === undefined ? `topology ${t.name} has no ordinary node besides C for the child's mems (C2)` : undefined,
  steps: ({ roles: { c, p, c2 } }) =>
    c2 === undefined
      ? []
      : [{ name: 'cpuset-shrink', script: 'cpuset-shrink.sh', env: { C: c, C2: c2, P: p }, timeoutMs: 120_000 }],
  parse(raw, { roles: { p } }) {
    const s = parseSections(rawOf(raw, 'cpuset-shrink'));
    const parent = memsAnswer(section(s, 'shrink', 'cpuset-shrink'), 'cpuset-shrink');
    const maps = section(s, 'numa-maps', 'cpuset-shrink');
    if (!/\bN\d+=\d+/.test(maps)) throw new ProbeError("cpuset-shrink: the task's numa_maps list no page");
    return {
      parent,
      ownPagesOnP: numaMapsPagesOn(maps, p),
      child: confinedFill(
        `${section(s, 'shrink', 'cpuset-shrink')}\n${section(s, 'fill', 'cpuset-shrink')}`,
        p,
        'cpuset-shrink',
      ),
      complaints: section(s, 'complaints', 'cpuset-shrink').split('\n').filter(Boolean),
    };
  },
  decide(o, { roles: { c, p, c2 } }) {
    const set = (...n: number[]) => `{${n.sort((a, b) => a - b).join(',')}}`;
    const shrink = `the parent's mems ${set(c, c2!, p)} → ${set(c, p)}`;
    const problems: string[] = [];
    const effective = o.parent.accepted ? o.parent.effective : undefined;
    const k = o.child;
    if (k.ending && (k.ending.ended !== 'exit' || k.ending.status !== 0))
      problems.push(`after ${shrink} (the child's effective mems: ${effective}), its task ${describeEnding(k.ending)}`);
    if (o.ownPagesOnP) problems.push(`${shrink} moved ${o.ownPagesOnP} of the task's own pages onto node ${p}`);
    if (k.onP) problems.push(`after ${shrink}, ${k.onP} of its task's pages landed on node ${p}`);
    if (o.complaints.length) problems.push(`the console: ${o.complaints[0]}`);
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? o.parent.accepted
          ? `after ${shrink}, the child's effective mems are ${effective} and its task's pages stay off node ${p}`
          : `${shrink} refused (${o.parent.reason})`
        : problems[0]!,
      problems,
      evidence: { ...o },
      placements: k.placement ? [chart(`a task in the child, after ${shrink}`, { pages: k.placement })] : [],
    };
  },
};

interface HomeCase {
  mode: string;
  nodes: number[];
  home: number;
  bindErrno: string | null;
  errno: string | null;
  ending: Ending;
  /** Absent when the fault never returned. */
  placement?: Record<string, number>;
  onP?: number;
  pages: number;
}

function homeCase(text: string, what: string, p: number): HomeCase {
  const ending = judgeable(endingOf(text, what), what);
  const records = parseRecords(text);
  const [set] = recordsOf(records, 'home-node', 'set_mempolicy_home_node');
  assertUnprivileged(set!, what);
  if (errnoOf(set!) === 'ENOSYS') throw new KernelLacks('set_mempolicy_home_node(2) is not in this kernel');
  const fault = records.find((r) => r.probe === 'home-node' && r.call === 'fault');
  const base = {
    mode: String(set!.mode),
    nodes: set!.nodes as number[],
    home: num(set!, 'home'),
    bindErrno: errnoOf(set!, 'bind_errno'),
    errno: errnoOf(set!),
    ending,
    pages: 64,
  };
  if (!fault) {
    if (ending.ended === 'exit' && ending.status === 0)
      throw new ProbeError(`${what}: the probe exited 0 without its fault record`);
    return base;
  }
  const pl = Placement.of(fault.placement, num(fault, 'pages'), what);
  return { ...base, pages: pl.total, placement: pl.toJSON(), onP: pl.on(p) };
}

interface HomeObs {
  preferredMany: HomeCase;
  bindP: HomeCase;
}

/**
 * set_mempolicy_home_node(2) picks where a policy's allocations start. It must
 * neither take a soft policy onto P (PREFERRED_MANY {C} with home P: refused,
 * and no page on P; accepted, its pages go to P once C is short, which 64
 * pages cannot show) nor leave a bind to P without a node to allocate from (BIND {P} with
 * home C: every page on P where the bind is allowed, refused where it is not,
 * and never a fault that does not end).
 */
export const homeNode: InvariantSpec<HomeObs> = {
  id: 'home-node',
  title: 'a home node never takes a policy onto P or stalls a bind',
  expect: expect('fail', 'fail', 'pass', 'pass'),
  disturbs: false,
  witnessed: true,
  steps: ({ roles: { c, p } }) => [
    { name: 'home-node', script: 'home-node.sh', env: { C: c, P: p }, timeoutMs: 120_000 },
  ],
  parse(raw, { roles: { p } }) {
    const s = parseSections(rawOf(raw, 'home-node'));
    return {
      preferredMany: homeCase(section(s, 'preferred-many-home-p', 'home-node'), 'PREFERRED_MANY home P', p),
      bindP: homeCase(section(s, 'bind-p-home-c', 'home-node'), 'BIND {P} home C', p),
    };
  },
  decide({ preferredMany: soft, bindP: bind }, { roles: { c, p }, profile }) {
    const problems: string[] = [];
    const stalled = (k: HomeCase) =>
      k.ending.ended === 'hung' || k.placement === undefined ? describeEnding(k.ending) : undefined;
    const softName = `PREFERRED_MANY {${c}} with home node ${p}`;
    if (stalled(soft)) problems.push(`${softName}: the fault ${stalled(soft)}`);
    else if (soft.onP) problems.push(`${softName}: ${soft.onP} of ${soft.pages} pages on node ${p}`);
    else if (soft.errno === null)
      problems.push(
        `${softName}: accepted (its pages land on C while C has room, then on node ${p}: alloc_pages_preferred_many's second pass starts from the home node)`,
      );
    const bindName = `BIND {${p}} with home node ${c}`;
    const bindAllowed = profile === 'vanilla' || profile === 'vanilla-movable' || optedIn(profile);
    if (stalled(bind)) problems.push(`${bindName}: the fault ${stalled(bind)}`);
    else if (bindAllowed && bind.onP !== bind.pages)
      problems.push(
        `${bindName}: ${bind.onP ?? 0} of ${bind.pages} pages on node ${p} (mbind gave ${bind.bindErrno ?? 0})`,
      );
    else if (!bindAllowed && (bind.bindErrno !== 'EINVAL' || bind.onP))
      problems.push(
        `${bindName}: mbind gave ${bind.bindErrno ?? 0}, expected EINVAL; ${bind.onP ?? 0} pages on node ${p}`,
      );
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? `${softName}: refused with ${soft.errno}; ${bindName}: ${bindAllowed ? `every page on node ${p}` : 'refused with EINVAL'}`
        : problems[0]!,
      problems,
      evidence: { preferredMany: soft, bindP: bind },
      placements: [soft, bind]
        .filter((k) => k.placement)
        .map((k) => chart(`${k.mode} {${k.nodes.join(',')}} home ${k.home}`, { after: k.placement! })),
    };
  },
};

/** C's free memory plus this margin is asked of a task bound to {C,P}: what does not fit on C must go to P. */
const SPILL_MARGIN_MIB = 128;

/**
 * MPOL_BIND {C,P} allows every node of its mask: a task that asks for more
 * than C has free must get the rest from P, not be OOM-killed while P is
 * empty. Where BIND may not reach P (a private node without the opt-in) the
 * bind is C alone and no-fallback-in already judges it.
 */
export const bindSpill: InvariantSpec<FillResult> = {
  id: 'bind-spill',
  title: 'a bind over {C,P} uses P before the OOM killer',
  expect: expect('pass', 'pass', 'n/a', 'pass'),
  disturbs: true,
  witnessed: true,
  steps: ({ roles: { c, p } }) => [
    {
      name: 'bind-spill',
      script: 'bind-spill.sh',
      env: { C: c, P: p, KEEP_MIB: 96, MARGIN_MIB: SPILL_MARGIN_MIB },
      timeoutMs: 180_000,
    },
  ],
  parse: (raw) => parseFill(rawOf(raw, 'bind-spill'), 'bind-spill'),
  decide(f, { roles: { c, p } }) {
    const onP = f.pagesByNode[p] ?? 0;
    const problems: string[] = [];
    if (f.ending !== 'completed')
      problems.push(
        `bound to {${c},${p}}, the task was OOM-killed after ${f.reachedMiB} of ${f.askedMiB} MiB with ${(onP / 256).toFixed(0)} MiB on node ${p}`,
      );
    else if (onP === 0) problems.push(`bound to {${c},${p}}, the fill completed with no page on node ${p}`);
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? `completed ${f.reachedMiB} MiB (node ${c}'s free ${f.freeMiB}), ${(onP / 256).toFixed(0)} MiB of it on node ${p}`
        : problems[0]!,
      problems,
      evidence: { ...f, pagesOnP: onP },
      placements: [chart(`the fill bound to {${c},${p}}`, { pages: f.pagesByNode })],
    };
  },
};

interface HotpluggableCpu {
  type: string;
  props: Record<string, number>;
  'qom-path'?: string;
}

/** The first CPU slot the topology declares on node p (the one cpu-hotplug plugs), if any. */
const slotOf = (t: Topology, p: number): number | undefined => t.nodes.find((n) => n.id === p)?.hotplugCpus?.[0];

/**
 * How full TCG's translation buffer is, from QMP x-query-jit's text ("gen code size  USED/TOTAL");
 * undefined under KVM, which has none. Pure.
 */
export function jitFill(text: string): { used: number; total: number } | undefined {
  const m = /gen code size\s+(\d+)\/(\d+)/.exec(text);
  return m ? { used: Number(m[1]), total: Number(m[2]) } : undefined;
}

/**
 * QEMU 7.2's TCG hands each vCPU thread a region of the translation buffer, and aborts when a
 * hot-added vCPU finds them all handed out (tcg/region.c:372), which they are once the code
 * translated since the last flush nears the whole buffer. Above this share none is added.
 */
const JIT_FULL = 0.75;

/** The hot-plug slots of node p that QEMU offers and no CPU fills yet. */
const freeSlotsOn = (slots: HotpluggableCpu[], p: number) =>
  slots.filter((s) => s.props['node-id'] === p && !s['qom-path']);

interface CpuHotplugObs {
  cpu: number;
  /** What the guest's online write said: onlined, or refused (with the reason). */
  online: { answer: 'onlined' } | { answer: 'refused'; reason: string };
  /** P's CPUs after the write, and the node the CPU's sysfs dir links to. */
  nodeCpus: string;
  cpuNode?: number;
  kernelLines: string[];
}

/**
 * A CPU hot-added on P (QMP device_add into a slot the topology declares,
 * `hotplugCpus`) must not come online there: its tasks would allocate from
 * P's zonelist, which starts with P. The CPU is offlined again afterwards.
 */
export const cpuHotplug: InvariantSpec<CpuHotplugObs> = {
  id: 'cpu-hotplug',
  title: 'no CPU comes online on P',
  expect: expect('fail', 'fail', 'pass', 'pass'),
  disturbs: true,
  witnessed: false,
  unsupported: (t, { p }) =>
    slotOf(t, p) === undefined ? `topology ${t.name} has no hot-plug CPU slot on node ${p} ("hotplugCpus")` : undefined,
  steps: ({ roles: { p }, topology }) => {
    const cpu = slotOf(topology, p);
    if (cpu === undefined) return [];
    return [
      {
        name: 'cpu-hotplug-add',
        async run(host) {
          // A CPU the guest can never use is not added.
          const possible = (await host.exec('cat /sys/devices/system/cpu/possible')).stdout.trim();
          if (!parseCpuList(possible)?.includes(cpu)) return `### possible\n${possible}\n### slot\nnot added\n`;
          const jit = await host
            .qmp('x-query-jit')
            .then((r) => jitFill((r as { 'human-readable-text'?: string })['human-readable-text'] ?? ''))
            .catch(() => undefined);
          const head = `### possible\n${possible}\n### jit\n${jit ? `${jit.used}/${jit.total}` : 'none'}\n`;
          if (jit && jit.used > jit.total * JIT_FULL) return `${head}### slot\njit full\n`;
          const slots = (await host.qmp('query-hotpluggable-cpus')) as HotpluggableCpu[];
          const [slot] = freeSlotsOn(slots, p);
          if (!slot) return `${head}### slot\nnone\n`;
          await host.qmp('device_add', { driver: slot.type, id: `numacage-cpu-node${p}`, ...slot.props });
          return `${head}### slot\n${JSON.stringify(slot)}\n`;
        },
      },
      { name: 'cpu-hotplug', script: 'cpu-hotplug.sh', env: { P: p, CPU: cpu } },
    ];
  },
  parse(raw, { roles: { p }, topology }) {
    const cpu = slotOf(topology, p);
    if (cpu === undefined) throw new ProbeError(`topology ${topology.name} has no CPU slot on node ${p}`);
    const added = parseSections(rawOf(raw, 'cpu-hotplug-add'));
    const possible = parseCpuList(section(added, 'possible', 'cpu-hotplug-add').trim());
    if (!possible) throw new ProbeError('cpu-hotplug: unreadable /sys/devices/system/cpu/possible');
    if (!possible.includes(cpu))
      throw new KernelLacks(
        `the guest kernel counts no CPU slot beyond its boot CPUs (possible: ${possible.join(',')}): x86 Linux takes QEMU's disabled MADT entries as hot-pluggable only under a hypervisor it recognises (acpi_is_processor_usable), and under TCG numacage boots this topology as VMware's guest, which a kernel recognises only with CONFIG_HYPERVISOR_GUEST and CONFIG_DMI`,
      );
    const slot = section(added, 'slot', 'cpu-hotplug-add').trim();
    if (slot === 'none') throw new ProbeError(`QEMU offers no free CPU slot on node ${p}`);
    if (slot === 'jit full')
      throw new ProbeError(
        `QEMU's translation buffer was ${section(added, 'jit', 'cpu-hotplug-add').trim()} bytes full: QEMU 7.2's TCG aborts on a vCPU hot-added when it is (tcg/region.c), so none was added`,
      );
    const s = parseSections(rawOf(raw, 'cpu-hotplug'));
    const answer = section(s, 'online', 'cpu-hotplug').trim();
    const kernelLines = section(s, 'kernel', 'cpu-hotplug').split('\n').filter(Boolean);
    let online: CpuHotplugObs['online'];
    if (answer === 'onlined') online = { answer };
    else if (answer.startsWith('refused')) online = { answer: 'refused', reason: answer.slice(8).trim() };
    else if (answer === 'absent')
      // Never a pass: a kernel that cannot hot-add the CPU tells nothing about one that refuses it.
      throw new ProbeError(`CPU ${cpu} was possible but never appeared in the guest after device_add`);
    else throw new ProbeError(`cpu-hotplug: no answer to the online write (${answer || 'empty'})`);
    const node = section(s, 'cpu-node', 'cpu-hotplug').trim();
    return {
      cpu,
      online,
      nodeCpus: section(s, 'node-cpus', 'cpu-hotplug').trim(),
      ...(/^\d+$/.test(node) ? { cpuNode: Number(node) } : {}),
      kernelLines,
    };
  },
  decide(o, { roles: { p } }) {
    const problems: string[] = [];
    if (o.nodeCpus !== '') problems.push(`CPU ${o.cpu} came online on node ${p} (node ${p}'s CPUs: ${o.nodeCpus})`);
    else if (o.online.answer === 'onlined')
      problems.push(
        `CPU ${o.cpu} came online${o.cpuNode !== undefined ? ` on node ${o.cpuNode}` : ''}, not where it was plugged`,
      );
    const passed = problems.length === 0;
    const how = o.online.answer === 'refused' ? `its online write was refused (${o.online.reason})` : 'not online';
    return {
      passed,
      summary: passed ? `CPU ${o.cpu}, hot-added on node ${p}: ${how}` : problems[0]!,
      problems,
      evidence: { ...o },
    };
  },
};
