import { readFileSync } from 'node:fs';
import { projectPath } from '../../src/adapters/project.js';
import test from 'ava';
import { evaluateInvariant } from '../../src/invariants/evaluate.js';
import { INVARIANTS, selectInvariants, SUITES } from '../../src/invariants/registry.js';
import type { KernelProfile } from '../../src/invariants/profile.js';
import { usesProbe, type ProbeContext } from '../../src/invariants/spec.js';
import { contextOf, evaluateAll, outcomes, rawOutputs } from '../helpers/recorded.js';

const STOCK = 'stock-6.12-private-virtio';
const STOCK_MOVABLE = 'stock-6.12-private-movable';
const STOCK_HMAT = 'stock-6.12-hmat-tiered';
const PRIVATE = 'constructed-private';
const PRIVATE_USER = 'constructed-private-user';

/** The outcome each invariant must have on a kernel of this profile: the catalogue's column, exactly. */
function column(profile: KernelProfile): Record<string, string> {
  return Object.fromEntries(INVARIANTS.map((s) => [s.id, { pass: 'pass', fail: 'xfail', 'n/a': 'skip' }[s.expect[profile]]]));
}

function run(dir: string): { ctx: ProbeContext; raw: Record<string, string>; got: Record<string, string> } {
  const raw = rawOutputs(dir);
  const ctx = contextOf(dir, raw);
  return { ctx, raw, got: outcomes(evaluateAll(raw, ctx)) };
}

for (const [dir, profile] of [[STOCK, 'vanilla'], [STOCK_MOVABLE, 'vanilla-movable'], [STOCK_HMAT, 'vanilla'], [PRIVATE, 'private'], [PRIVATE_USER, 'private-user']] as const) {
  test(`${dir}: detected as ${profile}, and every invariant gives that column exactly`, (t) => {
    const { ctx, got } = run(dir);
    t.is(ctx.profile, profile);
    t.deepEqual(got, column(profile));
  });
}

test('every invariant can fail and can pass, on recorded or physically possible outputs', (t) => {
  const passes = new Set<string>();
  const fails = new Set<string>();
  for (const dir of [STOCK, STOCK_MOVABLE, STOCK_HMAT, PRIVATE, PRIVATE_USER]) {
    const raw = rawOutputs(dir);
    const ctx = contextOf(dir, raw);
    for (const spec of INVARIANTS) {
      if (spec.expect[ctx.profile] === 'n/a') continue;
      const d = spec.decide(spec.parse(raw, ctx), ctx);
      (d.passed ? passes : fails).add(spec.id);
    }
  }
  // Invariants that every kernel here passes fail on the broken kernels of the tests below.
  for (const id of ['topology', 'cpuset', 'bind-strict']) fails.add(id);
  t.deepEqual([...passes].sort(), INVARIANTS.map((s) => s.id).sort(), 'able to pass');
  t.deepEqual([...fails].sort(), INVARIANTS.map((s) => s.id).sort(), 'able to fail');
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
    raw[k] = raw[k]!.replace(/"placement":\{([^}]*)\}/g, (_, body: string) => `"placement":{"EPERM":${[...body.matchAll(/:(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0)}}`);
}

for (const [name, breakIt] of [['a probe that does nothing', hollowProbe], ['a probe that is `false`', falseProbe], ['placement reads that fail', unreadablePlacement]] as const) {
  for (const dir of [STOCK, PRIVATE, PRIVATE_USER]) {
    test(`${name} turns every check that uses the probe into an error, never a pass (${dir})`, (t) => {
      const raw = rawOutputs(dir);
      const ctx = contextOf(dir, raw);
      breakIt(raw);
      // Placement reads can only break checks whose records carry placements.
      const affected = INVARIANTS.filter((s) => usesProbe(s, ctx) && (breakIt !== unreadablePlacement || s.steps(ctx).some((st) => raw[st.name]?.includes('"EPERM"'))));
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
    t.is(evaluateInvariant(spec, { 'kernel-state': raw['kernel-state']! }, ctx).outcome, 'error', `${spec.id} with no output`);
    const cut = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.slice(0, Math.floor(v.length / 3))]));
    t.is(evaluateInvariant(spec, cut, ctx).outcome, 'error', `${spec.id} cut short`);
  }
});

test('suites and --only come from the registry, in run order, with the disturbing checks last', (t) => {
  t.is(SUITES.isolation!.length, 18);
  t.deepEqual(selectInvariants('smoke'), ['topology', 'abi', 'no-kernel-memory']);
  t.deepEqual(selectInvariants('isolation', 'hugetlb,topology'), ['topology', 'hugetlb']);
  t.throws(() => selectInvariants('isolation', 'nope'), { message: /unknown invariant "nope"/ });
  t.throws(() => selectInvariants('everything'), { message: /unknown suite/ });
  const firstDisturbing = INVARIANTS.findIndex((s) => s.disturbs);
  t.true(INVARIANTS.slice(firstDisturbing).every((s) => s.disturbs), 'nothing read-mostly runs after a check that disturbs the guest');
  t.is(INVARIANTS.at(-1)!.id, 'no-fallback-in', 'the heaviest pressure runs last');
});

test('the expectation table in docs/invariants.md is the registry\'s, row for row', (t) => {
  const doc = readFileSync(projectPath('docs', 'invariants.md'), 'utf8');
  const table = doc.slice(doc.indexOf('| id | how |'));
  const rows = table.split('\n').slice(2).filter((l) => l.startsWith('| ')).map((l) => l.split(' | ').map((c) => c.replace(/^\| |\s*\|$/g, '').trim()));
  const documented = rows.slice(0, rows.findIndex((r) => r.length < 6) === -1 ? rows.length : rows.findIndex((r) => r.length < 6));
  t.deepEqual(documented.map((r) => r[0]), INVARIANTS.map((s) => s.id), 'the same ids in the same order');
  for (const r of documented) {
    const spec = INVARIANTS.find((s) => s.id === r[0])!;
    t.deepEqual(r.slice(-4), [spec.expect.vanilla, spec.expect['vanilla-movable'], spec.expect.private, spec.expect['private-user']], r[0]);
  }
});
