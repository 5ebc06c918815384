import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { projectPath } from '../../src/adapters/project.js';
import { compareCommand } from '../../src/matrix/compare.js';
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

test('compare --html: the new night with its regressions as tables, written whole next to nothing half-done', async (t) => {
  // The repro's recorded cells: its base as the baseline night, its patched kernel as tonight (one cell each).
  const dir = mkdtempSync(join(tmpdir(), 'numacage-compare-'));
  try {
    const [baseline, tonight] = ['base', 'patched'].map((k) =>
      projectPath('test', 'fixtures', 'runs', 'repro-mbind-warn', `${k}.report.json`),
    );
    const html = join(dir, 'compare.html');
    const r = await compareCommand([baseline!, tonight!], { htmlFile: html });
    t.true(r.regressed);
    const page = readFileSync(html, 'utf8');
    t.regex(page, /<title>numacage compare base\.report\.json patched\.report\.json<\/title>/);
    t.regex(page, /data-testid="comparison-headline"><strong>\d+ regressions? since the baseline/);
    t.regex(page, /<h3>New crash signatures<\/h3>/);
    t.deepEqual(readdirSync(dir), ['compare.html'], 'no temporary file left');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
