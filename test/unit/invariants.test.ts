import { readFileSync } from 'node:fs';
import { projectPath } from '../../src/adapters/project.js';
import { readGuestScript } from '../../src/adapters/guest-scripts.js';
import test from 'ava';
import { evaluateInvariant } from '../../src/invariants/evaluate.js';
import { INVARIANTS, selectInvariants, SUITES } from '../../src/invariants/registry.js';
import type { KernelProfile } from '../../src/invariants/profile.js';
import { usesProbe, type ProbeContext } from '../../src/invariants/spec.js';
import { detectProfile } from '../../src/invariants/profile.js';
import { contextOf, evaluateAll, outcomes, rawOutputs, testable } from '../helpers/recorded.js';
import { column as columnOf } from '../helpers/columns.js';

const STOCK = 'stock-6.12-private-virtio';
const STOCK_MOVABLE = 'stock-6.12-private-movable';
const STOCK_HMAT = 'stock-6.12-hmat-tiered';
/**
 * The series in patches/private-node on the lean config, booted with private_node=1 and private_node=1,user.
 * Their no-fallback-in.txt are from 2026-12-05 (0001-0032, whole-suite runs of private-node{,-user}.json), with
 * the programs' resident file pages locked before the fill (its "### lock" section): OOM-killed in 9.7-11.9 s.
 */
const PRIVATE = 'patched-6.12-private';
const PRIVATE_USER = 'patched-6.12-private-user';
/** numacage's lean built kernel (no VM event counters, virtio_net built in). */
const LEAN = 'lean-6.12-private-virtio';
/**
 * The default suite: the checks these fixtures answer (device-io's are in device-io.test.ts; cpu-hotplug
 * needs a topology with a CPU slot on P, and has recordings of its own in confinement.test.ts).
 */
const ISOLATION = INVARIANTS.filter((s) => testable(contextOf(STOCK)).includes(s.id));

/** The outcome each invariant must have on a kernel of this profile: the catalogue's column, exactly (on the default topology unless given). */
const column = (profile: KernelProfile, ctx = contextOf(STOCK)) =>
  columnOf(
    profile,
    ctx.topology,
    ISOLATION.map((s) => s.id).filter((id) => testable(ctx).includes(id)),
  );

function run(dir: string): { ctx: ProbeContext; raw: Record<string, string>; got: Record<string, string> } {
  const raw = rawOutputs(dir);
  const ctx = contextOf(dir, raw);
  const got = outcomes(evaluateAll(raw, ctx));
  return { ctx, raw, got };
}

for (const [dir, profile] of [
  [STOCK, 'vanilla'],
  [STOCK_MOVABLE, 'vanilla-movable'],
  [STOCK_HMAT, 'vanilla'],
  [LEAN, 'vanilla'],
  [PRIVATE, 'private'],
  [PRIVATE_USER, 'private-user'],
] as const) {
  test(`${dir}: detected as ${profile}, and every invariant gives that column exactly`, (t) => {
    const { ctx, got } = run(dir);
    t.is(ctx.profile, profile);
    t.deepEqual(got, column(profile, ctx));
  });
}

test('every invariant can fail and can pass, on recorded outputs (and, for three, outputs edited to what a broken kernel prints)', (t) => {
  const passes = new Set<string>();
  const fails = new Set<string>();
  for (const dir of [STOCK, STOCK_MOVABLE, STOCK_HMAT, PRIVATE, PRIVATE_USER]) {
    const raw = rawOutputs(dir);
    const ctx = contextOf(dir, raw);
    for (const spec of ISOLATION) {
      if (spec.expect[ctx.profile] === 'n/a' || spec.unsupported?.(ctx.topology, ctx.roles)) continue;
      const d = spec.decide(spec.parse(raw, ctx), ctx);
      (d.passed ? passes : fails).add(spec.id);
    }
  }
  // Invariants that every kernel here passes fail on the broken kernels of the tests below.
  for (const id of ['topology', 'cpuset', 'bind-strict']) fails.add(id);
  // bind-spill fails on series v1 under ,user (confinement.test.ts), the kernel it was written against.
  fails.add('bind-spill');
  // hugetlb-user fails on series v1 under ,user (hugetlb-user.test.ts).
  fails.add('hugetlb-user');
  // hugetlb-surplus-spared fails on series v1 and on 0001-0032 under ,user (hugetlb-surplus.test.ts).
  fails.add('hugetlb-surplus-spared');
  // ksm-rmap fails on v1 and 0001-0035 under ,user (ksm-cross.test.ts).
  fails.add('ksm-rmap');
  t.deepEqual([...passes].sort(), ISOLATION.map((s) => s.id).sort(), 'able to pass');
  t.deepEqual([...fails].sort(), ISOLATION.map((s) => s.id).sort(), 'able to fail');
});

