import test from 'ava';
import type { Verdict } from '../../src/model/verdict.js';
import { judge, verdictHolds } from '../../src/model/verdict.js';
import { renderJunit } from '../../src/report/junit.js';
import { renderKtap } from '../../src/report/ktap.js';
import { renderText } from '../../src/report/text.js';
import { golden } from '../helpers/fixtures.js';

const verdict: Verdict = {
  runId: '20261126-120000-private-virtio-abcd',
  topology: 'private-virtio',
  kernel: { kind: 'stock', release: '6.12.117+deb12-cloud-amd64', path: '/cache/vmlinuz' },
  accel: { accel: 'tcg', cpuModel: 'max', note: 'KVM unusable: hangs' },
  checks: [
    {
      id: 'topology',
      title: 't',
      expected: 'pass',
      outcome: 'pass',
      summary: '2 nodes',
      problems: [],
      evidence: {},
      durationSeconds: 0.3,
    },
    {
      id: 'no-kernel-memory',
      title: 'k',
      expected: 'fail',
      outcome: 'xfail',
      summary: 'Slab 3.3 MB on node 1',
      problems: ['Slab on node 1'],
      evidence: {},
    },
    {
      id: 'abi',
      title: 'a',
      expected: 'fail',
      outcome: 'xpass',
      summary: 'private ABI found',
      problems: [],
      evidence: {},
    },
    {
      id: 'hugetlb',
      title: 'h',
      expected: 'n/a',
      outcome: 'skip',
      summary: 'not for this profile',
      problems: [],
      evidence: {},
    },
    {
      id: 'demotion',
      title: 'd',
      expected: 'pass',
      outcome: 'fail',
      summary: 'P & <C> in a tier',
      problems: ['node 1 in memory_tier4'],
      evidence: {},
      durationSeconds: 12.4,
    },
    {
      id: 'ksm',
      title: 'k',
      expected: 'fail',
      outcome: 'error',
      summary: 'probe failed: ksmd never answered',
      problems: [],
      evidence: {},
      durationSeconds: 20.1,
    },
    {
      id: 'no-fallback-in',
      title: 'n',
      expected: 'fail',
      outcome: 'not-run',
      summary: 'not reached: the guest kernel crashed (WARNING)',
      problems: [],
      evidence: {},
    },
  ],
  crashes: [
    {
      type: 'warning',
      title: 'WARNING in __alloc_pages_noprof (mm/page_alloc.c:4741)',
      fatal: false,
      atSeconds: 12.5,
      lines: [
        '[   12.500000] WARNING: CPU: 1 PID: 215 at mm/page_alloc.c:4741 __alloc_pages_noprof+0x2c4/0x340',
        '[   12.500100] ---[ end trace 0000000000000000 ]---',
      ],
    },
  ],
  timings: { image: 0, 'boot-to-ssh': 9.1, probe: 1.7, total: 10.9 },
  artifacts: {},
};

test('outcome against expectation', (t) => {
  t.is(judge(true, 'pass'), 'pass');
  t.is(judge(false, 'pass'), 'fail');
  t.is(judge(false, 'fail'), 'xfail');
  t.is(judge(true, 'fail'), 'xpass');
  t.is(judge(true, 'n/a'), 'skip');
});

test('a run with an unexpected pass or a failure does not hold; xfail and skip do', (t) => {
  t.false(verdictHolds(verdict));
  const expectedOnly = verdict.checks.filter((c) => ['pass', 'xfail', 'skip'].includes(c.outcome));
  t.true(verdictHolds({ ...verdict, crashes: [], checks: expectedOnly }));
  t.false(verdictHolds({ ...verdict, checks: expectedOnly }), 'a WARNING on the console fails the run');
  t.regex(
    renderText({ ...verdict, checks: expectedOnly }, '/r'),
    /^FAILED: 3\/3 checks as expected, but 1 kernel report on the console; /m,
    'the closing line says what failed a run whose checks all held',
  );
  t.false(
    verdictHolds({ ...verdict, checks: [], bootFailure: { reason: 'ssh-timeout', message: 'm', consoleTail: [] } }),
  );
});

test('KTAP golden', (t) => {
  const { actual, expected } = golden(renderKtap(verdict), 'reports', 'verdict.ktap');
  t.is(actual, expected);
});

