import test from 'ava';
import { CrashScanner } from '../../src/console/crash-scanner.js';
import { crashSignature } from '../../src/console/crash-signature.js';
import { BootFailure } from '../../src/guest/boot-failure.js';
import type { CheckResult, Verdict } from '../../src/model/verdict.js';
import { assembleVerdict, type RunSeen } from '../../src/run/assemble-verdict.js';
import { CheckProgress } from '../../src/run/check-progress.js';
import { fixture } from '../helpers/fixtures.js';

// The verdict from what a run saw (src/run/assemble-verdict.ts), with crashes scanned from consoles
// recorded from real guests (test/fixtures/console/README.md).
const crashesIn = (log: string) => {
  const s = new CrashScanner();
  s.feed(fixture('console', log));
  return s.crashes.map((c) => ({ ...c, signature: crashSignature(c) }));
};
const header: Verdict = {
  runId: 'r',
  cell: 'private-virtio/stock',
  topology: 'private-virtio',
  kernel: { kind: 'stock', release: '6.12.118+deb12-cloud-amd64', path: '/vmlinuz' },
  accel: { accel: 'tcg', cpuModel: 'max' },
  checks: [],
  crashes: [],
  timings: {},
  artifacts: {},
} as unknown as Verdict;
const pass = (id: string): CheckResult => ({
  id,
  title: id,
  expected: 'pass',
  outcome: 'pass',
  summary: 'holds',
  problems: [],
  evidence: {},
});

/** Three checks: the first done, the second under way when the run ended. */
function progressed(): CheckProgress {
  const p = new CheckProgress(['topology', 'abi', 'no-kernel-memory']);
  p.begin('topology', 0);
  p.results.push(pass('topology'));
  p.begin('abi', 0);
  return p;
}
const seen = (more: Partial<RunSeen>): RunSeen => ({ end: { kind: 'done' }, crashes: [], bootRetries: [], ...more });

test('a kernel crash during a check: that check and the rest not-run with the reason, the crash kept, no stop record', (t) => {
  const [crash] = crashesIn('stock-sysrq-crash.log');
  const v = assembleVerdict(
    header,
    seen({ end: { kind: 'kernel-crash', crash: crash!, during: 'abi' }, crashes: [crash!] }),
    progressed(),
  );
  t.deepEqual(
    v.checks.map((c) => `${c.id} ${c.outcome}`),
    ['topology pass', 'abi not-run', 'no-kernel-memory not-run'],
  );
  t.regex(v.checks[1]!.summary, /^the guest kernel crashed \(.+\) during abi$/);
  t.regex(v.checks[2]!.summary, /^not reached: the guest kernel crashed/);
  t.is(v.crashes.length, 1);
  t.is(v.stopped, undefined);
});

test('QEMU gone under the run is a stop with its reason; a boot failure leaves every check not-run', (t) => {
  const gone = assembleVerdict(
    header,
    seen({ end: { kind: 'qemu-exited', how: 'killed by SIGKILL', during: 'abi' } }),
    progressed(),
  );
  t.deepEqual(gone.stopped, { reason: 'qemu-exited', message: 'QEMU exited (killed by SIGKILL) during abi' });
  const lines = fixture('console', 'built-init-nonexistent.log').split('\n');
  const failure = new BootFailure('kernel-panic', 'the kernel panicked at boot', lines.slice(-40));
  const never = assembleVerdict(header, seen({ bootFailure: failure }), new CheckProgress(['topology', 'abi']));
  t.is(never.bootFailure?.reason, 'kernel-panic');
  t.deepEqual(
    never.checks.map((c) => `${c.outcome}: ${c.summary}`),
    [
      'not-run: not reached: the guest did not come up (kernel-panic)',
      'not-run: not reached: the guest did not come up (kernel-panic)',
    ],
  );
});

test('a page allocation failure the probe provokes by offlining memory is set apart; one in a page fault still counts', (t) => {
  const crashes = crashesIn('probe-offline-alloc-failure.log');
  t.is(crashes.length, 2, 'the console holds both reports');
  const v = assembleVerdict(header, seen({ crashes }), progressed());
  t.deepEqual(
    v.probeProvoked?.map((c) => c.lines.some((l) => l.includes('offline_pages'))),
    [true],
  );
  t.deepEqual(
    v.crashes.map((c) => c.lines.some((l) => l.includes('exc_page_fault'))),
    [true],
  );
});

test('the spurious single-step trap of TCG (WARNING in exc_debug_kernel) is set apart under TCG and fails the run under KVM', (t) => {
  const crashes = crashesIn('tcg-spurious-debug-trap.log');
  t.deepEqual(
    crashes.map((c) => c.title),
    ['WARNING in exc_debug_kernel (arch/x86/kernel/traps.c:1120)'],
  );
  const tcg = assembleVerdict(header, seen({ crashes }), progressed());
  t.deepEqual(tcg.crashes, []);
  t.deepEqual(
    tcg.emulatorArtifacts?.map((c) => c.title),
    [crashes[0]!.title],
  );
  const kvm = assembleVerdict(
    { ...header, accel: { accel: 'kvm', cpuModel: 'host' } },
    seen({ crashes }),
    progressed(),
  );
  t.deepEqual(
    kvm.crashes.map((c) => c.title),
    [crashes[0]!.title],
  );
  t.is(kvm.emulatorArtifacts, undefined);
});
