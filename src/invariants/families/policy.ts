import { chart } from '../../model/verdict.js';
import type { KernelProfile } from '../profile.js';
import { parseFill, type FillResult } from '../fill.js';
import {
  assertUnprivileged,
  errnoOf,
  num,
  parseRecords,
  parseSections,
  Placement,
  placements,
  recordsOf,
  section,
  type ProbeRecord,
} from '../records.js';
import { assertRanClean, exitStatus } from '../shell.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';
import { ProbeError } from '../errors.js';

/** Whether the kernel lets an unprivileged task target P: private-user kernels do by design, vanilla ones do but should not. */
export const optedIn = (profile: KernelProfile) => profile === 'private-user';

interface PolicyCase {
  mode: string;
  nodes: number[];
  ret: number;
  errno: string | null;
  onP: number;
  pages: number;
  placement: Record<string, number>;
}

function policyCase(r: ProbeRecord, p: number): PolicyCase {
  const nodes = r.nodes as number[];
  const { after, pages } = placements(r, `${String(r.mode)} {${nodes.join(',')}}`);
  return {
    mode: String(r.mode),
    nodes,
    ret: num(r, 'ret'),
    errno: errnoOf(r),
    onP: after.on(p),
    pages,
    placement: after.toJSON(),
  };
}

const SOFT_CASES = 5;

/**
 * INTERLEAVE and WEIGHTED_INTERLEAVE {C,P} must put no page on P; PREFERRED
 * and PREFERRED_MANY {P} alone must be refused with EINVAL. PREFERRED_MANY
 * {C,P} lands on C on a stock kernel too (C has room), so it tells nothing
 * apart: it is kept as evidence.
 */
export const softPolicy: InvariantSpec<PolicyCase[]> = {
  id: 'soft-policy',
  title: 'soft policies never reach P',
  expect: expect('fail', 'fail', 'pass', 'pass'),
  disturbs: false,
  witnessed: true,
  steps: ({ roles: { c, p } }) => [{ name: 'soft-policy', script: 'soft-policy.sh', env: { C: c, P: p } }],
  parse(raw, { roles: { p } }) {
    const text = rawOf(raw, 'soft-policy');
    assertRanClean(text, 'soft-policy');
    return recordsOf(parseRecords(text), 'soft-policy', 'set_mempolicy', SOFT_CASES).map((r) => policyCase(r, p));
  },
  decide(cases, { roles: { p } }) {
    const problems: string[] = [];
    const judged = cases.filter((k) => !(k.mode === 'MPOL_PREFERRED_MANY' && k.nodes.length > 1));
    for (const k of judged) {
      const name = `${k.mode} {${k.nodes.join(',')}}`;
      if (k.onP > 0)
        problems.push(`${name}: ${k.onP} of ${k.pages} pages on node ${p}${k.ret === 0 ? ' (accepted)' : ''}`);
      if (k.nodes.length === 1 && k.errno !== 'EINVAL')
        problems.push(`${name}: ${k.ret === 0 ? 'accepted' : `refused with ${k.errno}`}, expected EINVAL`);
    }
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? `INTERLEAVE/WEIGHTED_INTERLEAVE {C,P} put no page on node ${p}; PREFERRED/PREFERRED_MANY {${p}} refused with EINVAL`
        : problems[0]!,
      problems,
      evidence: { cases, evidenceOnly: ['MPOL_PREFERRED_MANY {C,P}: lands on C on any kernel while C has room'] },
      placements: cases.map((k) => chart(`${k.mode} {${k.nodes.join(',')}}`, { after: k.placement })),
    };
  },
};

interface BindObs {
  fresh: PolicyCase;
  moveStrict: PolicyCase & { before: Record<string, number> };
}

