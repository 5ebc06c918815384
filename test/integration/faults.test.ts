import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { dir } from 'tmp-promise';
import { resolveCacheDir } from '../../src/adapters/cache-dir.js';
import { DEFAULT_FRAGMENTS } from '../../src/adapters/kernel-builder.js';
import { freeLocalPort } from '../../src/adapters/ports.js';
import { bootGuest } from '../../src/guest/boot.js';
import { prepareRun } from '../../src/run/run.js';
import { SUITES } from '../../src/invariants/registry.js';
import { BootFailure } from '../../src/guest/boot-failure.js';
import { DEFAULT_IMAGE } from '../../src/image/recipe.js';
import { silentLogger } from '../../src/log.js';
import { DEFAULT_TOPOLOGY } from '../../src/topology/builtin.js';
import {
  CLI,
  LEAN,
  leftovers,
  logLine,
  numacage,
  onlyRunDir,
  processesWorkingUnder,
  qemuProcessesMentioning,
} from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';
import { copyIntoCache, theImage } from '../helpers/cached.js';
import { tryLock } from '../../src/adapters/locks.js';

// The fault suite (docs/reliability.md): real faults in a guest, each ending in a report, an exit code, and
// nothing left behind. The lean kernel where it will do (faster to boot); the stock one for the panic (sysrq).
const qmpDirsOf = (pid: number | undefined) =>
  readdirSync(tmpdir()).filter((d) => d.startsWith(`numacage-qmp-${pid}-`));
const report = (runDir: string) => JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8'));
const outcomes = (r: { checks: { outcome: string }[] }) => r.checks.map((c) => c.outcome);

/** A "probe" that does one harmful thing as root in the guest the first time a check runs it. */
async function faultyProbe(script: string): Promise<{ path: string; cleanup(): Promise<void> }> {
  const d = await dir({ unsafeCleanup: true });
  const path = join(d.path, 'probe');
  writeFileSync(path, `#!/bin/sh\n${script}\n`);
  chmodSync(path, 0o755);
  return { path, cleanup: () => d.cleanup() };
}

test.serial(
  'QEMU SIGKILLed mid-probe: qemu-exited, the report written, the unfinished checks not-run, nothing left',
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const child = execa('node', [CLI, '--json', 'run', ...LEAN, '--out', out.path], { reject: false, stdin: 'ignore' });
    await logLine(child, 'guest answers SSH');
    await new Promise((r) => setTimeout(r, 3000));
    const qemu = qemuProcessesMentioning(out.path);
    t.is(qemu.length, 1);
    process.kill(qemu[0]!, 'SIGKILL');
    const r = await child;
    t.is(r.exitCode, 1, String(r.stderr));
    const runDir = onlyRunDir(out.path);
    const rep = report(runDir);
    t.is(rep.stopped.reason, 'qemu-exited');
    t.regex(rep.stopped.message, /QEMU exited \(killed by SIGKILL\)/);
    t.true(outcomes(rep).includes('not-run'), outcomes(rep).join(' '));
    t.is(rep.checks.length, SUITES.isolation!.length, 'every selected check is in the report');
    t.regex(readFileSync(join(runDir, 'junit.xml'), 'utf8'), /not-run|QEMU exited/);
    t.regex(readFileSync(join(runDir, 'summary.txt'), 'utf8'), /RUN STOPPED \(qemu-exited\)/);
    t.false(existsSync(join(runDir, 'root.qcow2')), 'the overlay is removed');
    t.deepEqual(qemuProcessesMentioning(out.path), []);
    t.deepEqual(qmpDirsOf(child.pid), []);
    await out.cleanup();
  },
);

test.serial(
  'the guest kernel panics mid-probe (sysrq-c): the crash in the report, the rest not-run, exit 1, QEMU gone',
  async (t) => {
    const probe = await faultyProbe('echo c > /proc/sysrq-trigger; sleep 30');
    const out = await dir({ unsafeCleanup: true });
    const r = await numacage(['run', '--out', out.path], {
      env: { ...process.env, NUMACAGE_PROBE_BINARY: probe.path },
    });
    t.is(r.exitCode, 1, r.all);
    const rep = report(onlyRunDir(out.path));
    t.true(
      rep.crashes.some((c: { fatal: boolean; title: string }) => c.fatal && /sysrq|panic/i.test(c.title)),
      JSON.stringify(rep.crashes.map((c: { title: string }) => c.title)),
    );
    t.true(outcomes(rep).includes('not-run'));
    t.falsy(rep.stopped, 'a crash is a crash, not a QEMU exit');
    t.deepEqual(qemuProcessesMentioning(out.path), []);
    await probe.cleanup();
    await out.cleanup();
  },
);

