import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import test from 'ava';
import { dir } from 'tmp-promise';
import { projectPath } from '../../src/adapters/project.js';
import { numacage, onlyRunDir, qemuProcessesMentioning } from '../helpers/cli.js';

// Test steps (--exec, --upload, --as, --step-timeout). The first run is on the stock kernel: it has
// magic SysRq (the lean one does not), which the crash-attribution step needs.
const report = (runDir: string) => JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8'));

test.serial(
  '--exec steps after no invariant: exit codes, TAP test points in every report, a timeout, and a crash blamed on its step',
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const r = await numacage([
      'run',
      '--suite',
      'none',
      '--out',
      out.path,
      '--step-timeout',
      '5',
      '--upload',
      projectPath('test/fixtures/steps/tap-demo.sh'),
      '--exec',
      'uname -r',
      '--exec',
      './tap-demo.sh',
      '--exec',
      'sleep 60',
      '--exec',
      'echo c > /proc/sysrq-trigger',
      '--exec',
      'true',
    ]);
    t.is(r.exitCode, 1, r.all);
    const runDir = onlyRunDir(out.path);
    const rep = report(runDir);
    t.deepEqual(
      rep.checks.map((c: { id: string; outcome: string }) => `${c.id} ${c.outcome}`),
      ['exec-1 pass', 'exec-2 fail', 'exec-3 fail', 'exec-4 fail', 'exec-5 not-run'],
    );
    const [uname, tap, sleep, crash] = rep.checks;
    t.regex(readFileSync(join(runDir, uname.evidence.output), 'utf8'), /^6\.12\./);
    t.deepEqual(
      tap.subtests.map((s: { id: number; outcome: string }) => `${s.id} ${s.outcome}`),
      ['1 pass', '2 pass', '3 skip', '4 fail'],
    );
    t.true(tap.problems.includes('exit 1'));
    t.true(tap.problems.some((p: string) => /test 4 \/nonexistent exists: fail/.test(p)));
    t.regex(sleep.summary, /did not finish within 5 s/);
    t.regex(crash.summary, /the guest kernel crashed .* during exec-4/);
    const panic = rep.crashes.find((c: { during?: string; fatal: boolean }) => c.fatal && c.during === 'exec-4');
    t.truthy(panic, JSON.stringify(rep.crashes.map((c: { title: string; during?: string }) => [c.title, c.during])));
    t.is(panic.signature, 'panic: sysrq_handle_crash < __handle_sysrq < write_sysrq_trigger');
    // The test points in JUnit (a testcase each under the step) and in KTAP (a nested subtest).
    const junit = readFileSync(join(runDir, 'junit.xml'), 'utf8');
    t.regex(
      junit,
      /<testcase classname="numacage\.private-virtio\.stock\.exec-2" name="4 \/nonexistent exists"><failure/,
    );
    t.regex(
      junit,
      /<testcase classname="numacage\.private-virtio\.stock\.exec-2" name="3 huge zero page"><skipped message="not built in"\/>/,
    );
    const ktap = readFileSync(join(runDir, 'results.ktap'), 'utf8');
    t.regex(
      ktap,
      / {4}1\.\.4\n {4}ok 1 \/proc\/self\/status has VmRSS\n {4}ok 2 node1 exists\n {4}ok 3 huge zero page # SKIP not built in\n {4}not ok 4 \/nonexistent exists\n(# .*\n)*not ok 4 exec-2/,
    );
    t.regex(r.stdout, /KERNEL CRASH \(panic at [\d.]+ s, during exec-4\)/);
    t.regex(r.stdout, /\$ \.\/tap-demo\.sh/);
    t.deepEqual(qemuProcessesMentioning(out.path), []);
    await out.cleanup();
  },
);

test.serial(
  "--exec after the smoke suite, --as user: uploads land in the user's home owned by them; the guest's network reaches no host service",
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    // A service on the host's loopback: QEMU's user network (restrict=on) must not let the guest reach it.
    let reached = 0;
    const service = createServer((s) => {
      reached++;
      s.end();
    });
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
    const port = (service.address() as AddressInfo).port;
    const r = await numacage([
      'run',
      '--kernel',
      'built',
      '--suite',
      'smoke',
      '--out',
      out.path,
      '--as',
      'user',
      '--upload',
      `${projectPath('test/fixtures/steps')}:fixtures`,
      '--exec',
      'id -un && stat -c %U fixtures/tap-demo.sh && test -x fixtures/tap-demo.sh',
      '--exec',
      `! timeout 5 bash -c 'echo hi > /dev/tcp/10.0.2.2/${port}'`,
    ]);
    service.close();
    t.is(r.exitCode, 0, r.all);
    const rep = report(onlyRunDir(out.path));
    t.deepEqual(
      rep.checks.map((c: { id: string }) => c.id),
      ['topology', 'abi', 'no-kernel-memory', 'exec-1', 'exec-2'],
    );
    const step = rep.checks[3];
    t.is(step.outcome, 'pass');
    t.is(step.evidence.user, 'probe');
    t.is(readFileSync(join(onlyRunDir(out.path), step.evidence.output), 'utf8'), 'probe\nprobe\n');
    t.is(rep.checks[4].outcome, 'pass', 'the connection to the host failed in the guest');
    t.is(reached, 0, 'and the host service saw none');
    await out.cleanup();
  },
);

