import test from 'ava';
import { CrashScanner, type Crash } from '../../src/console/crash-scanner.js';
import { fixture } from '../helpers/fixtures.js';
import { BootFailure, isStaleInt3, isTcgPatchingArtifact } from '../../src/guest/boot-failure.js';
import { provokedByProbe } from '../../src/console/crash-patterns.js';

function scan(text: string, chunkSize = text.length): Crash[] {
  const s = new CrashScanner();
  for (let i = 0; i < text.length; i += chunkSize) s.feed(text.slice(i, i + chunkSize));
  s.flush();
  return s.crashes;
}

test('a clean boot of the stock kernel (real console) has no crash', (t) => {
  t.deepEqual(scan(fixture('console', 'stock-clean-boot.log')), []);
});

test('a real panic: built kernel with init=/nonexistent', (t) => {
  const [c, ...rest] = scan(fixture('console', 'built-init-nonexistent.log'));
  t.deepEqual(rest, []);
  t.is(c!.type, 'panic');
  t.true(c!.fatal);
  t.is(c!.title, 'Kernel panic - not syncing: Requested init /nonexistent failed (error -2).');
  t.true(c!.atSeconds! > 0.5 && c!.atSeconds! < 10);
  // panic=-1 restarts before the end marker is printed: the block runs to the last line.
  t.true(c!.lines.at(-1)!.includes('Kernel Offset: disabled'));
  t.true(c!.lines.some((l) => l.includes('kernel_init')));
});

test('a real panic on the stock kernel: sysrq-trigger c', (t) => {
  const crashes = scan(fixture('console', 'stock-sysrq-crash.log'));
  t.deepEqual(
    crashes.map((c) => c.title),
    ['Kernel panic - not syncing: sysrq triggered crash'],
  );
  t.true(crashes[0]!.lines.some((l) => l.includes('sysrq_handle_crash')));
});

test('each report family is named with its title; noise is ignored; a second banner is a reboot', (t) => {
  const crashes = scan(fixture('console', 'constructed-reports.log'));
  t.deepEqual(
    crashes.map((c) => [c.type, c.title, c.fatal]),
    [
      ['warning', 'WARNING in __alloc_pages_noprof (mm/page_alloc.c:4741)', false],
      ['alloc-failure', 'page allocation failure: order:0 in probe', false],
      ['oops', 'unable to handle page fault for address ffff888100000000', true],
      ['gpf', 'general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#3]', true],
      ['kasan', 'KASAN: slab-use-after-free in migrate_pages+0x1234/0x2000', true],
      ['soft-lockup', 'soft lockup in kcompactd1:35', true],
      ['rcu-stall', 'rcu_preempt detected stall', false],
      ['hung-task', 'task kswapd1:40 blocked for more than 120 seconds', false],
      ['refcount', 'refcount_t: underflow;', false],
      ['bug', 'kernel BUG at mm/migrate.c:1234', true],
      ['bad-page', 'Bad page state in probe', true],
      ['ubsan', 'UBSAN: shift-out-of-bounds in mm/mempolicy.c:99:5', false],
      ['reboot', 'the guest rebooted (a second Linux version banner)', true],
    ],
  );
  const warning = crashes[0]!;
  t.is(warning.lines[0], '[    5.000000] ------------[ cut here ]------------');
  t.is(warning.lines.at(-1), '[    5.000009] ---[ end trace 0000000000000000 ]---');
  t.is(warning.atSeconds, 5.000001);
});

test('a header split across chunks, one byte at a time, is still caught', (t) => {
  const text = fixture('console', 'built-init-nonexistent.log');
  t.deepEqual(
    scan(text, 1).map((c) => c.title),
    scan(text).map((c) => c.title),
  );
  t.deepEqual(
    scan(text, 7).map((c) => c.lines.length),
    scan(text).map((c) => c.lines.length),
  );
});

test('an unterminated last line is scanned at flush', (t) => {
  t.deepEqual(
    scan('[    1.0] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100').map((c) => c.type),
    ['panic'],
  );
});

