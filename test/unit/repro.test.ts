import test from 'ava';
import { fixture } from '../helpers/fixtures.js';
import { sourceRelative } from '../../src/adapters/stack-decoder.js';
import { badBecause } from '../../src/investigate/bisect.js';
import type { Verdict } from '../../src/model/verdict.js';
import {
  portableQemu,
  qemuWords,
  renderReply,
  reproduced,
  wrap,
  wrapCommand,
  REPLY_WIDTH,
} from '../../src/report/reply.js';

// A verdict as numacage writes it for a --suite none run with one --exec step; the crash is the
// WARNING the mbind-warn fixture series prints (see test/fixtures/series/mbind-warn).
const verdict = (over: Partial<Verdict> = {}): Verdict => ({
  runId: 'r',
  topology: 'private-virtio',
  kernel: { kind: 'built', release: '6.12.117', path: '/k/bzImage', label: 'patched' },
  accel: { accel: 'tcg', cpuModel: 'max' },
  crashes: [],
  timings: {},
  artifacts: {},
  checks: [
    {
      id: 'exec-1',
      title: './repro',
      command: './repro',
      expected: 'pass',
      outcome: 'pass',
      summary: 'exit 0 (0.1 s)',
      problems: [],
      evidence: {},
    },
  ],
  ...over,
});
const warning = {
  type: 'warning',
  title: 'WARNING in do_mbind (mm/mempolicy.c:1299)',
  fatal: false,
  during: 'exec-1',
  signature: 'warning: do_mbind < kernel_mbind < __x64_sys_mbind',
  lines: [
    '[   7.1] WARNING: CPU: 0 PID: 200 at mm/mempolicy.c:1299 do_mbind+0x5a/0x5f0',
    '[   7.1] Call Trace:',
    '[   7.1]  kernel_mbind+0x6e/0x90',
  ],
};

test('wrapping: prose at 72 columns with its indent; a command line continued with backslashes', (t) => {
  const lines = wrap('word '.repeat(60), REPLY_WIDTH, '  ');
  t.true(lines.every((l) => l.length <= REPLY_WIDTH && l.startsWith('  ')));
  const cmd = wrapCommand(['qemu-system-x86_64', ...Array.from({ length: 30 }, (_, i) => `-opt${i}`)]);
  t.true(cmd.every((l) => l.length <= REPLY_WIDTH));
  t.true(cmd.slice(0, -1).every((l) => l.endsWith(' \\')));
});