test.serial(
  'an "Oops: int3" of the TCG patching artifact after boot: the whole run once more on a fresh boot, its first console kept, the steps judged on the second',
  async (t) => {
    // The first upload is a step that puts the artifact's report on the console through /dev/kmsg, as root
    // (test/fixtures/console/stock-tcg-stale-int3.log: no int3 where the vCPU trapped), and waits to be
    // stopped; once numacage says it runs again, the host file is `true` for the second upload.
    const oops = fixture('console', 'stock-tcg-stale-int3.log')
      .split('\n')
      .filter(Boolean)
      .map((l) => `echo '<0>${l.replace(/^\[[^\]]*\] /, '')}' > /dev/kmsg`);
    const d = await dir({ unsafeCleanup: true });
    const step = join(d.path, 'step.sh');
    writeFileSync(step, `${oops.join('\n')}\nsleep 30\n`);
    const out = join(d.path, 'runs');
    const run = ['run', ...LEAN, '--accel', 'tcg', '--suite', 'none', '--upload', `${step}:/root/step.sh`];
    const child = execa('node', [CLI, '--json', ...run, '--exec', 'sh /root/step.sh', '--out', out], {
      reject: false,
      stdin: 'ignore',
    });
    await logLine(child, 'the guest hit a known TCG artifact; running again');
    writeFileSync(step, 'true\n');
    const r = await child;
    t.is(r.exitCode, 0, String(r.stderr));
    const runDir = onlyRunDir(out);
    const rep = report(runDir);
    t.deepEqual(outcomes(rep), ['pass'], 'the step, judged on the second run');
    t.deepEqual(rep.crashes, []);
    t.is(rep.bootRetries.length, 1);
    t.is(rep.bootRetries[0].reason, 'kernel-crash');
    t.is(rep.bootRetries[0].message, 'Oops: int3: 0000 [#1] PREEMPT SMP NOPTI during exec-1: the run started again');
    t.regex(readFileSync(join(runDir, 'console-1.log'), 'utf8'), /Oops: int3/);
    t.notRegex(readFileSync(join(runDir, 'console.log'), 'utf8'), /Oops: int3/);
    t.regex(
      readFileSync(join(runDir, 'summary.txt'), 'utf8'),
      /TRIED AGAIN after a known TCG artifact \(kernel-crash\)/,
    );
    t.deepEqual(qemuProcessesMentioning(out), []);
    await d.cleanup();
  },
);

test.serial(
  'sshd killed in the guest mid-probe: every check left is an error naming SSH, exit 1, within the step timeouts',
  async (t) => {
    const probe = await faultyProbe('pkill -9 -x sshd; sleep 5');
    const out = await dir({ unsafeCleanup: true });
    const started = Date.now();
    const r = await numacage(['run', ...LEAN, '--out', out.path], {
      env: { ...process.env, NUMACAGE_PROBE_BINARY: probe.path },
    });
    t.is(r.exitCode, 1, r.all);
    const rep = report(onlyRunDir(out.path));
    const broken = rep.checks.filter((c: { outcome: string }) => c.outcome === 'error');
    t.true(broken.length > 0);
    for (const c of broken) t.regex(c.summary, /the SSH connection to the guest failed/, c.id);
    t.false(
      outcomes(rep).includes('pass') && outcomes(rep).filter((o) => o === 'pass').length > 3,
      'no check passes on a guest it cannot reach',
    );
    t.deepEqual(qemuProcessesMentioning(out.path), []);
    t.log(
      `sshd gone: ${((Date.now() - started) / 1000).toFixed(0)} s to a report; outcomes ${outcomes(rep).join(' ')}`,
    );
    await probe.cleanup();
    await out.cleanup();
  },
);

