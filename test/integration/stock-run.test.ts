import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { dir } from 'tmp-promise';
import { execa } from 'execa';
import { leanRunCache } from '../helpers/cached.js';
import { CLI, LEAN, logLine, numacage, onlyRunDir, qemuProcessesMentioning } from '../helpers/cli.js';
import { INVARIANTS } from '../../src/invariants/registry.js';
import { usesProbe } from '../../src/invariants/spec.js';
import { contextOf } from '../helpers/recorded.js';
import { projectPath } from '../../src/adapters/project.js';
import { PROBE_SOURCES } from '../../src/adapters/probe-binary.js';
import { resolveCacheDir } from '../../src/adapters/cache-dir.js';
import { readGuestScript } from '../../src/adapters/guest-scripts.js';
import { QEMU_BINARY } from '../../src/adapters/qemu-process.js';
import { materialise, type RunPlan } from '../../src/plan/run-plan.js';
import { renderCommandLine } from '../../src/qemu/reproducer.js';
import { builtinTopology } from '../../src/topology/builtin.js';
import { column as columnOf } from '../helpers/columns.js';

const column = (profile: 'vanilla' | 'vanilla-movable') =>
  columnOf(profile, builtinTopology(profile === 'vanilla' ? 'private-virtio' : 'private-movable')!);

// One real guest: Debian's stock 6.12 kernel on the default private-virtio topology, under TCG here.
// Tests of numacage's own harness (probes, signals, plan) boot the lean kernel instead: it reaches SSH in about
// 6 s, the stock one in 10-13 s.
test.serial(
  'numacage run on the defaults: the stock kernel, both nodes with their sizes, and the vanilla column exactly',
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const r = await numacage(['run', '--out', out.path]);
    t.is(r.exitCode, 0, r.all);
    const runDir = onlyRunDir(out.path);
    const report = JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8'));
    t.true(report.ok);
    t.is(report.topology, 'private-virtio');
    t.is(report.kernel.kind, 'stock');
    t.regex(report.kernel.release, /^6\.12\.\d+\+deb12-cloud-amd64$/);
    const topo = report.checks.find((c: { id: string }) => c.id === 'topology');
    t.is(topo.outcome, 'pass');
    const nodes = topo.evidence.nodes as { node: number; cpus: number[]; memTotalMiB: number }[];
    t.deepEqual(
      nodes.map((n) => n.cpus),
      [[0, 1], []],
    );
    t.true(nodes[0]!.memTotalMiB > 1800 && nodes[0]!.memTotalMiB <= 2048, `node 0: ${nodes[0]!.memTotalMiB} MiB`);
    t.true(nodes[1]!.memTotalMiB > 950 && nodes[1]!.memTotalMiB <= 1024, `node 1: ${nodes[1]!.memTotalMiB} MiB`);
    t.deepEqual(
      topo.evidence.devices.map((d: { node: number }) => d.node),
      [1],
    );
    t.regex(r.stdout, /PASS\s+topology\s+[\d.]+ s\s+2 nodes, node 0: \d+ MiB cpus \[0,1\]; node 1: \d+ MiB cpus \[\]/);
    t.is(report.profile.profile, 'vanilla');
    t.deepEqual(
      Object.fromEntries(report.checks.map((c: { id: string; outcome: string }) => [c.id, c.outcome])),
      column('vanilla'),
    );
    t.deepEqual(report.crashes, []);
    // The host read node 1's memfd after every witnessed step and bore out the guest (no check is an error).
    // A check the topology cannot test (a skip before any step) has no step to witness.
    const witnessed = (c: { id: string; outcome: string }) =>
      c.outcome !== 'skip' && INVARIANTS.find((s) => s.id === c.id)?.witnessed;
    for (const c of report.checks.filter(witnessed))
      t.true(
        c.evidence.hostWitness?.steps.every((s: { hostPagesOnNode?: number }) => typeof s.hostPagesOnNode === 'number'),
        `${c.id}: ${JSON.stringify(c.evidence.hostWitness)}`,
      );

    // Artifacts: console, argv, reproducer, raw probes, all report formats; the overlay is gone.
    t.regex(readFileSync(join(runDir, 'console.log'), 'utf8'), /Linux version 6\.12/);
    const argv = readFileSync(join(runDir, 'qemu-argv.txt'), 'utf8');
    t.regex(argv, /memory-backend-memfd,id=mem0,size=2048M,share=off/);
    t.regex(argv, /memory-backend-memfd,id=mem1,size=1024M,share=on/);
    t.true((statSync(join(runDir, 'reproduce.sh')).mode & 0o111) !== 0);
    t.regex(readFileSync(join(runDir, 'probe', 'topology.txt'), 'utf8'), /available: 2 nodes \(0-1\)/);
    for (const f of ['junit.xml', 'results.ktap', 'summary.txt']) t.true(existsSync(join(runDir, f)), f);
    t.false(existsSync(join(runDir, 'root.qcow2')));
    t.deepEqual(qemuProcessesMentioning(out.path), []);
    t.true(
      report.checks.every((c: { durationSeconds?: number }) => typeof c.durationSeconds === 'number'),
      'every check has its duration',
    );
    t.regex(readFileSync(join(runDir, 'junit.xml'), 'utf8'), /<testcase [^>]*name="no-fallback-in" time="\d+\.\d"/);
    t.log(
      `timings: ${JSON.stringify(report.timings)}; per check: ${report.checks.map((c: { id: string; durationSeconds: number }) => `${c.id} ${c.durationSeconds}`).join(', ')}`,
    );
    await out.cleanup();
  },
);