test('reply.txt: what was tested, what happened on each kernel, the report and signature, the reproducer, and the trailer', (t) => {
  const patched = verdict({
    crashes: [warning],
    checks: [{ ...verdict().checks[0]!, outcome: 'fail', problems: ['the kernel reported WARNING in do_mbind'] }],
  });
  const base = verdict({ kernel: { ...verdict().kernel, label: 'base' } });
  t.true(reproduced(patched));
  t.false(reproduced(base));
  const reply = renderReply({
    subjects: ['[PATCH 1/2] mm/mempolicy: a', '[PATCH 2/2] mm/mempolicy: b'],
    source: 'linux-source-6.12 (Debian), 6.12.117',
    fragments: ['guest-base', 'numa-mm', 'debug-vm'],
    topology: {
      name: 'private-virtio',
      nodes: ['node 0 2048 MiB memfd share=off cpus 0,1', 'node 1 1024 MiB memfd share=on no CPUs'],
    },
    qemu: qemuWords(fixture('qemu-args', 'run-argv-migrate.txt')),
    attachments: ['config', 'repro.c'],
    reproducer: { name: 'repro.c', how: 'built with gcc -static -O2 on the host', text: 'int main(void)\n{\n}\n' },
    runs: { repeat: 3 },
    base,
    patched,
    who: 'A Tester <a@example.org>',
  });
  const prose = reply.replace(/\s+/g, ' ');
  t.regex(prose, /triggers a kernel report with this series applied, and not on its base/);
  t.regex(prose, /The kernel reported WARNING in do_mbind \(mm\/mempolicy\.c:1299\) during run 1 of 1/);
  t.regex(reply, /signature: warning: do_mbind < kernel_mbind < __x64_sys_mbind/);
  t.regex(prose, /Base \(6\.12\.117\): No kernel report in 1 run\(s\)/);
  t.regex(reply, /repro\.c:\n {2}int main\(void\)/);
  t.regex(reply, /\nReported-by: A Tester <a@example\.org>\n$/);
  t.regex(prose, /attached: config, repro\.c/);
  // The QEMU line names the reader's files, not this machine's, and offers no socket or port.
  t.regex(reply, /-kernel bzImage/);
  t.notRegex(reply, /\/root\/\.cache|\/tmp\/|qmp|hostfwd|guestfwd/);
  // Prose and the QEMU line fit in 72 columns; only quoted console lines, and a QEMU option that is
  // longer on its own with its value (the kernel command line, a -drive), may be longer.
  const long = reply.split('\n').filter((l) => l.length > REPLY_WIDTH);
  t.true(
    long.every((l) => /^ {2}(WARNING|Call|kernel_)|^ +-[\w-]+ ('[^']*'|\S+)( \\)?$/.test(l)),
    long.join('\n'),
  );
});

test('bisect: a step is bad by the check, the crash signature or the steps, as asked; a kernel that does not boot is bad', (t) => {
  const crashed = verdict({ crashes: [warning] });
  t.is(badBecause(crashed, { crash: 'warning: do_mbind' }), 'warning: do_mbind < kernel_mbind < __x64_sys_mbind');
  t.is(badBecause(verdict(), { crash: 'warning: do_mbind' }), undefined);
  t.regex(badBecause(crashed, { steps: true })!, /the kernel reported warning: do_mbind .* during exec-1/);
  t.is(badBecause(verdict(), { steps: true }), undefined);
  const check = (outcome: 'pass' | 'fail' | 'xfail') =>
    verdict({
      checks: [{ id: 'bind-strict', title: '', expected: 'pass', outcome, summary: 's', problems: [], evidence: {} }],
    });
  t.is(badBecause(check('pass'), { check: 'bind-strict' }), undefined);
  t.is(badBecause(check('xfail'), { check: 'bind-strict' }), undefined);
  t.regex(badBecause(check('fail'), { check: 'bind-strict' })!, /bind-strict: fail/);
  t.regex(
    badBecause(verdict({ bootFailure: { reason: 'kernel-panic', message: 'm', consoleTail: [] } }), { check: 'x' })!,
    /did not boot/,
  );
});

test('the portable QEMU line: the recorded run line with files named as the reply names them, no QMP, no forwards', (t) => {
  const argv = qemuWords(fixture('qemu-args', 'run-argv-migrate.txt'));
  t.true(argv.includes('-qmp') && argv.some((w) => w.includes('hostfwd=')), 'the recording has what is to be removed');
  const portable = portableQemu(argv);
  const at = (opt: string) => portable[portable.indexOf(opt) + 1];
  t.is(at('-kernel'), 'bzImage');
  t.is(at('-initrd'), 'initrd.img');
  t.is(at('-drive'), 'file=rootfs.qcow2,if=none,id=root,format=qcow2,discard=unmap');
  t.is(at('-netdev'), 'user,id=net0,restrict=on');
  t.false(portable.includes('-qmp'));
  // Everything else as recorded: the memory layout is the point of the line.
  t.deepEqual(
    portable.filter((w) => w.startsWith('memory-backend-memfd')),
    argv.filter((w) => w.startsWith('memory-backend-memfd')),
  );
  t.is(portable.length, argv.length - 2);
});

test('a decoded frame names its file from the top of the tree, also when ccache took the object from another build', (t) => {
  // Recorded in reply.txt of the repro integration test (2026-12-03): the one frame in an assembler file.
  const frame =
    'entry_SYSCALL_64_after_hwframe (/root/.cache/numacage/kernel-work/debian-6.12.118-1_deb12u1/build-8e3c3b74871b8c2d/../src/arch/x86/entry/entry_64.S:130) ';
  t.is(sourceRelative(frame), 'entry_SYSCALL_64_after_hwframe (arch/x86/entry/entry_64.S:130) ');
  // Recorded in the same test's output (2026-12-06, a cold cache at /tmp/cold47-cache): ccache's depend mode.
  const absolute =
    'RIP: 0010:do_mbind (/tmp/cold47-cache/kernel-work/debian-6.12.118-1_deb12u1/src/mm/mempolicy.c:1295) ';
  t.is(sourceRelative(absolute), 'RIP: 0010:do_mbind (mm/mempolicy.c:1295) ');
  const two =
    'do_syscall_64 (/tmp/cold47-cache/kernel-work/debian-6.12.118-1_deb12u1/src/arch/x86/entry/common.c:47 /tmp/cold47-cache/kernel-work/debian-6.12.118-1_deb12u1/src/arch/x86/entry/common.c:78) ';
  t.is(sourceRelative(two), 'do_syscall_64 (arch/x86/entry/common.c:47 arch/x86/entry/common.c:78) ');
  const c = 'do_mbind (mm/mempolicy.c:1299) ';
  t.is(sourceRelative(c), c);
});