/** Every probe record replaced by what a probe that does nothing prints (measured on main before this check existed). */
function hollowProbe(raw: Record<string, string>): void {
  for (const k of Object.keys(raw)) raw[k] = raw[k]!.replace(/^\{.*\}$/gm, '{"ok":true,"pages":{}}');
}
/** The probe binary replaced by `false`: no record, exit 1. */
function falseProbe(raw: Record<string, string>): void {
  for (const k of Object.keys(raw)) raw[k] = raw[k]!.replace(/^\{.*\}$/gm, '').replace(/^# exit \d+$/gm, '# exit 1');
}
/** A kernel that answers every placement query with an errno. */
function unreadablePlacement(raw: Record<string, string>): void {
  for (const k of Object.keys(raw))
    raw[k] = raw[k]!.replace(
      /"placement":\{([^}]*)\}/g,
      (_, body: string) =>
        `"placement":{"EPERM":${[...body.matchAll(/:(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0)}}`,
    );
}

for (const [name, breakIt] of [
  ['a probe that does nothing', hollowProbe],
  ['a probe that is `false`', falseProbe],
  ['placement reads that fail', unreadablePlacement],
] as const) {
  for (const dir of [STOCK, PRIVATE, PRIVATE_USER]) {
    test(`${name} turns every check that uses the probe into an error, never a pass (${dir})`, (t) => {
      const raw = rawOutputs(dir);
      const ctx = contextOf(dir, raw);
      breakIt(raw);
      // Placement reads can only break checks whose records carry placements.
      const affected = INVARIANTS.filter(
        (s) =>
          usesProbe(s, ctx, readGuestScript) &&
          (breakIt !== unreadablePlacement || s.steps(ctx).some((st) => raw[st.name]?.includes('"EPERM"'))),
      );
      t.true(affected.length >= 6, `${affected.length} checks affected`);
      for (const spec of affected) {
        const r = evaluateInvariant(spec, raw, ctx);
        t.is(r.outcome, 'error', `${spec.id}: ${r.summary}`);
        t.regex(r.summary, /^probe failed: /);
      }
    });
  }
}

test('a step whose output is missing or cut short never passes a kernel that should pass', (t) => {
  const raw = rawOutputs(PRIVATE_USER);
  const ctx = contextOf(PRIVATE_USER, raw);
  for (const spec of INVARIANTS.filter((s) => s.steps(ctx).length && s.expect[ctx.profile] !== 'n/a')) {
    t.is(
      evaluateInvariant(spec, { 'kernel-state': raw['kernel-state']! }, ctx).outcome,
      'error',
      `${spec.id} with no output`,
    );
    const cut = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.slice(0, Math.floor(v.length / 3))]));
    t.is(evaluateInvariant(spec, cut, ctx).outcome, 'error', `${spec.id} cut short`);
  }
});

test('suites and --only come from the registry, in run order, with the disturbing checks last', (t) => {
  t.is(SUITES.isolation!.length, 44);
  t.deepEqual(
    INVARIANTS.slice(0, 3).map((s) => s.id),
    ['topology', 'abi', 'boot-data'],
    'boot-data reads P before any check writes to it',
  );
  t.deepEqual(selectInvariants('smoke'), ['topology', 'abi', 'no-kernel-memory']);
  t.deepEqual(selectInvariants('isolation', 'hugetlb,topology'), ['topology', 'hugetlb']);
  t.throws(() => selectInvariants('isolation', 'nope'), { message: /unknown invariant "nope"/ });
  t.throws(() => selectInvariants('everything'), { message: /unknown suite/ });
  for (const name of ['__proto__', 'toString', 'constructor'])
    t.throws(() => selectInvariants(name), { message: /unknown suite/ });
  const firstDisturbing = INVARIANTS.findIndex((s) => s.disturbs);
  t.true(
    INVARIANTS.slice(firstDisturbing).every((s) => s.disturbs),
    'nothing read-mostly runs after a check that disturbs the guest',
  );
  t.deepEqual(
    INVARIANTS.slice(-6).map((s) => s.id),
    ['no-fallback-in', 'p-in-use', 'online-kernel', 'cpu-hotplug', 'cpuset-shrink', 'cpuset-private'],
    "the heaviest pressure, what it left on P, then P's memory offlined and onlined, a CPU plugged for good, then what can crash a broken kernel",
  );
});