test.serial('the stock kernel on private-movable is vanilla-movable and matches that column exactly', async (t) => {
  const out = await dir({ unsafeCleanup: true });
  const r = await numacage(['run', '--topology', 'private-movable', '--out', out.path]);
  const report = JSON.parse(readFileSync(join(onlyRunDir(out.path), 'report.json'), 'utf8'));
  // Debian's kernel spills the bound fill onto P, and now and then a kernel allocation of the fill
  // (its page table) then finds C below its min watermark: the OOM killer, by luck, with pages on P
  // (test/fixtures/bind-spill/README.md). The check fails then, as it must; nothing else may differ.
  const spill = report.checks.find((c: { id: string }) => c.id === 'bind-spill');
  const unluckySpill =
    spill.outcome === 'fail' &&
    spill.evidence.ending === 'oom-killed' &&
    spill.evidence.pagesOnP > 0 &&
    spill.evidence.oomLines.some((l: string) => /invoked oom-killer: gfp_mask=0x[0-9a-f]+\(GFP_KERNEL/.test(l));
  t.is(r.exitCode, unluckySpill ? 1 : 0, r.all);
  t.is(report.profile.profile, 'vanilla-movable');
  t.deepEqual(Object.fromEntries(report.checks.map((c: { id: string; outcome: string }) => [c.id, c.outcome])), {
    ...column('vanilla-movable'),
    ...(unluckySpill ? { 'bind-spill': 'fail' } : {}),
  });
  if (unluckySpill) t.log(`bind-spill by bad luck: ${spill.summary}`);
  t.log(`suite: ${report.timings.probe} s`);
  await out.cleanup();
});

// The probe replaced by what a probe that does nothing prints, and by `false`: every check that uses it must be an error.
for (const [name, body] of [
  ['does nothing', 'echo \'{"ok":true,"pages":{}}\''],
  ['is `false`', 'exit 1'],
] as const) {
  test.serial(`a probe that ${name} turns every check that uses it into an error, never a pass`, async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const fake = join(out.path, 'fake-probe');
    writeFileSync(fake, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    const ctx = contextOf('lean-6.12-private-virtio');
    const probeChecks = INVARIANTS.filter((s) => usesProbe(s, ctx, readGuestScript)).map((s) => s.id);
    const r = await numacage(['run', ...LEAN, '--only', probeChecks.join(','), '--out', join(out.path, 'runs')], {
      env: { ...process.env, NUMACAGE_PROBE_BINARY: fake },
    });
    t.is(r.exitCode, 1, r.all);
    const report = JSON.parse(readFileSync(join(onlyRunDir(join(out.path, 'runs')), 'report.json'), 'utf8'));
    t.deepEqual(
      report.checks.map((c: { id: string }) => c.id),
      probeChecks,
    );
    for (const c of report.checks) t.is(c.outcome, 'error', `${c.id}: ${c.summary}`);
    await out.cleanup();
  });
}

// A probe that does the work but lies about it (test/fixtures/probe/lying-probe.c): every page on node 0, every
// call refused. On a vanilla kernel the pages really go to node 1, where the host finds them by their tags.
test.serial(
  "a probe that lies about placements is caught by the host's witness: every check it fooled is an error",
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const liar = join(out.path, 'lying-probe');
    await execa('gcc', [
      '-O2',
      '-static',
      '-o',
      liar,
      projectPath('test', 'fixtures', 'probe', 'lying-probe.c'),
      // The probe's other files, as numacage compiles them: lying-probe.c includes probe.c itself.
      ...PROBE_SOURCES.filter((f) => f.endsWith('.c') && f !== 'guest/probe/probe.c').map((f) => projectPath(f)),
    ]);
    // cpuset is left out: the liar's extra process makes its stop/continue dance time out (an error too, after 60 s).
    const fooled = ['soft-policy', 'bind-optin', 'move-optin', 'migrate-optin', 'thp', 'compaction', 'bind-strict'];
    t.deepEqual(
      fooled.filter((id) => !INVARIANTS.find((s) => s.id === id)?.witnessed),
      [],
    );
    const r = await numacage(['run', ...LEAN, '--only', fooled.join(','), '--out', join(out.path, 'runs')], {
      env: { ...process.env, NUMACAGE_PROBE_BINARY: liar },
    });
    t.is(r.exitCode, 1, r.all);
    const report = JSON.parse(readFileSync(join(onlyRunDir(join(out.path, 'runs')), 'report.json'), 'utf8'));
    for (const c of report.checks) {
      t.is(c.outcome, 'error', `${c.id}: ${c.summary}`);
      t.regex(
        c.summary,
        /^the host contradicts the guest: step \S+: the host finds \d+ of its pages in node 1's memfd/,
      );
    }
    await out.cleanup();
  },
);

