import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { dir } from 'tmp-promise';
import { execa } from 'execa';
import { CLI, numacage, onlyRunDir, qemuProcessesMentioning } from '../helpers/cli.js';

// These boot the lean built kernel (cached after kernel-build.test.ts) because it reaches SSH in about 6 s.

test.serial(
  'every built-in topology without a host backend boots and passes the topology check, two guests at a time (those with one: devices.test.ts)',
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const r = await numacage([
      'run',
      '--kernel',
      'built',
      '--topology',
      'private-virtio,private-movable,three-node,hmat-tiered',
      '--suite',
      'smoke',
      '--out',
      out.path,
    ]);
    t.is(r.exitCode, 0, r.all);
    const matrix = JSON.parse(readFileSync(join(onlyRunDir(out.path), 'matrix.json'), 'utf8'));
    t.deepEqual(
      matrix.runs.map((x: { verdict: { topology: string } }) => x.verdict.topology),
      ['private-virtio', 'private-movable', 'three-node', 'hmat-tiered'],
    );
    for (const run of matrix.runs) t.is(run.verdict.checks[0].outcome, 'pass', run.verdict.topology);
    t.regex(r.stdout, /4 guests, 2 at a time/);
    t.regex(r.stdout, /topology\s+pass\s+pass\s+pass\s+pass/);
    t.deepEqual(qemuProcessesMentioning(out.path), []);
    await out.cleanup();
  },
);

test.serial('a kernel that panics at boot ends in seconds with kernel-panic and the report', async (t) => {
  const out = await dir({ unsafeCleanup: true });
  const r = await numacage(['run', '--kernel', 'built', '--append', 'init=/nonexistent', '--out', out.path]);
  t.is(r.exitCode, 1, r.all);
  const report = JSON.parse(readFileSync(join(onlyRunDir(out.path), 'report.json'), 'utf8'));
  t.is(report.bootFailure.reason, 'kernel-panic');
  t.regex(report.bootFailure.message, /Kernel panic - not syncing: Requested init \/nonexistent failed/);
  t.is(report.crashes[0].type, 'panic');
  t.true(report.crashes[0].lines.length > 3);
  t.is(report.timings['boot-to-ssh'], undefined);
  t.regex(r.stdout, /BOOT FAILED \(kernel-panic\)/);
  t.regex(r.stdout, /KERNEL CRASH \(panic at \d+\.\d s\)/);
  await out.cleanup();
});

test.serial('a guest without sshd ends with ssh-timeout and the console tail', async (t) => {
  const out = await dir({ unsafeCleanup: true });
  // Words without "=" go to init as arguments: init runs `sleep 1000`, no sshd ever starts.
  const r = await numacage([
    'run',
    '--kernel',
    'built',
    '--append',
    'init=/bin/sleep 1000',
    '--boot-timeout',
    '12',
    '--out',
    out.path,
  ]);
  t.is(r.exitCode, 1, r.all);
  const report = JSON.parse(readFileSync(join(onlyRunDir(out.path), 'report.json'), 'utf8'));
  t.is(report.bootFailure.reason, 'ssh-timeout');
  t.regex(report.bootFailure.message, /did not answer SSH within 12 s/);
  t.true(report.bootFailure.consoleTail.some((l: string) => /Run \/bin\/sleep as init process/.test(l)));
  t.deepEqual(report.crashes, []);
  t.deepEqual(qemuProcessesMentioning(out.path), []);
  await out.cleanup();
});

test.serial(
  'numacage boot keeps a guest up; numacage ssh runs commands in it as root or, with --as user, as the image user; Ctrl-C ends it',
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const boot = execa('node', [CLI, 'boot', '--kernel', 'built', '--out', out.path], {
      reject: false,
      all: true,
      stdin: 'ignore',
    });
    try {
      await new Promise<void>((resolve, reject) => {
        let text = '';
        boot.stdout!.on('data', (d: Buffer) => {
          text += d.toString();
          if (/is up/.test(text)) resolve();
        });
        void boot.then((r) => reject(new Error(`numacage boot ended first: ${String(r.all)}`)));
      });
      const ssh = (args: string[]) => numacage(['ssh', ...args]);
      const root = await ssh(['--', 'id', '-un']);
      t.is(root.exitCode, 0, root.all);
      t.is(root.stdout.trim(), 'root');
      const user = await ssh(['--as', 'user', '--', 'id', '-un']);
      t.is(user.exitCode, 0, user.all);
      t.not(user.stdout.trim(), 'root');
      t.regex(user.stdout.trim(), /^[a-z][a-z0-9-]*$/);
      t.is((await ssh(['--', 'exit', '7'])).exitCode, 7, "the command's exit code passed through");
    } finally {
      boot.kill('SIGINT');
      await boot;
    }
    t.deepEqual(qemuProcessesMentioning(out.path), [], 'no QEMU outlives numacage boot');
    await out.cleanup();
  },
);
