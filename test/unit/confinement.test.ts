import test from 'ava';
import { evaluateInvariant } from '../../src/invariants/evaluate.js';
import { cpuHotplug, endingOf, homeNode, jitFill } from '../../src/invariants/families/confinement.js';
import { invariant } from '../../src/invariants/registry.js';
import { CrashScanner } from '../../src/console/crash-scanner.js';
import { contextOf, hotplugContext, judgeRecorded, rawOutputs } from '../helpers/recorded.js';
import { fixture } from '../helpers/fixtures.js';

// Series v1 (patches 0001-0013) recorded with the review's probes, next to v2 (0001-0019, bind-spill re-recorded on 0001-0024) in
// test/fixtures/guest/patched-6.12-*: each finding fails on v1 and passes on v2.
const V1 = 'series-v1-6.12-private';
const V1_USER = 'series-v1-6.12-private-user';
const V2 = 'patched-6.12-private';
const V2_USER = 'patched-6.12-private-user';

const outcome = (dir: string, id: string) => judgeRecorded(invariant(id), dir);

test('home-node: v1 under ,user accepts PREFERRED_MANY {C} with home P and loops on BIND {P} with home C; v2 refuses the first and puts the second on P', (t) => {
  const v1 = outcome(V1_USER, 'home-node');
  t.is(v1.outcome, 'fail');
  t.deepEqual(v1.problems, [
    "PREFERRED_MANY {0} with home node 1: accepted (its pages land on C while C has room, then on node 1: alloc_pages_preferred_many's second pass starts from the home node)",
    'BIND {1} with home node 0: the fault did not finish in 10 s (killed with cgroup.kill)',
  ]);
  const v2 = outcome(V2_USER, 'home-node');
  t.is(v2.outcome, 'pass', v2.summary);
  t.is(
    v2.summary,
    'PREFERRED_MANY {0} with home node 1: refused with EINVAL; BIND {1} with home node 0: every page on node 1',
  );
});

test('home-node without ,user: the series refuses both already in v1', (t) => {
  for (const dir of [V1, V2]) t.is(outcome(dir, 'home-node').outcome, 'pass', dir);
});

test('bind-spill: v1 under ,user is OOM-killed with P empty; v2 completes with the rest on P; n/a without ,user', (t) => {
  const v1 = outcome(V1_USER, 'bind-spill');
  t.is(v1.outcome, 'fail');
  t.regex(v1.summary, /^bound to \{0,1\}, the task was OOM-killed after \d+ of \d+ MiB with 0 MiB on node 1$/);
  const v2 = outcome(V2_USER, 'bind-spill');
  t.is(v2.outcome, 'pass', v2.summary);
  t.true((v2.evidence.pagesOnP as number) > 0);
  t.is(outcome(V2, 'bind-spill').outcome, 'skip');
});

test('bind-spill fails on a fill OOM-killed with pages on P: 0017 spilling at the low watermark, in CI', (t) => {
  // The task's refault of its own text (default policy, C's zonelist only) found C's page cache evicted (README there).
  const r = judgeRecorded(invariant('bind-spill'), V2_USER, () => fixture('bind-spill', 'low-wmark-ci.txt'));
  t.is(r.outcome, 'fail');
  t.is(r.summary, 'bound to {0,1}, the task was OOM-killed after 224 of 256 MiB with 106 MiB on node 1');
});

