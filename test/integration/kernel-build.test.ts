import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { dir } from 'tmp-promise';
import { resolveCacheDir } from '../../src/adapters/cache-dir.js';
import { DEFAULT_FRAGMENTS, requestAliasPath } from '../../src/adapters/kernel-builder.js';
import { projectPath } from '../../src/adapters/project.js';
import { BANNER, pristineKernelSource } from '../helpers/cached.js';
import { CLI, leftovers, logLine, numacage, onlyRunDir, processesWorkingUnder } from '../helpers/cli.js';

// The patched default kernel is built once per cache (about 11 min cold on 2 cores) and reused by every later run.
const cacheDir = resolveCacheDir();
const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: 'numacage tests',
  GIT_AUTHOR_EMAIL: 'tests@numacage.invalid',
  GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z',
  GIT_COMMITTER_NAME: 'numacage tests',
  GIT_COMMITTER_EMAIL: 'tests@numacage.invalid',
  GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z',
};

function workTreeMainC(): string[] {
  const work = join(cacheDir, 'kernel-work');
  return readdirSync(work)
    .filter((d) => d.startsWith('debian-'))
    .map((d) => readFileSync(join(work, d, 'src/init/main.c'), 'utf8'));
}

test.serial(
  'kernel build: linux-source-6.12 + a format-patch folder + the default fragments gives a bzImage',
  async (t) => {
    const r = await numacage(['kernel', 'build', '--patches', BANNER]);
    t.is(r.exitCode, 0, r.all);
    const entry = r.stdout.split('\n')[0]!;
    for (const f of ['bzImage', 'config', 'System.map', 'build.log', 'meta.json', 'patches/0001.patch'])
      t.true(existsSync(join(entry, f)), f);
    const meta = JSON.parse(readFileSync(join(entry, 'meta.json'), 'utf8'));
    t.regex(meta.release, /^6\.12\.\d+/);
    t.deepEqual(
      meta.patches.map((p: { name: string }) => p.name),
      ['0001-init-announce-numacage-test-patch.patch'],
    );
    const config = readFileSync(join(entry, 'config'), 'utf8');
    for (const opt of [
      'CONFIG_NUMA=y',
      'CONFIG_VIRTIO_BLK=y',
      'CONFIG_VIRTIO_NET=y',
      'CONFIG_KSM=y',
      'CONFIG_MEMORY_HOTREMOVE=y',
    ])
      t.true(config.includes(opt), opt);
    t.log(r.stdout.trim());
  },
);

