import { asExpected, type SubtestResult, type Verdict } from '../model/verdict.js';

const DIRECTIVE: Partial<Record<SubtestResult['outcome'], string>> = { skip: 'SKIP', xfail: 'XFAIL', error: 'ERROR' };

function subtestLine(st: SubtestResult, n: number): string {
  const ok = asExpected(st.outcome);
  const directive = DIRECTIVE[st.outcome];
  return `${ok ? 'ok' : 'not ok'} ${n} ${st.name}${directive ? ` # ${directive}${st.reason ? ` ${st.reason}` : ''}` : ''}`;
}

/** KTAP v1: one test per check; xfail is "ok # XFAIL", skip is "ok # SKIP". Pure. */
export function renderKtap(v: Verdict): string {
  const lines = [
    'KTAP version 1',
    `# numacage ${v.runId} topology=${v.topology} kernel=${v.kernel.kind}:${v.kernel.release}`,
  ];
  const tests: string[] = [];
  const bootOk = !v.bootFailure;
  tests.push(`${bootOk ? 'ok' : 'not ok'} 1 boot${bootOk ? '' : ` # ${v.bootFailure!.reason}`}`);
  const consoleClean = v.crashes.length === 0;
  tests.push(...v.crashes.map((c) => `# ${c.type}: ${c.title}`), `${consoleClean ? 'ok' : 'not ok'} 2 console`);
  v.checks.forEach((c, i) => {
    const n = i + 3;
    // A test step's TAP test points, as a KTAP subtest (indented 4 spaces, before its parent's result line).
    if (c.subtests?.length)
      tests.push(
        '    KTAP version 1',
        `    # Subtest: ${c.id}`,
        `    1..${c.subtests.length}`,
        ...c.subtests.map((st, j) => `    ${subtestLine(st, j + 1)}`),
      );
    const diag = [`${c.outcome}: ${c.summary}`, ...c.problems].map((l) => `# ${l}`);
    if (c.outcome === 'pass') tests.push(`ok ${n} ${c.id}`);
    else if (c.outcome === 'xfail') tests.push(`ok ${n} ${c.id} # XFAIL ${c.summary}`);
    else if (c.outcome === 'skip') tests.push(`ok ${n} ${c.id} # SKIP ${c.summary}`);
    else
      tests.push(
        ...diag,
        `not ok ${n} ${c.id}${c.outcome === 'xpass' ? ' # XPASS: passed where the kernel profile predicts a failure' : ''}`,
      );
  });
  lines.push(`1..${v.checks.length + 2}`, ...tests);
  return lines.join('\n') + '\n';
}

/** KTAP of a matrix: one test per cell, its run's KTAP nested as the subtest. Pure. */
export function renderKtapMatrix(runs: { cell: string; ok: boolean; verdict: Verdict }[]): string {
  const lines = ['KTAP version 1', `1..${runs.length}`];
  runs.forEach((r, i) => {
    const [version, ...rest] = renderKtap(r.verdict).trimEnd().split('\n');
    lines.push(
      `    ${version}`,
      `    # Subtest: ${r.cell}`,
      ...rest.map((l) => `    ${l}`),
      `${r.ok ? 'ok' : 'not ok'} ${i + 1} ${r.cell}`,
    );
  });
  return lines.join('\n') + '\n';
}
