import test from 'ava';
import { parseExpect } from '../../src/cli/options.js';
import { evaluateInvariant } from '../../src/invariants/evaluate.js';
import { inferExpectedProfile, profileMismatch } from '../../src/invariants/expectation.js';
import { invariant } from '../../src/invariants/registry.js';
import { verdictHolds, type Verdict } from '../../src/model/verdict.js';
import { parseRunConfig } from '../../src/run/config.js';
import { builtinTopology } from '../../src/topology/builtin.js';
import { contextOf, rawOutputs } from '../helpers/recorded.js';

// Verdicts judged by what the user asked for, not by what the kernel says of itself (issue 20), on
// guests recorded from the lean kernel without the series and from the series with private_node=1.
const virtio = builtinTopology('private-virtio')!;
const movable = builtinTopology('private-movable')!;

test('the expected profile comes from the request: private_node=P, ",user", a hot-plugged P, else vanilla', (t) => {
  t.is(inferExpectedProfile('console=ttyS0 private_node=1', virtio, 1).profile, 'private');
  t.is(inferExpectedProfile('private_node=1,user', virtio, 1).profile, 'private-user');
  // A topology's private_node=1 and --append private_node=1,user: the kernel sets ",user" on top (2026-12-05, hugepages-1g).
  t.deepEqual(inferExpectedProfile('private_node=1 hugepages=2 private_node=1,user', virtio, 1), {
    profile: 'private-user',
    why: 'inferred: the command line has private_node=1 and private_node=1,user',
  });
  t.is(inferExpectedProfile('private_node=2', virtio, 1).profile, 'vanilla', 'another node asked for is not P');
  t.is(inferExpectedProfile('memhp_default_state=online_movable', movable, 1).profile, 'vanilla-movable');
  t.is(inferExpectedProfile('', virtio, 1).profile, 'vanilla');
  t.regex(inferExpectedProfile('private_node=1', virtio, 1).why, /^inferred: the command line has private_node=1$/);
});

test('abi fails with the sentence when the kernel is not what was asked for, whatever the column expects', (t) => {
  const lean = 'lean-6.12-private-virtio';
  const ctx = contextOf(lean);
  t.is(ctx.profile, 'vanilla', 'the lean kernel shows an ordinary node');
  const asked = evaluateInvariant(invariant('abi'), rawOutputs(lean), {
    ...ctx,
    profile: 'private',
    detected: ctx.profile,
  });
  t.is(asked.outcome, 'fail');
  t.is(asked.summary, 'asked for private, the kernel shows node 1 as ordinary memory: the series did not take effect');
  t.is(asked.problems[0], asked.summary);
  t.deepEqual([asked.evidence.expectedProfile, asked.evidence.detectedProfile], ['private', 'vanilla']);
  // The same kernel judged by the column it was asked to be: the known violation, expected.
  t.is(evaluateInvariant(invariant('abi'), rawOutputs(lean), { ...ctx, detected: ctx.profile }).outcome, 'xfail');

  const series = 'patched-6.12-private';
  const sctx = contextOf(series);
  t.is(evaluateInvariant(invariant('abi'), rawOutputs(series), { ...sctx, detected: sctx.profile }).outcome, 'pass');
  const vanilla = evaluateInvariant(invariant('abi'), rawOutputs(series), {
    ...sctx,
    profile: 'vanilla',
    detected: sctx.profile,
  });
  t.is(vanilla.outcome, 'fail', 'a column that expects abi to fail does not hide the mismatch');
  t.regex(
    vanilla.summary,
    /^asked for vanilla, the kernel shows node 1 as private, without the user opt-in: not the kernel asked for$/,
  );
  t.is(profileMismatch('private-user', 'private-user', 1), undefined);
});

test('a run whose kernel shows another profile than the one asked for does not hold, even with every check as expected', (t) => {
  const v = { checks: [], crashes: [], profile: { profile: 'vanilla', reason: 'r' } } as unknown as Verdict;
  t.true(verdictHolds(v), 'no expectation recorded (an older report): as before');
  t.true(verdictHolds({ ...v, expectedProfile: { profile: 'vanilla', why: 'inferred' } }));
  t.false(verdictHolds({ ...v, expectedProfile: { profile: 'private', why: 'declared (--expect)' } }));
});

test('--expect: one profile for every kernel or one per --kernel word; a run config says the same with "expect"', (t) => {
  t.deepEqual(parseExpect('private', ['stock', 'built']), ['private', 'private']);
  t.deepEqual(parseExpect('vanilla,private', ['stock', 'built:private-node']), ['vanilla', 'private']);
  t.deepEqual(parseExpect(undefined, ['stock']), [undefined]);
  t.throws(() => parseExpect('privat', ['built']), { message: /--expect privat: "privat" is no kernel profile/ });
  t.throws(() => parseExpect('vanilla,private', ['built']), { message: /2 profiles for 1 kernels/ });
  t.is(parseRunConfig({ expect: ['vanilla', 'private'], kernel: 'built' }, '/x/night.json').expect, 'vanilla,private');
  t.throws(() => parseRunConfig({ expect: 'privat' }, '/x/night.json'), {
    message: /expect: must be a kernel profile or a list/,
  });
});