test.serial(
  'bad numbers and files never reach an internal error: exit 2 naming the option or the JSON path',
  async (t) => {
    for (const args of [
      ['run', '--boot-timeout', 'abc'],
      ['run', '--guests', '0'],
      ['run', '--jobs', '1.5'],
    ]) {
      const r = await numacage(args);
      t.is(r.exitCode, 2, `${args.join(' ')}: ${r.all}`);
      t.regex(r.stderr, new RegExp(`${args[1]} ${args[2]!.replace('.', '\\.')}: must be`));
    }
    const d = await dir({ unsafeCleanup: true });
    const cases: [string, unknown, RegExp][] = [
      [
        'topology',
        { memory: '1G', cpus: 1, nodes: [{ id: 0, mem: '1G', cpus: '0', share: false }], devices: [null] },
        /devices\[0\]: must be an object/,
      ],
      [
        'topology',
        { memory: '1G', cpus: 1, nodes: [{ id: 0, mem: '1G', cpus: '0', share: false, hmat: null }] },
        /nodes\[0\]\.hmat: must be/,
      ],
      ['config', { topology: 5 }, /topology: must be a string/],
      ['config', { append: 5 }, /append: must be a string or a list of strings/],
    ];
    for (const [kind, body, problem] of cases) {
      const file = join(d.path, `${kind}.json`);
      writeFileSync(file, JSON.stringify(body));
      const r = await numacage(['plan', kind === 'topology' ? '--topology' : '--config', file]);
      t.is(r.exitCode, 2, r.all);
      t.regex(r.stderr, problem);
      t.notRegex(r.stderr, /internal error/);
    }
    await d.cleanup();
  },
);

test.serial(
  'an unwritable cache dir: exit 3 naming it and what to do, before anything is built or booted; no run dir',
  async (t) => {
    const d = await dir({ unsafeCleanup: true });
    const notADir = join(d.path, 'a-file');
    writeFileSync(notADir, '');
    const out = join(d.path, 'runs');
    for (const args of [
      ['run', '--suite', 'smoke', '--out', out],
      ['kernel', 'build'],
      ['image', 'build'],
    ]) {
      const r = await numacage(['--cache-dir', join(notADir, 'cache'), ...args]);
      t.is(r.exitCode, 3, `${args[0]}: ${r.all}`);
      t.regex(r.stderr, new RegExp(`the cache dir ${notADir}/cache is not writable \\(ENOTDIR`));
      t.regex(r.stderr, /what to do: give a writable --cache-dir/);
    }
    t.false(existsSync(out), 'no run dir');
    await d.cleanup();
  },
);

/** A tmpfs of the given size at a fresh mountpoint: a cache dir whose disk can fill. */
async function tinyFilesystem(
  size: string,
): Promise<{ path: string; resize(size: string): void; cleanup(): Promise<void> }> {
  const d = await dir({ unsafeCleanup: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'numacage-test', d.path]);
  return {
    path: d.path,
    resize: (s) => execFileSync('mount', ['-o', `remount,size=${s}`, d.path]),
    cleanup: async () => {
      execFileSync('umount', [d.path]);
      await d.cleanup();
    },
  };
}

/** What a full cache filesystem must give: exit 3, the tool's own words, and what to do. */
function assertDiskFull(t: ExecutionContext, r: { exitCode: number; stderr: string; all: string }): void {
  t.is(r.exitCode, 3, r.all);
  t.regex(r.stderr, /No space left on device|enough free space/);
  t.regex(r.stderr, /what to do: a filesystem is full/);
}

