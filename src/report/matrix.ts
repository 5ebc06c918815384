import { verdictHolds, type Verdict } from '../model/verdict.js';

/** How --kernel named the run's kernel (built:private-node), or its kind. */
export const kernelLabel = (v: Verdict): string => v.kernel.label ?? v.kernel.kind;

export function runLabel(v: Verdict): string {
  return `${v.topology}/${kernelLabel(v)}`;
}

/** Several runs side by side (a stock and a patched kernel, several topologies): one row per check. Pure. */
export function renderMatrix(verdicts: Verdict[]): string {
  // A run names its cell (topology/kernel#guest); reports from before cells were recorded go by position.
  // A pair's guests are numbered among themselves: b/stock#1 b/stock#2, whatever came before them.
  const labels = verdicts.map((v, i) => {
    if (v.cell) return v.cell;
    const same = verdicts.filter((w) => runLabel(w) === runLabel(v));
    if (same.length === 1) return runLabel(v);
    return `${runLabel(v)}#${verdicts.slice(0, i + 1).filter((w) => runLabel(w) === runLabel(v)).length}`;
  });
  const ids = [...new Set(verdicts.flatMap((v) => v.checks.map((c) => c.id)))];
  const width = Math.max(8, ...labels.map((l) => l.length));
  const first = Math.max(12, ...ids.map((i) => i.length));
  const row = (name: string, cells: string[]) =>
    `${name.padEnd(first)}  ${cells.map((c) => c.padEnd(width)).join('  ')}`.trimEnd();
  const lines = [row('', labels)];
  lines.push(
    row(
      'boot',
      verdicts.map((v) => (v.bootFailure ? v.bootFailure.reason : `${v.timings['boot-to-ssh']?.toFixed(1) ?? '?'} s`)),
    ),
  );
  lines.push(
    row(
      'accelerator',
      verdicts.map((v) => v.accel.accel.toUpperCase()),
    ),
  );
  lines.push(
    row(
      'console',
      verdicts.map((v) => (v.crashes.length ? `${v.crashes.length} crash(es)` : 'clean')),
    ),
  );
  for (const id of ids)
    lines.push(
      row(
        id,
        verdicts.map((v) => v.checks.find((c) => c.id === id)?.outcome ?? '-'),
      ),
    );
  lines.push(
    row(
      'verdict',
      verdicts.map((v) => (verdictHolds(v) ? 'OK' : 'FAILED')),
    ),
  );
  return lines.join('\n') + '\n';
}