test("the expectation table in docs/invariants.md is the registry's, row for row", (t) => {
  const doc = readFileSync(projectPath('docs', 'invariants.md'), 'utf8');
  const table = doc.slice(doc.indexOf('| id | how |'));
  const rows = table
    .split('\n')
    .slice(2)
    .filter((l) => l.startsWith('| '))
    .map((l) => l.split(' | ').map((c) => c.replace(/^\| |\s*\|$/g, '').trim()));
  const documented = rows.slice(
    0,
    rows.findIndex((r) => r.length < 6) === -1 ? rows.length : rows.findIndex((r) => r.length < 6),
  );
  t.deepEqual(
    documented.map((r) => r[0]),
    INVARIANTS.map((s) => s.id),
    'the same ids in the same order',
  );
  for (const r of documented) {
    const spec = INVARIANTS.find((s) => s.id === r[0])!;
    t.deepEqual(
      r.slice(-4),
      [spec.expect.vanilla, spec.expect['vanilla-movable'], spec.expect.private, spec.expect['private-user']],
      r[0],
    );
  }
});

/** One check evaluated on a fixture after an edit of its raw outputs (each edit says why it is physically possible). */
function checkAfter(dir: string, id: string, edit: (raw: Record<string, string>) => void) {
  const raw = rawOutputs(dir);
  edit(raw);
  return evaluateInvariant(
    INVARIANTS.find((s) => s.id === id)!,
    raw,
    contextOf(dir, raw),
  );
}

test('cpuset fails where the cpuset is not enforced: move_pages into a node outside cpuset.mems, or SIGBUS when P is dropped', (t) => {
  // A kernel that forgets the cpuset check lets the move go through, as it does outside any cpuset.
  let r = checkAfter(STOCK, 'cpuset', (raw) => {
    raw.cpuset = raw.cpuset!.replace(
      /("probe":"move-pages".*?)"ret":-1,"errno":"EACCES"(.*?)"placement":\{"0":16\}\}$/m,
      '$1"ret":0,"errno":null$2"placement":{"1":16}}',
    );
  });
  t.is(r.outcome, 'fail');
  t.regex(r.problems.join('\n'), /move_pages moved 16 pages to node 1/);
  // The task dies of SIGBUS instead of being rebound: the shell reports 135 and the probe printed nothing more.
  r = checkAfter(STOCK, 'cpuset', (raw) => {
    raw.cpuset = raw.cpuset!.replace(/### drop\n# exit 0\n.*\n/, '### drop\n# exit 135\n');
  });
  t.is(r.outcome, 'fail');
  t.regex(r.summary, /SIGBUS/);
});