test.serial(
  'plan == run: the argv a real run recorded in qemu-argv.txt is the planned argv, modulo run dir, QMP dir and SSH port',
  async (t) => {
    const topology = projectPath('test', 'fixtures', 'topologies', 'blk-on-p.json');
    const planned = await numacage(['plan', ...LEAN, '--topology', topology, '--suite', 'smoke', '--format', 'json']);
    t.is(planned.exitCode, 0, planned.all);
    const plan = JSON.parse(planned.stdout) as RunPlan;
    t.deepEqual(plan.checks, ['topology', 'abi', 'no-kernel-memory']);
    const out = await dir({ unsafeCleanup: true });
    const r = await numacage(['run', ...LEAN, '--topology', topology, '--suite', 'smoke', '--out', out.path]);
    t.is(r.exitCode, 0, r.all);
    const runDir = onlyRunDir(out.path);
    const recorded = readFileSync(join(runDir, 'qemu-argv.txt'), 'utf8');
    const qmpDir = /unix:(\/\S+)\/qmp\.sock/.exec(recorded)![1]!;
    const sshPort = Number(/hostfwd=tcp:127\.0\.0\.1:(\d+)-:22/.exec(recorded)![1]);
    t.is(recorded, renderCommandLine(QEMU_BINARY, materialise(plan.argv, { runDir, qmpDir, sshPort })) + '\n');
    t.regex(recorded, /virtio-blk-pci,id=dev1,drive=scratch0,bus=pxb1rp/);
    const report = JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8'));
    t.deepEqual(
      report.checks.map((c: { id: string }) => c.id),
      plan.checks,
    );
    t.deepEqual(report.artifacts, plan.artifacts);
    await out.cleanup();
  },
);