export const bindOptin: InvariantSpec<BindObs> = {
  id: 'bind-optin',
  title: 'MPOL_BIND to P needs the opt-in',
  expect: expect('fail', 'fail', 'pass', 'pass'),
  disturbs: false,
  witnessed: true,
  steps: ({ roles: { p } }) => [{ name: 'bind-optin', script: 'bind-optin.sh', env: { P: p } }],
  parse(raw, { roles: { c, p } }) {
    const text = rawOf(raw, 'bind-optin');
    assertRanClean(text, 'bind-optin');
    const recs = recordsOf(parseRecords(text), 'bind', 'mbind', 2);
    const fresh = recs.find((r) => r.case === 'fresh');
    const move = recs.find((r) => r.case === 'move-strict');
    if (!fresh || !move) throw new ProbeError('the probe printed no fresh or move-strict mbind record');
    for (const r of [fresh, move]) assertUnprivileged(r, `mbind (${String(r.case)})`);
    const { before } = placements(move, 'mbind MOVE|STRICT');
    if (!before || before.on(c) !== before.total)
      throw new ProbeError(`the pages for MOVE|STRICT did not start on node ${c}: ${JSON.stringify(before?.toJSON())}`);
    return { fresh: policyCase(fresh, p), moveStrict: { ...policyCase(move, p), before: before.toJSON() } };
  },
  decide({ fresh, moveStrict: move }, { roles: { p }, profile }) {
    const problems: string[] = [];
    if (optedIn(profile)) {
      if (fresh.ret !== 0 || fresh.onP !== fresh.pages)
        problems.push(
          `opted in, yet mbind(BIND,{${p}}) gave ${fresh.errno ?? fresh.ret} with ${fresh.onP} of ${fresh.pages} pages on node ${p}`,
        );
      if (move.ret !== 0 || move.onP !== move.pages)
        problems.push(
          `opted in, yet mbind(BIND,{${p}},MOVE|STRICT) gave ${move.errno ?? move.ret} with ${move.onP} of ${move.pages} pages moved to node ${p}`,
        );
    } else {
      if (fresh.ret === 0)
        problems.push(
          `mbind(BIND,{${p}}) on a fresh mapping succeeded without opt-in; ${fresh.onP} of ${fresh.pages} pages landed on node ${p}`,
        );
      else if (fresh.errno !== 'EINVAL')
        problems.push(`mbind(BIND,{${p}}) was refused with ${fresh.errno}, expected EINVAL`);
      if (move.onP > 0)
        problems.push(`mbind(BIND,{${p}},MOVE|STRICT) moved ${move.onP} of ${move.pages} pages onto node ${p}`);
      else if (move.ret === 0 || move.errno !== 'EINVAL')
        problems.push(`mbind(BIND,{${p}},MOVE|STRICT) gave ${move.errno ?? move.ret}, expected EINVAL`);
    }
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? optedIn(profile)
          ? `bind allowed with the opt-in, every page on node ${p}`
          : `refused with EINVAL, no page on node ${p}`
        : problems[0]!,
      problems,
      evidence: { fresh, moveStrict: move },
      placements: [
        chart(`mbind(BIND,{${p}}) on a fresh mapping`, { after: fresh.placement }),
        chart(`mbind(BIND,{${p}},MOVE|STRICT) on pages on C`, { before: move.before, after: move.placement }),
      ],
    };
  },
};

interface CpusetObs {
  bind: PolicyCase;
  movePages: { ret: number; errno: string | null; status: number[]; onP: number };
  /** Absent when the kernel refused cpuset.mems = {C,P}. */
  drop?:
    | { sigbus: true }
    | {
        sigbus: false;
        bindErrno: string | null;
        firstHalf: Record<string, number>;
        secondHalf: Record<string, number>;
        secondOnP: number;
      };
  dropRefused?: string;
}

/** 128 + SIGBUS. */
const SIGBUS_STATUS = 135;

/**
 * Inside a cgroup whose cpuset.mems is C: mbind({P}) must give EINVAL and
 * move_pages to P EACCES (or ENODEV on a private-node kernel). Then P is
 * dropped from cpuset.mems while a task bound to P is half-way through
 * faulting a range: its policy must follow the cpuset, never end in SIGBUS.
 */
