import test from 'ava';
import { kselftestSourceKnown, MM_CATEGORIES, parseKselftestNames } from '../../src/steps/kselftest.js';
import { parseTap } from '../../src/steps/tap.js';
import {
  judgeStep,
  kselftestSteps,
  lackNote,
  parseUpload,
  resolveSteps,
  withKselftests,
  type TestStep,
} from '../../src/steps/steps.js';
import { ConfigError } from '../../src/model/errors.js';
import { timerLimit } from '../../src/guest/ssh.js';
import { fixture } from '../helpers/fixtures.js';

// Outputs recorded from real guests (lean kernel, private-virtio): see test/fixtures/steps/README.md.
const step: TestStep = {
  id: 'exec-1',
  title: './tap-demo.sh',
  command: './tap-demo.sh',
  user: 'root',
  timeoutMs: 5000,
};
const run = (stdout: string, exitCode: number | null, more: object = {}) => ({
  stdout,
  exitCode,
  timedOut: false,
  durationMs: 1200,
  ...more,
});

test('TAP 13 as kselftest.h prints it: every test point, skips with their reason, the plan and the comments', (t) => {
  const tap = parseTap(fixture('steps', 'tap-demo.out'))!;
  t.deepEqual(
    tap.subtests.map((s) => `${s.id} ${s.outcome} ${s.name}${s.reason ? ` (${s.reason})` : ''}`),
    [
      '1 pass /proc/self/status has VmRSS',
      '2 pass node1 exists',
      '3 skip huge zero page (not built in)',
      '4 fail /nonexistent exists',
    ],
  );
  t.is(tap.planned, 4);
  t.true(tap.comments.some((c) => /Totals: pass:2 fail:1/.test(c)));
});