test('bind-strict fails when a bound fill spills or completes, and is an error when the fill did not run', (t) => {
  // A strict bind that falls back: the last steps land on node 0 and the fill completes.
  let r = checkAfter(STOCK, 'bind-strict', (raw) => {
    raw['bind-strict'] = raw['bind-strict']!.replace(
      /"placement":\{"1":8192\}\}\n(?=# exit)/,
      '"placement":{"0":8192}}\n{"probe":"fill","call":"done","mib":512}\n',
    ).replace(/^# exit 137$/m, '# exit 0');
  });
  t.not(r.outcome, 'pass');
  // mbind refused for the fill: the probe says so (exit 3) and the check is an error, not a pass.
  r = checkAfter(STOCK, 'bind-strict', (raw) => {
    raw['bind-strict'] = raw['bind-strict']!.replace(/^\{"probe":"fill","call":"fault".*\n/gm, '').replace(
      /^# exit 137$/m,
      '{"probe":"fill","call":"mbind","ret":-1,"errno":"EINVAL","fatal":true}\n# exit 3',
    );
  });
  t.is(r.outcome, 'error');
  t.regex(r.summary, /exited 3 on its own \(mbind gave EINVAL\)/);
  // Killed, but nobody logged an OOM kill of this pid: not proof of anything.
  r = checkAfter(STOCK, 'bind-strict', (raw) => {
    raw['bind-strict'] = raw['bind-strict']!.replace(/^.*Killed process.*$/m, '');
  });
  t.is(r.outcome, 'error');
  t.regex(r.summary, /OOM killer did not name it/);
});

test('no-fallback-in: a fill that could not be run is an error, never "nothing spilled"', (t) => {
  const r = checkAfter(PRIVATE, 'no-fallback-in', (raw) => {
    raw['no-fallback-in'] = raw['no-fallback-in']!.replace(/^\{.*\n/gm, '').replace(/^# exit 137$/m, '# exit 127');
  });
  t.is(r.outcome, 'error');
  t.regex(r.summary, /exited 127 on its own \(could not be run\)/);
});

test('abi: the command line and sysfs must agree; a refusal the kernel explains counts as agreement', (t) => {
  // private_node=1 asked, but the kernel (vanilla) ignored the word silently: a failure on any profile.
  let r = checkAfter(
    STOCK,
    'abi',
    (raw) => (raw['kernel-state'] = raw['kernel-state']!.replace(/(net\.ifnames=0)/, '$1 private_node=1')),
  );
  t.regex(
    r.problems.join('\n'),
    /the command line has private_node=1, but sysfs does not list node 1 as private and the kernel gave no reason/,
  );
  // A node with CPUs asked, refused with a reason on the console: no disagreement, only "P is not private".
  r = checkAfter(STOCK, 'abi', (raw) => {
    raw['kernel-state'] = raw['kernel-state']!.replace(/(net\.ifnames=0)/, '$1 private_node=0').replace(
      /### private-node-log\n/,
      '### private-node-log\n[    0.000000] private_node: node 0 has CPUs, not made private\n',
    );
  });
  t.deepEqual(r.problems.length, 1);
  t.deepEqual(
    (r.evidence.refusals as Record<string, string>)['0'],
    '[    0.000000] private_node: node 0 has CPUs, not made private',
  );
  // ,user asked, has_user_memory exists without P.
  r = checkAfter(
    PRIVATE,
    'abi',
    (raw) => (raw['kernel-state'] = raw['kernel-state']!.replace('private_node=1', 'private_node=1,user')),
  );
  t.is(r.outcome, 'fail');
  t.regex(r.summary, /not in has_user_memory/);
});

test('profile detection: every spelling of the private ABI, and the opt-in by command line', (t) => {
  const { state } = contextOf(STOCK);
  const detect = (nodeStates: Record<string, number[]>, cmdline = '') =>
    detectProfile({
      nodeStates: { has_memory: [0, 1], has_normal_memory: [0, 1], ...nodeStates },
      zones: state.zones,
      cmdline,
      p: 1,
    }).profile;
  t.is(detect({}), 'vanilla');
  t.is(detect({ has_private_memory: [1] }), 'private');
  t.is(detect({ has_memory_private: [1] }), 'private');
  for (const f of ['has_common_memory', 'has_public_memory', 'has_fallback_memory']) {
    t.is(detect({ [f]: [0] }), 'private', f);
    t.is(detect({ [f]: [0, 1] }), 'vanilla', f);
  }
  t.is(detect({ has_private_memory: [1], has_user_memory: [1] }), 'private-user');
  t.is(detect({ has_private_memory: [1] }, 'console=ttyS0 private_node=1,user'), 'private-user');
  t.is(detect({ has_private_memory: [1] }, 'private_node=2,user'), 'private');
});

test("virtio-rings: P's ranges must agree with QEMU's map; rings inside them pass", (t) => {
  const r = checkAfter(
    STOCK,
    'virtio-rings',
    (raw) =>
      (raw['virtio-rings'] = raw['virtio-rings']!.replace(
        /^0000000100000000-000000013fffffff/m,
        '0000000100000000-000000011fffffff',
      )),
  );
  t.is(r.outcome, 'error');
  t.regex(r.summary, /disagree with QEMU's map of mem1/);
  const moved = checkAfter(PRIVATE, 'virtio-rings', () => undefined);
  t.is(moved.outcome, 'pass');
  t.is((moved.evidence.rings as unknown[]).length, 9, 'three parts of three queues');
});

test('the lean kernel: rings of a built-in virtio_net alternate between the nodes; compaction without VM event counters is judged by frames', (t) => {
  const { raw, ctx } = run(LEAN);
  const rings = evaluateInvariant(
    INVARIANTS.find((s) => s.id === 'virtio-rings')!,
    raw,
    ctx,
  );
  const onP = (rings.evidence.rings as { onP: boolean }[]).map((r) => r.onP);
  t.true(onP.includes(true) && onP.includes(false), JSON.stringify(onP));
  const compaction = evaluateInvariant(
    INVARIANTS.find((s) => s.id === 'compaction')!,
    raw,
    ctx,
  );
  t.is((compaction.evidence.nodeCompact as { scanned: number | null }).scanned, null);
  t.regex(compaction.problems.join('\n'), /bound pages within node 1: compaction runs there/);
});