test.serial(
  'bad step input: a missing upload, --upload without --exec, --step-timeout 0: exit 2 naming it, nothing booted',
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    let r = await numacage([
      'run',
      '--suite',
      'none',
      '--out',
      out.path,
      '--upload',
      '/nonexistent/repro',
      '--exec',
      './repro',
    ]);
    t.is(r.exitCode, 2, r.all);
    t.regex(r.stderr, /--upload \/nonexistent\/repro: no such file or directory/);
    r = await numacage([
      'run',
      '--suite',
      'none',
      '--out',
      out.path,
      '--upload',
      projectPath('test/fixtures/steps/tap-demo.sh'),
    ]);
    t.is(r.exitCode, 2, r.all);
    t.regex(r.stderr, /--upload without --exec/);
    r = await numacage(['run', '--suite', 'none', '--out', out.path, '--exec', 'true', '--step-timeout', '0']);
    t.is(r.exitCode, 2, r.all);
    t.regex(r.stderr, /--step-timeout 0: must be a number of seconds above 0/);
    await out.cleanup();
  },
);

test.serial(
  "--kselftest mm/ksm_functional_tests: built static from the kernel's tree, cached, run as root; its test points in JUnit",
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const r = await numacage([
      'run',
      '--kernel',
      'built',
      '--suite',
      'none',
      '--out',
      out.path,
      '--kselftest',
      'mm/ksm_functional_tests',
    ]);
    t.is(r.exitCode, 0, r.all);
    const runDir = onlyRunDir(out.path);
    const step = report(runDir).checks[0];
    t.is(step.id, 'kselftest:mm/ksm_functional_tests');
    t.is(step.outcome, 'pass');
    t.true(step.subtests.length >= 8, JSON.stringify(step.subtests));
    t.true(step.subtests.some((s: { name: string }) => /Pages were unmerged/.test(s.name)));
    const junit = readFileSync(join(runDir, 'junit.xml'), 'utf8');
    t.regex(
      junit,
      /<testcase classname="numacage\.private-virtio\.built\.kselftest:mm\/ksm_functional_tests" name="1 [^"]+"/,
    );
    t.regex(r.stderr, /kselftests (cache hit|built)/);
    const again = await numacage([
      'run',
      '--kernel',
      'built',
      '--suite',
      'none',
      '--out',
      out.path,
      '--kselftest',
      'mm/ksm_functional_tests',
    ]);
    t.regex(again.stderr, /kselftests cache hit/);
    await out.cleanup();
  },
);

test.serial('--exec and --kselftest in a matrix: every cell runs the steps, and the matrix shows them', async (t) => {
  const out = await dir({ unsafeCleanup: true });
  const r = await numacage([
    'run',
    '--kernel',
    'built',
    '--topology',
    'private-virtio,three-node',
    '--suite',
    'none',
    '--out',
    out.path,
    '--kselftest',
    'mm/madv_populate',
    '--exec',
    'numactl --hardware | head -1',
  ]);
  t.is(r.exitCode, 0, r.all);
  const matrixDir = onlyRunDir(out.path);
  const matrix = JSON.parse(readFileSync(join(matrixDir, 'matrix.json'), 'utf8'));
  const cells = ['kselftest:mm/madv_populate pass', 'exec-1 pass'];
  t.deepEqual(
    matrix.runs.map((x: { verdict: { checks: { id: string; outcome: string }[] } }) =>
      x.verdict.checks.map((c) => `${c.id} ${c.outcome}`),
    ),
    [cells, cells],
  );
  const outputs = matrix.runs.map((x: { runDir: string; verdict: { checks: { evidence: { output: string } }[] } }) =>
    readFileSync(join(matrixDir, x.runDir, x.verdict.checks[1]!.evidence.output), 'utf8'),
  );
  t.deepEqual(outputs, ['available: 2 nodes (0-1)\n', 'available: 3 nodes (0-2)\n']);
  t.regex(r.stdout, /exec-1\s+pass\s+pass/);
  await out.cleanup();
});