test("a real kselftest (mm/ksm_functional_tests): every test point as printed, the re-executed child's included", (t) => {
  // test_prctl_fork_exec re-executes ./ksm_functional_tests, whose output (ok 8 again) lands in the same stream.
  const tap = parseTap(fixture('steps', 'ksm_functional_tests.out'))!;
  t.is(tap.planned, 9);
  t.deepEqual([...new Set(tap.subtests.map((s) => s.id))], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.is(tap.subtests.length, 10);
  t.deepEqual(
    tap.subtests.filter((s) => s.outcome !== 'pass').map((s) => `${s.id} ${s.outcome} ${s.reason}`),
    ['4 skip __NR_userfaultfd failed'],
  );
});

test('KTAP: nested subtests are flattened under their parent; XFAIL, TIMEOUT and ERROR directives are outcomes', (t) => {
  // Constructed: KUnit's layout (4-space nested KTAP) with the directives of Documentation/dev-tools/ktap.rst.
  const tap = parseTap(
    'KTAP version 1\n1..2\n    KTAP version 1\n    1..2\n    ok 1 inner_a\n    ok 2 inner_b # XFAIL known\nok 1 suite\nnot ok 2 slow # TIMEOUT\n',
  )!;
  t.deepEqual(
    tap.subtests.map((s) => `${s.outcome} ${s.name}`),
    ['pass suite: inner_a', 'xfail suite: inner_b', 'pass suite', 'error slow'],
  );
});

test('output without TAP is no TAP', (t) => {
  t.is(parseTap('6.12.57-numacage\n'), undefined);
  t.is(parseTap(''), undefined);
});

test('a step: exit 0 passes, the skip code skips, failing test points or a kernel report fail it whatever the exit code', (t) => {
  t.is(judgeStep(step, run('hello\n', 0), [], 'steps/exec-1.out').outcome, 'pass');
  const tap = judgeStep(step, run(fixture('steps', 'tap-demo.out'), 1), [], 'steps/exec-1.out');
  t.is(tap.outcome, 'fail');
  t.deepEqual(tap.problems, ['exit 1', 'test 4 /nonexistent exists: fail']);
  t.regex(tap.summary, /^exit 1; 4 test points: 2 pass, 1 skip, 1 fail/);
  t.is(
    judgeStep(
      step,
      run('', 0),
      [{ type: 'warning', title: 'WARNING: CPU: 0 PID: 1 at mm/mempolicy.c:1 foo', fatal: false, lines: [] }],
      'o',
    ).outcome,
    'fail',
  );
  const kself = { ...step, skipExitCode: 4 };
  const skipped = judgeStep(kself, run('TAP version 13\n1..0 # SKIP KSM is not available\n', 4), [], 'o');
  t.is(skipped.outcome, 'skip');
  t.is(judgeStep(step, run('', 4), [], 'o').outcome, 'fail', 'exit 4 is a skip only for kselftests');
  const timedOut = judgeStep(step, run('', null, { timedOut: true }), [], 'o');
  t.is(timedOut.outcome, 'fail');
  t.regex(timedOut.summary, /did not finish within 5 s/);
  t.regex(
    judgeStep(step, run('TAP version 13\n1..3\nok 1 a\n', 1), [], 'o').problems.join('\n'),
    /1 of 3 planned test points ran/,
  );
});

test("uploads: LOCAL alone lands in the user's home; a relative GUEST is under it; an absolute one is kept", (t) => {
  t.deepEqual(parseUpload('repro', 'root', '/w'), { local: '/w/repro', guest: '/root/repro', owner: 'root' });
  t.deepEqual(parseUpload('bin/repro:tools/r', 'probe', '/w'), {
    local: '/w/bin/repro',
    guest: '/home/probe/tools/r',
    owner: 'probe',
  });
  t.deepEqual(parseUpload('/a/b:/opt/b', 'root'), { local: '/a/b', guest: '/opt/b', owner: 'root' });
});

test("kselftests: names checked; run as root from their directory with the collection's timeout and skip code 4", (t) => {
  t.throws(() => parseKselftestNames(['ksm_functional_tests']), {
    instanceOf: ConfigError,
    message: /--kselftest ksm_functional_tests: not COLLECTION\/PROGRAM/,
  });
  // run_vmtests.sh categories expand to their programs, each once.
  t.deepEqual(
    parseKselftestNames(['mm:mremap,mm/mremap_test', 'mm:ksm']).map((n) => `${n.collection}/${n.program}`),
    ['mm/mremap_test', 'mm/mremap_dontunmap', 'mm/ksm_functional_tests'],
  );
  t.throws(() => parseKselftestNames(['mm:nope']), { message: /no run_vmtests\.sh category nope/ });
  const names = parseKselftestNames(['mm/ksm_functional_tests,mm/madv_populate']);
  const planned = kselftestSteps(names);
  t.deepEqual(
    planned.steps.map((s) => s.command),
    ['cd /root/kselftest/mm && ./ksm_functional_tests', 'cd /root/kselftest/mm && ./madv_populate'],
  );
  const built = withKselftests(
    planned,
    names.map((n) => ({ ...n, path: `/cache/k/mm/${n.program}`, timeoutSeconds: 180 })),
  );
  t.deepEqual(
    built.uploads.map((u) => `${u.local} -> ${u.guest}`),
    [
      '/cache/k/mm/ksm_functional_tests -> /root/kselftest/mm/ksm_functional_tests',
      '/cache/k/mm/madv_populate -> /root/kselftest/mm/madv_populate',
    ],
  );
  t.true(built.steps.every((s) => s.timeoutMs === 180_000 && s.skipExitCode === 4 && s.user === 'root'));
  const all = resolveSteps(
    { exec: ['./repro'], uploads: ['repro'], kselftests: ['mm/madv_populate'], as: 'user', stepTimeoutSeconds: 30 },
    ['probe'],
  );
  t.deepEqual(
    all.steps.map((s) => `${s.id} ${s.user}`),
    ['kselftest:mm/madv_populate root', 'exec-1 probe'],
  );
  t.throws(() => resolveSteps({ exec: [], uploads: ['x'], kselftests: [], as: 'root', stepTimeoutSeconds: 30 }, []), {
    message: /--upload without --exec/,
  });
});

test('a skip for want of CPUs or nodes says what the topology gave and how to give more; other skips say nothing', (t) => {
  // The whole-program skip of a NUMA kselftest on a 1-node guest, as kselftest.h prints it (constructed).
  const numa = judgeStep(
    { ...step, skipExitCode: 4 },
    run('TAP version 13\n1..0 # SKIP need at least 2 NUMA nodes\n', 4),
    [],
    'o',
  );
  t.regex(
    lackNote(numa, { cpus: 2, nodes: 1 })!,
    /for want of CPUs or nodes \("exit 4; SKIP need at least 2 NUMA nodes.*this topology has 2 CPUs on 1 nodes/,
  );
  const ksm = judgeStep({ ...step, skipExitCode: 4 }, run(fixture('steps', 'ksm_functional_tests.out'), 0), [], 'o');
  t.is(lackNote(ksm, { cpus: 2, nodes: 2 }), undefined, '"__NR_userfaultfd failed" is no lack of CPUs');
});

// The real file list of Debian's linux-source-6.12 selftests (test/fixtures/kselftest/README.md).
const selftests = new Set(fixture('kselftest/selftests-6.12.118.txt').split('\n').filter(Boolean));

test("kselftest names are checked against the source: a program needs its collection's Makefile and PROGRAM.c", (t) => {
  const known = (name: string) => kselftestSourceKnown(parseKselftestNames([name])[0]!, selftests);
  t.true(known('mm/ksm_functional_tests'));
  t.true(known('x86/sigreturn_64'), 'x86 builds PROGRAM_64 from PROGRAM.c');
  t.false(known('mm/ksm_functional_test'), 'a typo');
  t.false(known('mn/ksm_functional_tests'), 'no such collection');
  t.false(known('mm/run_vmtests'), 'a script is no program to build');
});

test("every program of every mm:CATEGORY exists in 6.12's selftests", (t) => {
  for (const [category, programs] of Object.entries(MM_CATEGORIES))
    for (const program of programs)
      t.true(kselftestSourceKnown({ collection: 'mm', program }, selftests), `mm:${category} → ${program}`);
});

test('names that are properties of every object are no category or suite: exit 2, not an internal error', (t) => {
  for (const name of ['__proto__', 'toString', 'constructor'])
    t.throws(() => parseKselftestNames([`mm:${name}`]), {
      instanceOf: ConfigError,
      message: new RegExp(`no run_vmtests.sh category ${name}`),
    });
});

test("a step's timeout: 0 (kselftest's timeout=0) is none, and one past Node's timer range is held to it rather than firing at once", (t) => {
  t.is(timerLimit(0), undefined);
  t.is(timerLimit(45_000), 45_000);
  t.is(timerLimit(2147484 * 1000), 2 ** 31 - 1);
  t.is(timerLimit(Infinity), undefined);
});