test("bind-spill on the stock kernel's private-movable by bad luck: spilled onto P, then OOM-killed for a page table of C's", (t) => {
  // Cold CI, 2026-12-05 (README there): the recorded pass and this fail are the same kernel and topology.
  const STOCK = 'stock-6.12-private-movable';
  t.is(outcome(STOCK, 'bind-spill').outcome, 'pass');
  const r = judgeRecorded(invariant('bind-spill'), STOCK, () => fixture('bind-spill', 'stock-movable-ci.txt'));
  t.is(r.outcome, 'fail');
  t.is(r.summary, 'bound to {0,1}, the task was OOM-killed after 288 of 320 MiB with 107 MiB on node 1');
  t.regex((r.evidence.oomLines as string[])[0]!, /invoked oom-killer: gfp_mask=0x440dc0\(GFP_KERNEL_ACCOUNT/);
});

test('cpuset-private on v1 crashes the guest: the console has the oops of a rebound policy with no node (node_data[MAX_NUMNODES])', (t) => {
  // Recorded on v1 with private_node=1: the rebind case's task, its interleave policy rebound to {},
  // allocates a sigqueue as it stops (do_notify_parent_cldstop) and SLUB asks node 64's data.
  const scanner = new CrashScanner();
  scanner.feed(fixture('console', 'series-v1-rebind-oops.log'));
  scanner.flush();
  const reports = scanner.crashes;
  t.true(reports.length >= 1);
  t.is(reports[0]!.title, 'unable to handle page fault for address 000000000000114a');
  t.true(reports[0]!.lines.some((l) => /__sigqueue_alloc/.test(l)));
  for (const dir of [V2, V2_USER]) {
    const r = outcome(dir, 'cpuset-private');
    t.is(r.outcome, 'pass', `${dir}: ${r.summary}`);
    t.is(r.summary, 'cpuset.mems=1 refused with EINVAL, directly and as a rebind target');
  }
});

test('a bounded case says how it ended: exit, killed after its time, or not even then', (t) => {
  t.deepEqual(endingOf('x\n# exit 0\n', 'w'), { ended: 'exit', status: 0 });
  t.deepEqual(endingOf('# hung 10\n', 'w'), { ended: 'hung', secs: 10 });
  t.deepEqual(endingOf('# exit 0\n# unkillable 15\n', 'w'), { ended: 'unkillable', secs: 15 });
  t.throws(() => endingOf('{"probe":"x"}\n', 'w'), { message: /the task's end was not reported/ });
});

test('home-node: a fault record missing after a clean exit is a broken probe, not a pass', (t) => {
  const raw = rawOutputs(V2_USER);
  const ctx = contextOf(V2_USER, raw);
  raw['home-node'] = raw['home-node']!.replace(/^\{"probe":"home-node","call":"fault".*$/gm, '');
  t.is(evaluateInvariant(homeNode, raw, ctx).outcome, 'error');
});

// cpu-hotplug on patches/private-node/private.topology.json (private_node=1), recorded under TCG on
// 2026-12-06 with the guest booted as VMware's (docs/kvm.md): the stock kernel and v1 online CPU 2
// on node 1, v2 (0019) refuses the online write. The no-slot pair is v2 with ,user recorded before
// that, when the guest counted no slot (a kernel without CONFIG_DMI still would). The outputs of a
// CPU that never appears, of no free slot and of a full translation buffer are v2's recording with
// those sections edited: QEMU's slot list or the guest's CPU files as they would then read.
const hotplug = (name: string) => ({
  'cpu-hotplug-add': fixture('cpu-hotplug', `cpu-hotplug-add.${name}.txt`),
  'cpu-hotplug': fixture('cpu-hotplug', `cpu-hotplug.${name}.txt`),
});

test('cpu-hotplug: the stock kernel and v1 bring CPU 2 up on P, v2 refuses it; a guest that counts no slot is a skip', (t) => {
  const ctx = hotplugContext();
  for (const kernel of ['stock', 'v1']) {
    const r = evaluateInvariant(cpuHotplug, hotplug(kernel), ctx);
    t.is(r.outcome, 'fail', kernel);
    t.is(r.summary, "CPU 2 came online on node 1 (node 1's CPUs: 2)");
  }
  const v2 = evaluateInvariant(cpuHotplug, hotplug('v2'), ctx);
  t.is(v2.outcome, 'pass', v2.summary);
  t.is(v2.summary, 'CPU 2, hot-added on node 1: its online write was refused (Operation not permitted)');
  t.true(
    (v2.evidence as { kernelLines: string[] }).kernelLines.some((l) =>
      l.endsWith('private_node: CPU 2 is on private node 1, not brought up'),
    ),
  );
  const noSlot = evaluateInvariant(cpuHotplug, hotplug('no-slot'), ctx);
  t.is(noSlot.outcome, 'skip');
  t.regex(noSlot.summary, /possible: 0,1\).*as VMware's guest.*CONFIG_DMI/);
});

test('cpu-hotplug: a CPU that never appears, no free slot or a full translation buffer is an error, never a pass', (t) => {
  const ctx = hotplugContext();
  const v2 = hotplug('v2');
  const absent = { ...v2, 'cpu-hotplug': v2['cpu-hotplug'].replace(/### online\n.*\n/, '### online\nabsent\n') };
  t.is(evaluateInvariant(cpuHotplug, absent, ctx).outcome, 'error', 'a CPU that never appears proves nothing');
  const slot = (answer: string) => ({
    ...absent,
    'cpu-hotplug-add': v2['cpu-hotplug-add'].replace(/### slot\n.*\n/, `### slot\n${answer}\n`),
  });
  t.is(evaluateInvariant(cpuHotplug, slot('none'), ctx).outcome, 'error', 'QEMU offered no slot: nothing was tried');
  const full = evaluateInvariant(
    cpuHotplug,
    {
      ...slot('jit full'),
      'cpu-hotplug-add': slot('jit full')['cpu-hotplug-add'].replace(
        /### jit\n.*\n/,
        '### jit\n1700000000/2147360768\n',
      ),
    },
    ctx,
  );
  t.is(full.outcome, 'error', 'a CPU not added for want of translation buffer proves nothing');
  t.regex(full.summary, /1700000000\/2147360768 bytes full/);
});

test('cpu-hotplug is not run on a topology without a CPU slot on P', (t) => {
  t.regex(cpuHotplug.unsupported!(contextOf(V2).topology, contextOf(V2).roles)!, /no hot-plug CPU slot on node 1/);
  t.is(cpuHotplug.unsupported!(hotplugContext().topology, hotplugContext().roles), undefined);
});

test("jitFill reads x-query-jit's buffer state; nothing under KVM", (t) => {
  // The text QEMU 7.2 answered 29 s into a stock whole suite on private.topology.json (2026-12-06).
  const text = 'Translation buffer state:\ngen code size       507619395/1073618944\nTB count            923556\n';
  t.deepEqual(jitFill(text), { used: 507619395, total: 1073618944 });
  t.is(jitFill('JIT information is only available with accel=tcg'), undefined);
});