test('JUnit golden (XML-escaped, xpass and fail are failures)', (t) => {
  const { actual, expected } = golden(renderJunit(verdict), 'reports', 'verdict.junit.xml');
  t.is(actual, expected);
  t.regex(actual, /failures="3"/);
  t.regex(actual, /P &amp; &lt;C&gt;/);
});

test('terminal summary golden', (t) => {
  const { actual, expected } = golden(renderText(verdict, '/runs/R'), 'reports', 'verdict.txt');
  t.is(actual, expected);
});

test('JUnit and the HTML stay well-formed when the console holds control characters (systemd colour codes in a boot failure)', async (t) => {
  // As systemd writes a failed unit to the serial console: ESC [ 0 ; 1 ; 3 1 m ... ESC [ 0 m.
  const tail = [
    '[\u001b[0;1;31mFAILED\u001b[0m] Failed to start \u001b[0;1;39mssh.service\u001b[0m.',
    'bell\u0007 and NUL\u0000',
  ];
  const broken = {
    ...verdict,
    bootFailure: { reason: 'ssh-timeout', message: 'no SSH within 120 s', consoleTail: tail },
  };
  const { renderHtml } = await import('../../src/report/html.js');
  for (const doc of [
    renderJunit(broken),
    renderHtml({ title: 't', generatedAt: 'now', runs: [{ cell: 'c', verdict: broken }] }),
  ]) {
    t.false(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(doc), 'no raw control character');
    t.true(doc.includes('\\x1b[0;1;31mFAILED\\x1b[0m'), 'the codes are shown, not dropped');
  }
});

test('nothing a guest prints can become a CI runner command: lines starting with :: and ##[ anywhere are made inert', async (t) => {
  const { inert } = await import('../../src/report/markup.js');
  const hostile =
    '::set-output name=promote::true\n  ::error ::x\nWARNING: ##[set-output name=promote;]true\nplain :: text';
  const out = inert(hostile);
  t.false(/^[ \t]*::/m.test(out), out);
  t.false(out.includes('##['), out);
  t.true(out.includes('plain :: text'), 'a :: inside a line is left alone');
  const { renderText } = await import('../../src/report/text.js');
  const v = {
    ...verdict,
    crashes: [{ type: 'warning', title: '##[set-output name=promote;]true', fatal: false, lines: ['::error ::hi'] }],
  };
  t.false(/^[ \t]*::|##\[/m.test(inert(renderText(v, '/r'))));
});

test('the matrix table names each column by its cell: the guests of a second topology are b/stock#1 and #2, not #3 and #4', async (t) => {
  const { renderMatrix } = await import('../../src/report/matrix.js');
  const cells = ['a/stock#1', 'a/stock#2', 'b/stock#1', 'b/stock#2'];
  const table = renderMatrix(cells.map((cell) => ({ ...verdict, cell, topology: cell.split('/')[0]! })));
  t.deepEqual(table.split('\n')[0]!.trim().split(/\s+/), cells);
});

test('a report from before cells were recorded: the guests of each pair are numbered among themselves', async (t) => {
  const { renderMatrix } = await import('../../src/report/matrix.js');
  t.is(verdict.cell, undefined);
  const table = renderMatrix(['a', 'a', 'b', 'b', 'c'].map((topology) => ({ ...verdict, topology })));
  t.deepEqual(table.split('\n')[0]!.trim().split(/\s+/), [
    'a/stock#1',
    'a/stock#2',
    'b/stock#1',
    'b/stock#2',
    'c/stock',
  ]);
});

test('terminal summary: an id longer than the column widens it for every check, so the times stay in one column', (t) => {
  const long = { ...verdict.checks[0]!, id: 'hugetlb-surplus-reserved', durationSeconds: 3.3 };
  const lines = renderText({ ...verdict, checks: [verdict.checks[0]!, long] }, '/r')
    .split('\n')
    .filter((l) => / s {2}/.test(l) && /^(PASS|FAIL|XFAIL|XPASS|ERROR|SKIP)/.test(l));
  t.is(lines.length, 2, lines.join('\n'));
  t.is(lines[0]!.indexOf(' s  '), lines[1]!.indexOf(' s  '), lines.join('\n'));
});