test.serial(
  'a repeat is a cache hit, and reordered fragments with the same .config reuse the artifact without compiling',
  async (t) => {
    let r = await numacage(['kernel', 'build', '--patches', BANNER]);
    t.is(r.exitCode, 0, r.all);
    t.regex(r.stderr, /"msg":"kernel cache hit"/);
    t.notRegex(r.stderr, /building kernel/);
    r = await numacage(['kernel', 'build', '--patches', BANNER, '--kconfig', 'numa-mm', 'guest-base']);
    t.is(r.exitCode, 0, r.all);
    // The first time through the .config is compared ("same final .config"); later the request itself is remembered.
    t.regex(r.stderr, /kernel cache hit( \(same final \.config\))?"/);
    t.notRegex(r.stderr, /building kernel/);
    // A fragment may be named with its .config suffix too.
    r = await numacage(['kernel', 'build', '--patches', BANNER, '--kconfig', 'guest-base.config', 'numa-mm.config']);
    t.is(r.exitCode, 0, r.all);
    t.notRegex(r.stderr, /building kernel/);
  },
);

test.serial(
  'a patch that does not apply: exit 2 naming the patch, the file and the hunk; the tree is left clean',
  async (t) => {
    const r = await numacage([
      'kernel',
      'build',
      '--patches',
      projectPath('test/fixtures/patches/does-not-apply.patch'),
    ]);
    t.is(r.exitCode, 2, r.all);
    t.regex(r.stderr, /patch .*does-not-apply\.patch does not apply to linux-source-6\.12/);
    t.regex(r.stderr, /init\/main\.c/);
    t.regex(r.stderr, /Hunk #1 FAILED/);
    for (const mainC of workTreeMainC()) {
      t.false(mainC.includes('numacage-test-patch'));
      t.false(mainC.includes('numa_default_policy_renamed'));
    }
    t.deepEqual(
      readdirSync(join(cacheDir, 'kernels')).filter((d) => d.startsWith('.staging')),
      [],
    );
  },
);

test.serial(
  'an option that does not stick: exit 2 listing each option with asked and actual value; asked again, the same from the remembered .config',
  async (t) => {
    const build = () =>
      numacage([
        'kernel',
        'build',
        '--kconfig',
        'guest-base',
        'numa-mm',
        projectPath('test/fixtures/kconfigs/does-not-stick.config'),
      ]);
    const [first, second] = [await build(), await build()];
    for (const r of [first, second]) {
      t.is(r.exitCode, 2, r.all);
      t.regex(r.stderr, /2 kconfig option\(s\) did not stick/);
      t.regex(r.stderr, /CONFIG_HW_RANDOM_VIRTIO: asked y in .*does-not-stick\.config, got not set/);
      t.regex(r.stderr, /CONFIG_CRASH_CORE: asked y in .*does-not-stick\.config, got not set/);
    }
    // The second request's .config came from the build dir's memo, without running Kconfig.
    t.regex(second.stderr, /kconfig skipped: this patch set was configured in this build dir before/);
  },
);

test.serial('bad kernel input: unknown fragment, missing patches, a non-git --kernel-src', async (t) => {
  let r = await numacage(['kernel', 'build', '--kconfig', 'no-such-fragment']);
  t.is(r.exitCode, 2);
  t.regex(r.stderr, /kconfig fragment "no-such-fragment" not found/);
  r = await numacage(['kernel', 'build', '--patches', 'no-such-series']);
  t.is(r.exitCode, 2);
  t.regex(r.stderr, /--patches no-such-series: no such file or folder/);
  const count = readFileSync(projectPath('patches', 'private-node', 'series'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#')).length;
  r = await numacage(['kernel', 'build', '--patches', `private-node@${count + 1}`]);
  t.is(r.exitCode, 2);
  t.true(
    r.stderr.includes(
      `--patches private-node@${count + 1}: private-node has ${count} patch(es), so @${count + 1} is no prefix of it`,
    ),
    r.stderr,
  );
  const tmp = await dir({ unsafeCleanup: true });
  r = await numacage(['kernel', 'build', '--kernel-src', tmp.path]);
  t.is(r.exitCode, 2);
  t.regex(r.stderr, /is not a git work tree/);
  await tmp.cleanup();
});

test.serial('run --kernel built boots the patched bzImage directly and the patch shows inside the guest', async (t) => {
  const out = await dir({ unsafeCleanup: true });
  const r = await numacage(['run', '--kernel', 'built', '--patches', BANNER, '--suite', 'smoke', '--out', out.path]);
  t.is(r.exitCode, 0, r.all);
  const runDir = onlyRunDir(out.path);
  const report = JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8'));
  t.is(report.kernel.kind, 'built');
  t.is(report.checks[0].outcome, 'pass');
  t.regex(readFileSync(join(runDir, 'probe', 'dmesg.txt'), 'utf8'), /numacage-test-patch: applied/);
  t.true(
    readFileSync(join(runDir, 'probe', 'kernel-state.txt'), 'utf8').includes(`### release\n${report.kernel.release}\n`),
  );
  t.false(readFileSync(join(runDir, 'qemu-argv.txt'), 'utf8').includes('-initrd'));
  t.true(existsSync(join(runDir, 'kernel.config')));
  t.log(`timings: ${JSON.stringify(report.timings)}`);
  await out.cleanup();
});

test.serial(
  '--kernel-src: a git tree with uncommitted changes is built as it is, and the checkout is left alone',
  async (t) => {
    // A git tree of linux-source-6.12 (hard links, fixed commit identity: the same commit every time,
    // so later runs hit the cache) with the banner patch applied but not committed. Objects are stored
    // uncompressed: zlib made `git add` of 80,000 files take 35 s instead of 17. No automatic gc: after
    // the commit, 80,000 loose objects start a detached `git gc --auto` that packs them on a core the
    // build wants and writes into .git while the cleanup removes it (the cleanup then failed, CI of fd08964).
    const tmp = await dir({ unsafeCleanup: true });
    const tree = join(tmp.path, 'linux');
    const pristine = await pristineKernelSource();
    const git = (...args: string[]) =>
      execFileSync(
        'git',
        ['-C', tree, '-c', 'core.looseCompression=0', '-c', 'gc.auto=0', '-c', 'maintenance.auto=false', ...args],
        {
          env: { ...process.env, ...GIT_IDENTITY },
          stdio: 'pipe',
          maxBuffer: 1 << 28,
        },
      );
    execFileSync('cp', ['-al', pristine, tree]);
    git('init', '-q', '-b', 'numacage-test');
    git('add', '-f', '-A');
    git('commit', '-q', '-m', 'linux-source-6.12');
    execFileSync('patch', [
      '-p1',
      '-s',
      '-d',
      tree,
      '-i',
      join(BANNER, '0001-init-announce-numacage-test-patch.patch'),
    ]);

    const out = await dir({ unsafeCleanup: true });
    const r = await numacage(['run', '--kernel-src', tree, '--only', 'topology', '--out', out.path]);
    t.is(r.exitCode, 0, r.all);
    const runDir = onlyRunDir(out.path);
    t.regex(readFileSync(join(runDir, 'probe', 'dmesg.txt'), 'utf8'), /numacage-test-patch: applied/);
    const report = JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8'));
    t.is(report.kernel.kind, 'built');
    t.regex(report.kernel.release, /^6\.12\.\d+\+$/, 'setlocalversion marks a git tree');
    t.is(git('status', '--porcelain', '--untracked-files=no').toString().trim(), 'M init/main.c');
    t.is(git('worktree', 'list').toString().trim().split('\n').length, 1);
    t.is(git('branch', '--list').toString().trim(), '* numacage-test');
    await out.cleanup();
    await tmp.cleanup();
  },
);

// Two builds at once in the shared kernel tree, the first stopped by a signal (this file runs alone:
// test/ava-phases.sh). The banner set really builds (--rebuild: the tree switches patch sets, then make
// compiles init/main.c and links); the other asks for the lean kernel with its fragments reordered, a
// request the cache is made to forget, so it must take the tree (undo the banner, configure) before it
// finds the lean kernel by its final .config. It waits for the tree, the first build is SIGTERMed, and
// it takes the tree over.
test.serial(
  'SIGTERM during a kernel build while another waits for the tree: make and its compilers stop, exit 143; the waiter then takes the tree, undoes the patch set and gives its own kernel; no staging dir or lock left',
  async (t) => {
    const reordered = [...DEFAULT_FRAGMENTS].reverse();
    const alias = await requestAliasPath({ cacheDir: resolveCacheDir(), fragments: reordered });
    rmSync(alias, { force: true });
    const spawn = (args: string[]) =>
      execa('node', [CLI, '--json', 'kernel', 'build', ...args], {
        reject: false,
        stdin: 'ignore',
        forceKillAfterDelay: false,
      });
    const banner = spawn(['--patches', BANNER, '--rebuild']);
    await logLine(banner, 'building kernel (make bzImage)');
    const plain = spawn(['--kconfig', ...reordered]);
    await logLine(plain, 'another numacage is building in this kernel tree; waiting');
    await new Promise((r) => setTimeout(r, 1500));
    const work = join(resolveCacheDir(), 'kernel-work');
    t.not(processesWorkingUnder(work).length, 0, 'make is running');
    banner.kill('SIGTERM');
    const a = await banner;
    t.is(a.exitCode, 143, String(a.stderr));
    // numacage waits for its tools before it exits (SIGTERM, SIGKILL 5 s later), so nothing of the first
    // build is left even a moment after; what works in the tree now is the waiter's.
    t.deepEqual(processesWorkingUnder(work, plain.pid), [], 'no make, gcc or ld of the stopped build left');
    const b = await plain;
    t.is(b.exitCode, 0, String(b.stderr));
    t.regex(String(b.stderr), /kernel cache hit \(same final \.config\)/);
    t.notRegex(readFileSync(join(String(b.stdout).split('\n')[0]!, 'meta.json'), 'utf8'), /numacage-test-patch/);
    for (const mainC of workTreeMainC()) t.false(mainC.includes('numacage-test-patch'), 'the banner is undone');
    t.is(leftovers(work), '', 'no lock left');
    t.is(leftovers(join(resolveCacheDir(), 'kernels')), '', 'no staging dir left');
    rmSync(alias, { force: true });
  },
);