test('a boot that ends in "Oops: int3" under TCG is the live-patching artifact, tried once more; nothing else is', (t) => {
  // The header line as seen twice on Debian's stock 6.12 kernel under TCG (issue 10), fed through the scanner.
  const crash = scan(
    '[    3.104912] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI\n[    3.105000] RIP: 0010:sched_clock_cpu+0x9/0x1e0\n',
  )[0]!;
  const failure = (c = crash) => new BootFailure('kernel-crash', 'the guest kernel crashed', [], c);
  t.true(isTcgPatchingArtifact(failure(), 'tcg'));
  t.false(isTcgPatchingArtifact(failure(), 'kvm'));
  t.false(isTcgPatchingArtifact(failure({ ...crash, title: 'Oops: general protection fault' }), 'tcg'));
  t.false(isTcgPatchingArtifact(new BootFailure('ssh-timeout', 'no SSH', []), 'tcg'));
  const afterInit = new BootFailure(
    'kernel-crash',
    'crashed',
    ['[    4.1] Run /sbin/numacage-init as init process', '[    5.0] Oops: int3: 0000 [#1]'],
    crash,
  );
  t.false(isTcgPatchingArtifact(afterInit, 'tcg'), 'never retried once init runs');
});

test('an "Oops: int3" after boot whose dumped code holds no int3 where the vCPU trapped is the TCG artifact (the run starts again); nothing else is', (t) => {
  const crash = scan(fixture('console', 'stock-tcg-stale-int3.log'))[0]!;
  t.is(crash.title, 'Oops: int3: 0000 [#1] PREEMPT SMP NOPTI');
  t.true(isStaleInt3(crash, 'tcg'));
  t.false(isStaleInt3(crash, 'kvm'), 'under KVM an int3 oops is the kernel');
  // The breakpoint still in memory (cc before the marked byte): a real one, the kernel's report.
  const live = { ...crash, lines: crash.lines.map((l) => l.replace('66 <90>', 'cc <90>')) };
  t.false(isStaleInt3(live, 'tcg'));
  t.false(isStaleInt3({ ...crash, lines: crash.lines.filter((l) => !/Code: /.test(l)) }, 'tcg'), 'no code, no claim');
  t.false(isStaleInt3({ ...crash, title: 'Oops: general protection fault' }, 'tcg'));
});

// The first block's header and top frames are the real report of CI run 11 (stock 6.12 on
// private-movable, while the probe offlined node 0's blocks to press it); its lower frames, cut
// from that log, are the 6.12 call path of a sysfs "offline" write (state_store -> device_offline ->
// memory_subsys_offline -> offline_pages -> migrate_pages -> alloc_migration_target). The second block
// is the same failure in a page fault (a bound fill), which nothing of numacage asks for.
test('a page allocation failure in the cpuset of P alone that cpuset-private makes is told apart; the same in another cgroup is not', (t) => {
  const [failure, ...rest] = scan(fixture('console', 'stock-movable-cpuset-alloc-failure.log'));
  t.deepEqual(rest, []);
  t.is(failure!.title, 'page allocation failure: order:0 in numacage-probe');
  t.true(provokedByProbe(failure!));
  const elsewhere = failure!.lines.map((l, i) => (i === 0 ? l.replace('numacage-cpuset-private', 'user.slice') : l));
  t.false(provokedByProbe({ ...failure!, lines: elsewhere }));
});

test('a page allocation failure the probe provokes by offlining memory is told apart; the same failure in a fault is not', (t) => {
  const [offlining, fault, ...rest] = scan(fixture('console', 'probe-offline-alloc-failure.log'));
  t.deepEqual(rest, []);
  t.is(offlining!.title, 'page allocation failure: order:0 in numacage-probe');
  t.true(provokedByProbe(offlining!));
  t.is(fault!.title, 'page allocation failure: order:0 in numacage-probe');
  t.false(provokedByProbe(fault!));
  t.false(
    provokedByProbe({ ...offlining!, title: 'page allocation failure: order:0 in stress-ng' }),
    'only the probe is ours',
  );
});

test("a page allocation failure in cma-user's claim through debugfs is told apart; the same failure without that call is not", (t) => {
  const [claim, ...rest] = scan(fixture('console', 'series-cma-claim-alloc-failure.log'));
  t.deepEqual(rest, []);
  t.is(claim!.title, 'page allocation failure: order:0 in bash');
  t.true(provokedByProbe(claim!));
  t.false(provokedByProbe({ ...claim!, lines: claim!.lines.filter((l) => !/cma_alloc_write/.test(l)) }));
});