export const cpuset: InvariantSpec<CpusetObs> = {
  id: 'cpuset',
  title: 'cpuset.mems is enforced',
  expect: expect('pass', 'pass', 'pass', 'pass'),
  disturbs: false,
  witnessed: true,
  steps: ({ roles: { c, p } }) => [{ name: 'cpuset', script: 'cpuset.sh', env: { C: c, P: p } }],
  parse(raw, { roles: { c, p } }) {
    const s = parseSections(rawOf(raw, 'cpuset'));
    const refuse = section(s, 'refuse', 'cpuset');
    const recs = parseRecords(refuse);
    const bind = recordsOf(recs, 'bind', 'mbind', 2).find((r) => r.case === 'fresh')!;
    const [move] = recordsOf(recs, 'move-pages', 'move_pages');
    for (const r of [bind, move!]) assertUnprivileged(r, `${r.call} in the cpuset`);
    const mv = placements(move!, 'move_pages in the cpuset');
    if (mv.before?.on(c) !== mv.pages) throw new ProbeError(`the pages for move_pages did not start on node ${c}`);
    const obs: CpusetObs = {
      bind: policyCase(bind, p),
      movePages: {
        ret: num(move!, 'ret'),
        errno: errnoOf(move!),
        status: move!.status as number[],
        onP: mv.after.on(p),
      },
    };
    const drop = section(s, 'drop', 'cpuset');
    const refused = /^mems-refused(.*)$/m.exec(drop)?.[1]?.trim();
    if (refused === '') throw new ProbeError('cpuset: the cpuset.mems write failed without a reason');
    if (refused) return { ...obs, dropRefused: refused };
    const status = exitStatus(drop, 'cpuset-drop');
    if (status === SIGBUS_STATUS) return { ...obs, drop: { sigbus: true } };
    if (status !== 0) throw new ProbeError(`cpuset-drop exited ${status}`);
    const [d] = recordsOf(parseRecords(drop), 'cpuset-drop', 'fault');
    const pages = num(d!, 'pages');
    const first = Placement.of(
      (d!.first_half as { placement?: unknown } | undefined)?.placement,
      pages,
      'cpuset-drop first half',
    );
    const second = Placement.of(d!.placement, pages, 'cpuset-drop second half');
    return {
      ...obs,
      drop: {
        sigbus: false,
        bindErrno: errnoOf(d!, 'bind_errno'),
        firstHalf: first.toJSON(),
        secondHalf: second.toJSON(),
        secondOnP: second.on(p),
      },
    };
  },
  decide(o, { roles: { c, p }, profile }) {
    const problems: string[] = [];
    const { bind, movePages: mv, drop } = o;
    if (bind.onP > 0) problems.push(`inside cpuset.mems=${c}, mbind(BIND,{${p}}) put ${bind.onP} pages on node ${p}`);
    if (bind.errno !== 'EINVAL')
      problems.push(`inside cpuset.mems=${c}, mbind(BIND,{${p}}) gave ${bind.errno ?? bind.ret}, expected EINVAL`);
    const moveErrnos = profile === 'private' || profile === 'private-user' ? ['EACCES', 'ENODEV'] : ['EACCES'];
    if (mv.onP > 0) problems.push(`inside cpuset.mems=${c}, move_pages moved ${mv.onP} pages to node ${p}`);
    if (mv.ret !== -1 || !moveErrnos.includes(mv.errno ?? ''))
      problems.push(
        `inside cpuset.mems=${c}, move_pages to node ${p} gave ${mv.errno ?? mv.ret}, expected ${moveErrnos.join(' or ')}`,
      );
    if (drop?.sigbus)
      problems.push(`a task bound to node ${p} died of SIGBUS when ${p} was dropped from cpuset.mems mid-fault`);
    else if (drop && drop.secondOnP > 0)
      problems.push(`after node ${p} left cpuset.mems, ${drop.secondOnP} newly faulted pages still landed on it`);
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? `mbind refused with EINVAL, move_pages with ${mv.errno}; ${drop ? `dropping node ${p} mid-fault rebound the task to node ${c}` : `cpuset.mems=${c},${p} refused (${o.dropRefused})`}`
        : problems[0]!,
      problems,
      evidence: { mems: c, ...o },
      placements: [
        chart(`mbind({${p}}) inside cpuset.mems=${c}`, { after: o.bind.placement }),
        ...(o.drop && !o.drop.sigbus
          ? [
              chart(`bound to ${p}, ${p} dropped from cpuset.mems half-way`, {
                'first half': o.drop.firstHalf,
                'second half': o.drop.secondHalf,
              }),
            ]
          : []),
      ],
    };
  },
};

