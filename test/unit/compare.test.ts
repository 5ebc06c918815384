import test from 'ava';
import type { Verdict } from '../../src/model/verdict.js';
import { compareVerdicts, renderComparison } from '../../src/report/compare.js';

const verdict = (label: string, checks: Verdict['checks']): Verdict => ({
  runId: `run-${label}`,
  topology: 'private-virtio',
  kernel: { kind: 'built', release: '6.12.117', path: '/k', label },
  accel: { accel: 'tcg', cpuModel: 'max' },
  profile: { profile: label === 'built' ? 'vanilla' : 'private', reason: '' },
  checks,
  crashes: [],
  timings: {},
  artifacts: {},
});
const check = (id: string, outcome: Verdict['checks'][number]['outcome'], evidence: Record<string, unknown>) => ({
  id,
  title: id,
  expected: 'pass' as const,
  outcome,
  summary: `${id} ${outcome}`,
  problems: [],
  evidence,
});

test('compare: outcomes side by side, the flips counted, the evidence that changed named', (t) => {
  const before = verdict('built', [
    check('abi', 'xfail', { privateBy: null, node: 1 }),
    check('topology', 'pass', { nodes: 2 }),
  ]);
  const after = verdict('built:private-node', [
    check('abi', 'pass', { privateBy: 'node 1 is in has_private_memory', node: 1 }),
    check('topology', 'pass', { nodes: 2 }),
    check('ksm', 'skip', {}),
  ]);
  const c = compareVerdicts(before, after);
  t.deepEqual(
    c.checks.map((x) => [x.id, x.changed]),
    [
      ['abi', true],
      ['topology', false],
      ['ksm', true],
    ],
  );
  t.deepEqual(c.checks[0]!.evidenceChanged, ['privateBy']);
  const text = renderComparison(c);
  t.regex(text, /abi\s+xfail\s+pass\s+changed/);
  t.regex(text, /topology\s+pass\s+pass\s*\n/);
  t.regex(text, /2 of 3 checks changed outcome/);
  t.regex(text, /privateBy: null -> "node 1 is in has_private_memory"/);
  t.regex(text, /ksm: absent -> skip/);
});