test.serial(
  'a full disk during an image build: exit 3 naming it, no half entry; given room, a build that finds another building waits for it and takes its image',
  async (t) => {
    const fs = await tinyFilesystem('150m');
    const cache = join(fs.path, 'cache');
    assertDiskFull(t, await numacage(['--cache-dir', cache, 'image', 'build']));
    const images = join(cache, 'images');
    t.deepEqual(
      readdirSync(images).filter((e) => !e.endsWith('.lock')),
      [],
      'no entry and no staging dir',
    );
    t.is(leftovers(cache), '');

    // Room again, and "another numacage" building: the test holds the image's lock as a build does (the
    // builder's side runs in every image build), starts a build, and commits an image as the builder would.
    // The build must wait, then take that image instead of building its own.
    fs.resize('1g');
    const image = await theImage();
    const key = basename(image.dir);
    const release = await tryLock(images, key);
    t.truthy(release, 'the lock was free');
    const waiter = execa('node', [CLI, '--json', '--cache-dir', cache, 'image', 'build'], { reject: false, all: true });
    await logLine(waiter, `another numacage is building image ${key}; waiting`);
    copyIntoCache(cache, [image.dir]);
    await release!();
    const r = await waiter;
    t.is(r.exitCode, 0, r.all);
    t.is(r.stdout.trim(), join(images, key), 'it names the image the other build made');
    t.regex(r.stderr, /image cache hit/);
    t.notRegex(r.stderr, /building image \(mmdebstrap/, 'it built nothing itself');
    t.is(leftovers(cache), '', 'no staging dir or lock left');
    await fs.cleanup();
  },
);

test.serial(
  'a full disk while extracting the kernel source: exit 3 naming it, no half source tree left to be taken for a whole one',
  async (t) => {
    const fs = await tinyFilesystem('100m');
    const cache = join(fs.path, 'cache');
    assertDiskFull(t, await numacage(['--cache-dir', cache, 'kernel', 'build']));
    t.deepEqual(readdirSync(join(cache, 'kernel-src')), [], 'no half extraction');
    t.is(leftovers(cache), '');
    await fs.cleanup();
  },
);

test.serial(
  'SIGTERM during an image build: mmdebstrap and all it ran in the chroot are stopped, its mounts gone; nothing left, exit 143',
  async (t) => {
    const cache = await dir({ unsafeCleanup: true });
    const child = execa('node', [CLI, '--json', '--cache-dir', cache.path, 'image', 'build'], {
      reject: false,
      stdin: 'ignore',
      forceKillAfterDelay: false,
    });
    await logLine(child, 'building image (mmdebstrap + mkfs.ext4 -d)');
    // mmdebstrap has mounted /proc, /sys and /dev in the chroot by then.
    await new Promise((r) => setTimeout(r, 20_000));
    child.kill('SIGTERM');
    const r = await child;
    t.is(r.exitCode, 143, `${r.signal ?? ''} ${String(r.stderr)}`);
    t.deepEqual(processesWorkingUnder(cache.path), [], 'no mmdebstrap, apt or dpkg left');
    t.false(readFileSync('/proc/mounts', 'utf8').includes(cache.path), 'nothing mounted under the cache');
    t.deepEqual(
      readdirSync(join(cache.path, 'images')).filter((e) => !e.endsWith('.lock')),
      [],
      'no entry and no staging dir',
    );
    t.is(leftovers(cache.path), '');
    await cache.cleanup();
  },
);

/** The lean kernel's run on the defaults, prepared in-process (cache hits), for faults below the CLI. */
async function preparedLeanRun(out: string) {
  return prepareRun({
    cacheDir: resolveCacheDir(),
    outDir: out,
    topology: DEFAULT_TOPOLOGY,
    image: DEFAULT_IMAGE,
    accel: 'tcg',
    init: 'minimal',
    append: [],
    invariants: ['topology'],
    kernel: { kind: 'built', fragments: DEFAULT_FRAGMENTS },
    log: silentLogger(),
  });
}

test.serial(
  "the SSH port taken between numacage's choice and QEMU's bind: QEMU cannot forward it, numacage boots again on another port",
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const prepared = await preparedLeanRun(out.path);
    const squatter = createServer().listen(0, '127.0.0.1');
    await once(squatter, 'listening');
    const taken = (squatter.address() as AddressInfo).port;
    let picks = 0;
    const warnings: string[] = [];
    const log = silentLogger();
    log.warn = ((obj: object, msg: string) => void warnings.push(`${msg} ${JSON.stringify(obj)}`)) as typeof log.warn;
    const guest = await bootGuest({
      runDir: prepared.runDir,
      plan: prepared.plan,
      image: prepared.image,
      log,
      pickPort: async () => (picks++ === 0 ? taken : freeLocalPort()),
    });
    try {
      t.not(guest.sshPort, taken);
      t.is(picks, 2);
      t.regex(warnings.join('\n'), /SSH port taken before QEMU could bind it; trying another/);
      t.is((await guest.exec('uname -r')).exitCode, 0);
      t.true(
        readFileSync(join(prepared.runDir, 'qemu-argv.txt'), 'utf8').includes(
          `hostfwd=tcp:127.0.0.1:${guest.sshPort}-:22`,
        ),
        'the recorded argv is the one that booted',
      );
    } finally {
      await guest.close();
      squatter.close();
    }
    t.deepEqual(qemuProcessesMentioning(prepared.runDir), []);
    await out.cleanup();
  },
);

test.serial(
  "a wrong SSH key against the guest's real sshd: ssh-auth-refused within seconds, naming the refusal, not a 120 s ssh-timeout",
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const prepared = await preparedLeanRun(out.path);
    const wrongKey = join(out.path, 'wrong_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrongKey]);
    const started = Date.now();
    const err = await t.throwsAsync(
      bootGuest({
        runDir: prepared.runDir,
        plan: prepared.plan,
        image: { ...prepared.image, privateKeyPath: wrongKey },
        log: silentLogger(),
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    t.true(err instanceof BootFailure, String(err));
    t.is((err as BootFailure).reason, 'ssh-auth-refused');
    t.regex(err!.message, /sshd refused the image's key 3 times: All configured authentication methods failed/);
    t.true(seconds < 60, `${seconds} s`);
    t.deepEqual(qemuProcessesMentioning(prepared.runDir), []);
    t.deepEqual(qmpDirsOf(process.pid), []);
    await out.cleanup();
  },
);