/** C's free memory plus this margin is asked of an unbound task: more than C can give. */
const FALLBACK_MARGIN_MIB = 192;

/**
 * An unbound task asks for more than C has free (C's HugeTLB pool takes most
 * of it first, so the fill is short): pages on P or a rise of P's numa_miss
 * is a spill. The fill must prove it ran: it completed, or the OOM killer
 * named it.
 */
export const noFallbackIn: InvariantSpec<FillResult> = {
  id: 'no-fallback-in',
  title: 'an unbound workload never spills onto P',
  expect: expect('fail', 'fail', 'pass', 'pass'),
  disturbs: true,
  witnessed: true,
  steps: ({ roles: { c, p } }) => [
    {
      name: 'no-fallback-in',
      script: 'no-fallback-in.sh',
      env: { C: c, P: p, KEEP_MIB: 640, MARGIN_MIB: FALLBACK_MARGIN_MIB },
      timeoutMs: 180_000,
    },
  ],
  parse: (raw) => parseFill(rawOf(raw, 'no-fallback-in'), 'no-fallback-in'),
  decide(f, { roles: { p } }) {
    const onP = f.pagesByNode[p] ?? 0;
    const missDelta = (f.numastatAfter.numa_miss ?? 0) - (f.numastatBefore.numa_miss ?? 0);
    const problems: string[] = [];
    if (onP > 0) problems.push(`${(onP / 256).toFixed(0)} MiB of the unbound fill landed on node ${p}`);
    if (missDelta > 0) problems.push(`node ${p}'s numa_miss rose by ${missDelta} pages`);
    const passed = problems.length === 0;
    const ending = f.ending === 'completed' ? `completed ${f.reachedMiB} MiB` : `OOM-killed after ${f.reachedMiB} MiB`;
    return {
      passed,
      summary: passed
        ? `${ending} of ${f.askedMiB} (node's free ${f.freeMiB} MiB) with no page on node ${p}`
        : `${problems[0]} (${ending})`,
      problems,
      evidence: { ...f, pagesOnP: onP, pNumaMissDelta: missDelta },
      placements: [chart('the unbound fill', { pages: f.pagesByNode })],
    };
  },
};

/** A task bound to P asks for more than P has: it must be OOM-killed with every page on P. */
export const bindStrict: InvariantSpec<FillResult> = {
  id: 'bind-strict',
  title: 'a strict bind stays strict',
  expect: expect('pass', 'pass', 'n/a', 'pass'),
  disturbs: true,
  witnessed: true,
  steps: ({ roles: { p } }) => [
    { name: 'bind-strict', script: 'bind-strict.sh', env: { P: p, KEEP_MIB: 96, MARGIN_MIB: 256 }, timeoutMs: 180_000 },
  ],
  parse: (raw) => parseFill(rawOf(raw, 'bind-strict'), 'bind-strict'),
  decide(f, { roles: { p } }) {
    const total = Object.values(f.pagesByNode).reduce((a, b) => a + b, 0);
    const offP = total - (f.pagesByNode[p] ?? 0);
    const problems: string[] = [];
    if (offP > 0) problems.push(`${offP} pages bound to node ${p} landed elsewhere`);
    if (f.ending !== 'oom-killed')
      problems.push(`asked ${f.askedMiB} MiB of a node with ${f.freeMiB} MiB free, and the task was not OOM-killed`);
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed ? `OOM-killed after ${f.reachedMiB} of ${f.askedMiB} MiB, every page on node ${p}` : problems[0]!,
      problems,
      evidence: { ...f, pagesOffP: offP },
      placements: [chart(`the fill bound to ${p}`, { pages: f.pagesByNode })],
    };
  },
};
