import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { loadReport } from '../../src/matrix/reports.js';
import { ConfigError } from '../../src/model/errors.js';
import { fixture } from '../helpers/fixtures.js';

// A report from a CI artifact is input from elsewhere: merge copies every run directory a matrix.json
// names into its own artifact, so a run directory outside the report's directory is refused.
const verdict = JSON.parse(fixture('runs/lean-vs-private-node/built.report.json'));

function matrixWith(runDir: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'numacage-trust-'));
  mkdirSync(join(dir, 'cell'));
  mkdirSync(join(dir, 'elsewhere'));
  symlinkSync(join(dir, 'elsewhere'), join(dir, 'link'));
  writeFileSync(
    join(dir, 'matrix.json'),
    JSON.stringify({ kind: 'numacage-matrix', ok: true, cells: ['c'], runs: [{ cell: 'c', runDir, ok: true, verdict }] }),
  );
  return dir;
}

test('a matrix.json naming a run directory outside its own directory, or through a link, is refused with the JSON path', (t) => {
  for (const runDir of ['/etc', '../x', '..', '.', 'cell/../../x', 'link', 'link/inner']) {
    const dir = matrixWith(runDir);
    const err = t.throws(() => loadReport(dir), { instanceOf: ConfigError }, runDir);
    t.regex(err!.message, /matrix\.json: runs\[0\]\.runDir /, runDir);
    rmSync(dir, { recursive: true });
  }
  const good = matrixWith('cell');
  t.is(loadReport(good).runs[0]!.runDir, join(good, 'cell'));
  rmSync(good, { recursive: true });
});