test.serial(
  'the image cache is content-addressed: a second build is a hit; its rootfs (SSH host key inside) is 0400',
  async (t) => {
    const r = await numacage(['image', 'build']);
    t.is(r.exitCode, 0, r.all);
    t.regex(r.stderr, /image cache hit/);
    const entry = r.stdout.trim();
    t.true(existsSync(join(entry, 'rootfs.ext4')) && existsSync(join(entry, 'meta.json')));
    t.is(statSync(join(entry, 'rootfs.ext4')).mode & 0o777, 0o400);
    t.is(statSync(join(entry, 'id_ed25519')).mode & 0o777, 0o600);
  },
);

// Each signalled numacage gets a temp dir of its own (TMPDIR) for its QMP socket dir: npm test runs this
// file beside another, whose numacages have QMP dirs of their own in /tmp and sweep dead ones.
const qmpDirsIn = (tmp: string) => readdirSync(tmp).filter((d) => d.startsWith('numacage-qmp-'));

// Each signal at one stage (both take the same path, so the other two pairs would repeat it at a boot each).
for (const [signal, stage] of [
  ['SIGINT', 'booting guest'],
  ['SIGTERM', 'guest answers SSH'],
] as const) {
  test.serial(`${signal} while "${stage}" leaves no QEMU behind`, async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const tmp = await dir({ unsafeCleanup: true });
    const child = execa('node', [CLI, '--json', 'run', ...LEAN, '--out', out.path], {
      reject: false,
      stdin: 'ignore',
      env: { TMPDIR: tmp.path },
    });
    await logLine(child, stage);
    // Let QEMU get going (boot) or the probe start (SSH up) before the signal.
    await new Promise((r) => setTimeout(r, stage === 'booting guest' ? 3000 : 200));
    t.true(qemuProcessesMentioning(out.path).length > 0, 'QEMU should be running before the signal');
    t.is(qmpDirsIn(tmp.path).length, 1, 'its QMP dir is in its TMPDIR');
    child.kill(signal);
    const r = await child;
    t.is(r.exitCode, signal === 'SIGINT' ? 130 : 143, String(r.stderr));
    t.deepEqual(qemuProcessesMentioning(out.path), []);
    t.deepEqual(qmpDirsIn(tmp.path), [], 'no QMP socket dir is left in the temp dir');
    await out.cleanup();
    await tmp.cleanup();
  });
}

test.serial(
  'SIGKILL of numacage mid-boot: QEMU dies with it (pdeathsig); the next run sweeps its QMP dir and hashes the image in full',
  async (t) => {
    // A cache and a temp dir of the test's own: any other numacage on the user's cache (npm test runs
    // another file beside this one) would find the dead session first, and sweep the QMP dir.
    const cache = await dir({ unsafeCleanup: true });
    await leanRunCache(cache.path);
    const tmp = await dir({ unsafeCleanup: true });
    const env = { TMPDIR: tmp.path };
    const out = await dir({ unsafeCleanup: true });
    const run = ['run', '--cache-dir', cache.path, ...LEAN, '--suite', 'smoke', '--out', out.path];
    const child = execa('node', [CLI, '--json', ...run], { reject: false, stdin: 'ignore', env });
    await logLine(child, 'booting guest');
    await new Promise((r) => setTimeout(r, 2000));
    t.true(qemuProcessesMentioning(out.path).length > 0, 'QEMU should be running before the signal');
    child.kill('SIGKILL');
    await child;
    await new Promise((r) => setTimeout(r, 1000));
    t.deepEqual(qemuProcessesMentioning(out.path), [], 'no QEMU outlives a SIGKILLed numacage');
    const left = qmpDirsIn(tmp.path);
    t.true(
      left.length === 1 && left[0]!.startsWith(`numacage-qmp-${child.pid}-`),
      `SIGKILL leaves the QMP dir (nothing can clean up): ${left.join(', ')}`,
    );
    const next = await numacage([...run, '--verbose'], { env });
    t.is(next.exitCode, 0, next.all);
    t.regex(next.stderr, /died without cleaning up: hashing the image in full before use/);
    t.deepEqual(qmpDirsIn(tmp.path), [], 'the next run swept it');
    await cache.cleanup();
    await tmp.cleanup();
    await out.cleanup();
  },
);

test.serial('bad input: a broken topology file, an unknown topology or recipe exit 2 naming the thing', async (t) => {
  const tmp = await dir({ unsafeCleanup: true });
  const bad = join(tmp.path, 'bad.json');
  writeFileSync(
    bad,
    JSON.stringify({
      memory: '4G',
      cpus: 2,
      nodes: [
        { id: 0, mem: '2G', cpus: '0-2', share: false },
        { id: 0, mem: '1G', share: true },
      ],
    }),
  );
  let r = await numacage(['run', '--topology', bad, '--out', tmp.path]);
  t.is(r.exitCode, 2);
  t.regex(r.stderr, new RegExp(`topology ${bad} is invalid`));
  t.regex(r.stderr, /node memory adds up to 3072 MiB but "memory" is 4096 MiB/);
  t.regex(r.stderr, /node 0 lists CPU 2, but the guest has CPUs 0-1/);
  t.regex(r.stderr, /node id 0 is declared more than once/);

  r = await numacage(['run', '--topology', 'no-such-topology']);
  t.is(r.exitCode, 2);
  t.regex(r.stderr, /unknown topology "no-such-topology".*\n.*private-virtio/);

  r = await numacage(['run', '--image', 'no-such-recipe']);
  t.is(r.exitCode, 2);
  t.regex(r.stderr, /unknown image recipe "no-such-recipe"/);

  r = await numacage(['run', '--bogus-flag']);
  t.is(r.exitCode, 2);

  r = await numacage(['run', '--boot-timeout', 'abc', '--out', tmp.path]);
  t.is(r.exitCode, 2);
  t.regex(r.stderr, /--boot-timeout abc: must be a number of seconds above 0/);
  t.deepEqual((await import('node:fs')).readdirSync(tmp.path), ['bad.json'], 'no run dir is left behind');
  await tmp.cleanup();
});

test.serial('host trouble: QEMU missing exits 3 with what to do', async (t) => {
  const r = await numacage(['run'], { env: { ...process.env, NUMACAGE_QEMU: '/nonexistent/qemu-system-x86_64' } });
  t.is(r.exitCode, 3);
  t.regex(r.stderr, /QEMU \(\/nonexistent\/qemu-system-x86_64\) is not installed/);
  t.regex(r.stderr, /doctor --install/);
});

test.serial(
  "doctor says KVM is unusable when a real test boot hangs, and names TCG; doctor --install (every CI job's) takes this host boot's verdict instead of booting again",
  async (t) => {
    const r = await numacage(['doctor']);
    t.is(r.exitCode, 0, r.all);
    t.regex(r.stdout, /qemu-system-x86_64\s+\d+\.\d+/);
    t.regex(r.stdout, /KVM\s+(usable|not yet proven|KVM unusable \(.+\), using TCG)/);
    // The verdict plain doctor just wrote, copied into an empty cache with its reason marked: --install
    // must show the mark, plain doctor a reason of its own test boot.
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const cache = await dir({ unsafeCleanup: true });
    mkdirSync(join(cache.path, 'host'));
    const verdict = JSON.parse(readFileSync(join(resolveCacheDir(), 'host', `kvm-${bootId}.json`), 'utf8'));
    writeFileSync(
      join(cache.path, 'host', `kvm-${bootId}.json`),
      JSON.stringify({ ...verdict, usable: false, test: 'kernel', reason: 'the mark of the copied verdict' }),
    );
    const installed = await numacage(['doctor', '--install', '--cache-dir', cache.path]);
    t.is(installed.exitCode, 0, installed.all);
    t.regex(installed.stdout, /KVM\s+KVM unusable \(the mark of the copied verdict\), using TCG/);
    const fresh = await numacage(['doctor', '--cache-dir', cache.path]);
    t.notRegex(fresh.stdout, /the mark of the copied verdict/);
    t.regex(fresh.stdout, /KVM\s+(usable|not yet proven|KVM unusable \(.+\), using TCG)/);
    await cache.cleanup();
  },
);
