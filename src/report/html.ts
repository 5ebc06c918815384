import type { NumaNode, Topology } from '../model/topology.js';
import {
  asExpected,
  OUTCOMES,
  profileMismatched,
  verdictHolds,
  type CheckResult,
  type CrashReport,
  type PlacementChart,
  type Verdict,
} from '../model/verdict.js';
import { comparisonHeadline, regressionTables, type Comparison, type RegressionTable } from './regressions.js';
import { boxesDrawing, el, esc, groupedBarChart, hbarChart, type Attrs } from './svg.js';

export interface HtmlRun {
  /** topology/kernel[#guest], unique within the report. */
  cell: string;
  verdict: Verdict;
  /** The run directory, relative to where the HTML file is written: artifacts are linked from it. */
  runDir?: string;
}

export interface HtmlInput {
  title: string;
  generatedAt: string;
  runs: HtmlRun[];
  /** The comparison with a baseline (run --baseline, compare --html): its tables, and "new" marks in the summary. */
  comparison?: Comparison;
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { margin-bottom: 0.2em; } section { margin-top: 2em; } h3 { margin-bottom: 0.3em; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: 0.5em 0; } th, td { border: 1px solid #bbb; padding: 2px 8px; text-align: left; vertical-align: top; }
th { background: #eee; }
pre { background: #f6f6f6; padding: 0.5em; overflow-x: auto; font-size: 12px; }
tr.evidence pre { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 40em; overflow-y: auto; margin: 0.2em 0; }
tr.evidence td { border-top: none; }
table.results { width: 100%; } table.results td { overflow-wrap: anywhere; }
svg { font: 12px monospace; display: block; margin: 0.5em 0; } svg text { fill: #222; }
.chart-title, .box-head { font-weight: bold; } .small { font-size: 10px; }
.axis { stroke: #444; } .box { fill: #f4f7fb; stroke: #4e79a7; stroke-width: 1.5; }
.pass, .ok { background: #d8f0d8; } .fail, .failed { background: #f7caca; font-weight: bold; } .xfail { background: #fbeecb; }
.xpass { background: #f9d2a8; font-weight: bold; } .skip, .absent { background: #eee; color: #555; } .error { background: #e2cdf0; font-weight: bold; }
.not-run { background: #eee; color: #555; font-style: italic; }
.provoked { border-left: 4px solid #999; padding-left: 0.5em; } .crash { border-left: 4px solid #c33; padding-left: 0.5em; }
ul.plain { margin: 0; padding-left: 1.2em; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0 1em; } dd { margin: 0; }
.charts { display: flex; flex-wrap: wrap; gap: 0 2em; align-items: flex-end; }
`;

/** One self-contained HTML5 file (no network: inline style and SVG, no script) for a run, a matrix or a merge. Pure. */
export function renderHtml(input: HtmlInput): string {
  const { runs } = input;
  const ok = runs.length > 0 && runs.every((r) => verdictHolds(r.verdict));
  const sections = [
    section('summary', 'Summary', summarySection(runs, input.comparison)),
    section('topology', 'Topology', topologySection(runs)),
    section('matrix', 'Matrix', matrixSection(runs)),
    section('results', 'Results', runs.map(resultsOf).join('')),
    section('placement', 'Page placement', placementSection(runs)),
    section('crashes', 'Kernel reports', crashSection(runs)),
    section('timings', 'Timings', runs.map(timingsOf).join('')),
    ...(input.comparison ? [section('regressions', 'Against the baseline', comparisonSection(input.comparison))] : []),
  ];
  const nav = sections
    .map((s) => s.id)
    .map((id) => el('a', { href: `#${id}` }, esc(id)))
    .join('');
  const header = el(
    'header',
    { 'data-testid': 'header' },
    el('h1', { 'data-testid': 'title' }, esc(input.title)) +
      el(
        'p',
        {},
        `Generated ${el('time', { 'data-testid': 'generated-at' }, esc(input.generatedAt))}; ${el('span', { 'data-testid': 'cell-count' }, String(runs.length))} cell(s); overall ` +
          el('strong', { 'data-testid': 'overall', class: ok ? 'ok' : 'failed' }, ok ? 'OK' : 'FAILED'),
      ) +
      el('nav', {}, nav),
  );
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${esc(input.title)}</title>
<style>${STYLE}</style>
</head>
<body>
${header}
${sections.map((s) => s.html).join('\n')}
</body>
</html>
`;
}

// --- summary: what failed and why, what was tested, what the outcomes mean

/** What each outcome means, in the words of docs/invariants.md. */
const LEGEND: Record<string, string> = {
  pass: 'held, as the column expects',
  fail: 'did not hold where the column expects it to: the run fails',
  xfail: 'did not hold, as the column expects for this kind of kernel (the stock kernel violates it)',
  xpass: 'held where the column expects a failure: the run fails until the column or the kernel is looked at',
  skip: 'not defined for this kind of kernel (n/a), or the topology or kernel cannot test it; the reason is its summary',
  error: 'the probe could not answer (its output broken or missing): never read as a pass; the run fails',
  'not-run': 'the run stopped before it (a kernel crash or QEMU gone): the run fails',
};

interface Failure {
  cell: string;
  what: string;
  outcome: string;
  why: string;
}

/** Everything that makes a cell fail, each with its one-line reason, in the order a reader should look at them. */
function failuresOf({ cell, verdict: v }: HtmlRun): Failure[] {
  const out: Failure[] = [];
  if (v.bootFailure)
    out.push({ cell, what: 'boot', outcome: 'fail', why: `${v.bootFailure.reason}: ${v.bootFailure.message}` });
  for (const c of v.crashes)
    out.push({
      cell,
      what: 'kernel report',
      outcome: 'fail',
      why: `${c.signature ?? c.title}${c.during ? ` (during ${c.during})` : ''}`,
    });
  if (v.stopped) out.push({ cell, what: 'run', outcome: 'not-run', why: v.stopped.message });
  if (profileMismatched(v))
    out.push({
      cell,
      what: 'kernel profile',
      outcome: 'fail',
      why: `the kernel shows ${v.profile!.profile} (${v.profile!.reason}); the checks were judged as ${v.expectedProfile!.profile}`,
    });
  for (const c of v.checks)
    if (!asExpected(c.outcome) && c.outcome !== 'not-run')
      out.push({ cell, what: c.id, outcome: c.outcome, why: c.summary });
  const notRun = v.checks.filter((c) => c.outcome === 'not-run');
  if (notRun.length)
    out.push({ cell, what: notRun.map((c) => c.id).join(', '), outcome: 'not-run', why: notRun[0]!.summary });
  return out;
}

/** Whether a failure is new since the baseline: a newly failing or weakened check, or a new crash signature. */
function sinceBaseline(f: Failure, c: Comparison): string {
  const r = c.regressions;
  if (f.what === 'kernel report')
    return r.newCrashes.some((x) => x.cell === f.cell && f.why.startsWith(x.signature))
      ? 'new'
      : 'also in the baseline';
  if ([...r.newlyFailing, ...r.weakened].some((x) => x.cell === f.cell && x.check === f.what)) return 'new';
  return r.stillFailing.some((x) => x.cell === f.cell && x.check === f.what) ? 'also in the baseline' : '';
}

function summarySection(runs: HtmlRun[], comparison?: Comparison): string {
  const failures = runs.flatMap(failuresOf);
  const held = runs.filter((r) => verdictHolds(r.verdict)).length;
  const counts = el(
    'p',
    { 'data-testid': 'summary-counts' },
    esc(`${runs.length} cell(s): ${held} OK, ${runs.length - held} failed; ${failures.length} thing(s) to look at.`),
  );
  const failed = failures.length
    ? el(
        'table',
        { 'data-testid': 'failures' },
        el(
          'tr',
          {},
          ['cell', 'what', 'outcome', 'why', ...(comparison ? ['since the baseline'] : [])]
            .map((h) => el('th', {}, h))
            .join(''),
        ) +
          failures
            .map((f) =>
              el(
                'tr',
                { 'data-cell': f.cell },
                el('td', {}, esc(f.cell)) +
                  el('td', {}, esc(f.what)) +
                  outcomeCell(f.outcome) +
                  el('td', {}, esc(f.why)) +
                  (comparison ? el('td', {}, esc(sinceBaseline(f, comparison))) : ''),
              ),
            )
            .join(''),
      )
    : el('p', { 'data-testid': 'failures' }, 'Every check as expected, and no kernel report.');
  const tested = el(
    'table',
    { 'data-testid': 'tested' },
    el('tr', {}, ['cell', 'kernel', 'topology', 'accelerator', 'judged as'].map((h) => el('th', {}, h)).join('')) +
      runs
        .map(({ cell, verdict: v }) =>
          el(
            'tr',
            { 'data-cell': cell },
            [
              cell,
              `${v.kernel.label ?? v.kernel.kind} ${v.kernel.release}`,
              v.topology,
              `${v.accel.accel} (${v.accel.cpuModel})${v.accel.note ? `: ${v.accel.note}` : ''}`,
              v.expectedProfile ? `${v.expectedProfile.profile} (${v.expectedProfile.why})` : '-',
            ]
              .map((x) => el('td', {}, esc(x)))
              .join(''),
          ),
        )
        .join(''),
  );
  const legend = el(
    'dl',
    { 'data-testid': 'legend' },
    Object.entries(LEGEND)
      .map(([o, text]) => el('dt', { class: o }, esc(o)) + el('dd', {}, esc(text)))
      .join(''),
  );
  return counts + failed + el('h3', {}, 'What was tested') + tested + el('h3', {}, 'Outcomes') + legend;
}

/** The comparison's tables, the regressions first (regressionTables), each under its heading. */
function comparisonSection({ regressions: r, names }: Comparison): string {
  const head =
    el('p', { 'data-testid': 'comparison-headline' }, el('strong', {}, esc(comparisonHeadline(r)))) +
    el('p', {}, esc(`${r.compared} cell(s) compared; baseline ${names.baseline}, now ${names.current}.`));
  const cell = (t: RegressionTable, v: string, i: number) =>
    el('td', i === t.strong ? { class: 'fail' } : {}, i === t.code ? el('code', {}, esc(v)) : esc(v));
  return (
    head +
    regressionTables(r)
      .map(
        (t) =>
          el('h3', {}, esc(t.title)) +
          el(
            'table',
            { 'data-testid': 'comparison-table', 'data-regression': String(t.regression) },
            el('tr', {}, t.head.map((h) => el('th', {}, esc(h))).join('')) +
              t.rows.map((row) => el('tr', {}, row.map((v, i) => cell(t, v, i)).join(''))).join(''),
          ),
      )
      .join('')
  );
}

function section(id: string, heading: string, body: string): { id: string; html: string } {
  return { id, html: el('section', { id, 'data-testid': id }, el('h2', {}, esc(heading)) + body) };
}

const outcomeCell = (outcome: string, a: Attrs = {}) =>
  el(
    'td',
    { class: (OUTCOMES as readonly string[]).includes(outcome) ? outcome : 'absent', 'data-outcome': outcome, ...a },
    esc(outcome),
  );

// --- topology

interface NodeView {
  id: number;
  lines: string[];
}
interface TopologyView {
  name: string;
  description?: string;
  nodes: NodeView[];
  distances: number[][];
}

/** "0-1,3" */
function cpuRanges(cpus: number[]): string {
  const sorted = [...cpus].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j;
  }
  return parts.join(',');
}

const cpuLine = (cpus: number[]) => (cpus.length ? `CPUs ${cpuRanges(cpus)}` : 'CPU-less');

function backendLine(n: NumaNode): string {
  if (n.backend.kind === 'ram') return 'ram';
  return `memfd share=${n.backend.share ? 'on (MAP_SHARED)' : 'off (MAP_PRIVATE)'}${n.backend.hugetlb ? ', hugetlb' : ''}`;
}

function specView(s: Topology): TopologyView {
  const nodes = s.nodes.map((n) => ({
    id: n.id,
    lines: [
      `node ${n.id}`,
      cpuLine(n.cpus),
      `${n.memMiB} MiB`,
      backendLine(n),
      ...(n.hotplug ? [`hotplug ${n.hotplug}`] : []),
      ...(n.hmat ? [`HMAT ${n.hmat.latencyNs} ns, ${n.hmat.bandwidthMBs} MB/s`] : []),
      ...s.devices.filter((d) => d.node === n.id).map((d) => `device ${d.kind}`),
    ],
  }));
  const distances = s.nodes.map((a) =>
    s.nodes.map((b) => s.distances.find((d) => d.src === a.id && d.dst === b.id)?.value ?? NaN),
  );
  return { name: s.name, description: s.description, nodes, distances };
}

interface TopologyEvidence {
  nodes?: { node: number; cpus?: number[]; memTotalMiB?: number; backendMiB?: number }[];
  distances?: number[][];
  devices?: { kind: string; node: number; pci?: string }[];
}

/** Older reports: what the topology check saw in the guest. */
function evidenceView(v: Verdict): TopologyView | undefined {
  const ev = v.checks.find((c) => c.id === 'topology')?.evidence as TopologyEvidence | undefined;
  if (!Array.isArray(ev?.nodes)) return undefined;
  const nodes = ev.nodes.map((n) => ({
    id: n.node,
    lines: [
      `node ${n.node}`,
      cpuLine(n.cpus ?? []),
      n.backendMiB !== undefined ? `${n.backendMiB} MiB` : `${n.memTotalMiB ?? '?'} MiB seen`,
      'backend not recorded',
      ...(ev.devices ?? []).filter((d) => d.node === n.node).map((d) => `device ${d.kind}${d.pci ? ` ${d.pci}` : ''}`),
    ],
  }));
  return { name: v.topology, nodes, distances: ev.distances ?? [] };
}

const viewOf = (v: Verdict): TopologyView | undefined => (v.topologySpec ? specView(v.topologySpec) : evidenceView(v));

function topologySection(runs: HtmlRun[]): string {
  const groups = new Map<string, { view?: TopologyView; name: string; cells: string[] }>();
  for (const r of runs) {
    const view = viewOf(r.verdict);
    const key = view ? JSON.stringify(view) : `unrecorded:${r.verdict.topology}`;
    const g = groups.get(key) ?? { view, name: r.verdict.topology, cells: [] };
    g.cells.push(r.cell);
    groups.set(key, g);
  }
  return [...groups.values()]
    .map(({ view, name, cells }) => {
      const caption = el(
        'figcaption',
        {},
        `${el('strong', {}, esc(name))}${view?.description ? ` — ${esc(view.description)}` : ''} (cells: ${esc(cells.join(', '))})`,
      );
      if (!view)
        return el(
          'figure',
          { 'data-testid': 'topology-figure', 'data-topology': name },
          caption + el('p', {}, 'Topology not recorded in these reports.'),
        );
      const drawing = boxesDrawing(
        `topology ${name}`,
        view.nodes.map((n) => ({ lines: n.lines, data: { 'data-node': n.id } })),
        { 'data-testid': 'topology-svg' },
      );
      const ids = view.nodes.map((n) => n.id);
      const head = el('tr', {}, el('th', {}, 'distance') + ids.map((id) => el('th', {}, esc(`node ${id}`))).join(''));
      const rows = view.distances.map((row, i) =>
        el(
          'tr',
          {},
          el('th', {}, esc(`node ${ids[i] ?? i}`)) +
            row.map((d) => el('td', {}, esc(Number.isNaN(d) ? '?' : String(d)))).join(''),
        ),
      );
      return el(
        'figure',
        { 'data-testid': 'topology-figure', 'data-topology': name },
        caption + drawing + el('table', { 'data-testid': 'distances' }, head + rows.join('')),
      );
    })
    .join('');
}

// --- matrix (what renderMatrix prints, as a table)

function matrixSection(runs: HtmlRun[]): string {
  const ids = [...new Set(runs.flatMap((r) => r.verdict.checks.map((c) => c.id)))];
  const row = (name: string, cells: string) => el('tr', { 'data-row': name }, el('th', {}, esc(name)) + cells);
  const head = el(
    'tr',
    {},
    el('th', {}, 'check') + runs.map((r) => el('th', { 'data-cell': r.cell }, esc(r.cell))).join(''),
  );
  const boot = runs
    .map(({ verdict: v, cell }) =>
      el(
        'td',
        { 'data-cell': cell, class: v.bootFailure ? 'fail' : undefined },
        esc(v.bootFailure ? v.bootFailure.reason : `${v.timings['boot-to-ssh']?.toFixed(1) ?? '?'} s`),
      ),
    )
    .join('');
  const consoleRow = runs
    .map(({ verdict: v, cell }) =>
      el(
        'td',
        { 'data-cell': cell, class: v.crashes.length ? 'fail' : undefined },
        v.crashes.length ? `${v.crashes.length} crash(es)` : 'clean',
      ),
    )
    .join('');
  const checks = ids.map((id) =>
    row(
      id,
      runs
        .map((r) =>
          outcomeCell(r.verdict.checks.find((c) => c.id === id)?.outcome ?? '-', {
            'data-cell': r.cell,
            'data-check': id,
          }),
        )
        .join(''),
    ),
  );
  const verdicts = runs.map(({ cell, verdict: v }) => {
    const t = verdictHolds(v) ? 'OK' : 'FAILED';
    return el('td', { 'data-cell': cell, class: t.toLowerCase(), 'data-verdict': t }, t);
  });
  return el(
    'table',
    { 'data-testid': 'matrix' },
    head + row('boot', boot) + row('console', consoleRow) + checks.join('') + row('verdict', verdicts.join('')),
  );
}

// --- results

function resultsOf({ cell, verdict: v, runDir }: HtmlRun): string {
  const facts = [
    `run ${v.runId}`,
    `kernel ${v.kernel.label ?? v.kernel.kind} ${v.kernel.release}`,
    `${v.accel.accel.toUpperCase()}${v.accel.note ? ` (${v.accel.note})` : ''}`,
    ...(v.profile ? [`profile ${v.profile.profile} (${v.profile.reason})`] : []),
  ];
  const links = runDir
    ? Object.entries(v.artifacts)
        .map(([name, file]) => el('a', { href: encodeURI(`${runDir}/${file}`) }, esc(name)))
        .join(' ')
    : '';
  const troubles = [
    ...(v.bootRetries ?? []).map((b, i) => `tried again (${b.reason}): ${b.message} (console-${i + 1}.log)`),
    ...(v.stopped ? [`run stopped (${v.stopped.reason}): ${v.stopped.message}`] : []),
    ...(v.bootFailure ? [`boot failed (${v.bootFailure.reason}): ${v.bootFailure.message}`] : []),
  ];
  const head = el(
    'tr',
    {},
    ['check', 'title', 'expected', 'outcome', 'duration', 'summary', 'problems'].map((h) => el('th', {}, h)).join(''),
  );
  const rows = v.checks.map((c) => checkRow(cell, c)).join('');
  return el(
    'div',
    { 'data-testid': 'results-cell', 'data-cell': cell },
    el('h3', {}, esc(cell)) +
      el('p', {}, esc(facts.join('; ')) + (links ? `<br>artifacts: ${links}` : '')) +
      troubles.map((t) => el('p', { class: 'failed' }, esc(t))).join('') +
      (v.bootFailure ? el('pre', { 'data-testid': 'console-tail' }, esc(v.bootFailure.consoleTail.join('\n'))) : '') +
      el('table', { class: 'results', 'data-testid': 'results' }, head + rows),
  );
}

interface HostWitnessEvidence {
  node: number;
  steps: { step: string; guestPagesOnNode?: number; hostPagesOnNode?: number; unavailable?: string }[];
}

/** The host's count beside the guest's, per witnessed step (src/invariants/witness.ts). */
function witnessLines(c: CheckResult): string {
  const w = c.evidence.hostWitness as HostWitnessEvidence | undefined;
  if (!w) return '';
  const line = (s: HostWitnessEvidence['steps'][number]) =>
    s.hostPagesOnNode === undefined
      ? `host witness (${s.step}): none, ${s.unavailable ?? 'no reading'}`
      : `host witness (${s.step}): ${s.hostPagesOnNode} of the step's pages in node ${w.node}'s memfd; the guest said at most ${s.guestPagesOnNode}`;
  return w.steps.map((s) => el('p', { class: 'witness', 'data-testid': 'witness' }, esc(line(s)))).join('');
}

function checkRow(cell: string, c: CheckResult): string {
  const list = (items: string[]) =>
    items.length ? el('ul', { class: 'plain' }, items.map((i) => el('li', {}, esc(i))).join('')) : '';
  const row = el(
    'tr',
    { 'data-cell': cell, 'data-check': c.id },
    [
      esc(c.id),
      esc(c.title) + (c.command && c.command !== c.title ? `<br><code>$ ${esc(c.command)}</code>` : ''),
      esc(c.expected),
    ]
      .map((x) => el('td', {}, x))
      .join('') +
      outcomeCell(c.outcome) +
      el('td', {}, c.durationSeconds !== undefined ? `${c.durationSeconds.toFixed(1)} s` : '') +
      [esc(c.summary) + witnessLines(c), list(c.problems)].map((x) => el('td', {}, x)).join(''),
  );
  // Under the row, across the table: an evidence opened in a cell of its own would widen its column
  // past the window (at 1024 px, off the right edge).
  const below = (content: string, attrs: Record<string, string>) =>
    el('tr', { ...attrs, 'data-check': c.id }, el('td', {}, '') + el('td', { colspan: 6 }, content));
  const evidence = Object.keys(c.evidence).length
    ? below(
        el('details', {}, el('summary', {}, 'evidence') + el('pre', {}, esc(JSON.stringify(c.evidence, null, 2)))),
        { class: 'evidence' },
      )
    : '';
  if (!c.subtests?.length) return row + evidence;
  const items = c.subtests.map((s) =>
    el(
      'li',
      { class: s.outcome, 'data-outcome': s.outcome },
      esc(`${s.outcome} ${s.id} ${s.name}${s.reason ? ` (${s.reason})` : ''}`),
    ),
  );
  return (
    row +
    below(el('ul', { class: 'plain', 'data-testid': 'subtests' }, items.join('')), { class: 'subtests' }) +
    evidence
  );
}

// --- page placement

const PLACEMENT_KEYS = ['before', 'after', 'placement', 'pagesByNode'];

export interface PlacementMaps {
  /** Where the maps sit in the evidence ('' for its top level): cases[0], moveStrict. */
  path: string;
  /** The maps found side by side there, in PLACEMENT_KEYS order: node id -> pages. */
  maps: { key: string; pages: Record<string, number> }[];
}

const isNodeMap = (x: unknown): x is Record<string, number> =>
  typeof x === 'object' &&
  x !== null &&
  !Array.isArray(x) &&
  Object.entries(x).every(([k, n]) => /^\d+$/.test(k) && typeof n === 'number');

/** Every page placement map ({"0": 64, "1": 12}) in a check's evidence, at any depth, grouped by the object holding them. */
export function findPlacements(value: unknown, path = ''): PlacementMaps[] {
  if (typeof value !== 'object' || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((x, i) => findPlacements(x, `${path}[${i}]`));
  const obj = value as Record<string, unknown>;
  const maps = PLACEMENT_KEYS.filter((k) => isNodeMap(obj[k])).map((key) => ({
    key,
    pages: obj[key] as Record<string, number>,
  }));
  const deeper = Object.entries(obj)
    .filter(([k]) => !maps.some((m) => m.key === k))
    .flatMap(([k, x]) => findPlacements(x, path ? `${path}.${k}` : k));
  return [...(maps.length ? [{ path, maps }] : []), ...deeper];
}

/** The check's own charts; a report from before checks named them gets its placement maps found by key. */
const chartsOf = (c: CheckResult): (PlacementChart & { path?: string })[] =>
  c.placements ?? findPlacements(c.evidence).map(({ path, maps }) => ({ label: path, path, maps }));

function placementSection(runs: HtmlRun[]): string {
  const cells = runs.flatMap(({ cell, verdict: v }) => {
    const topoNodes = viewOf(v)?.nodes.map((n) => n.id) ?? [];
    const charts = v.checks.flatMap((c) =>
      chartsOf(c).map(({ label, path, maps }) => {
        // The topology's nodes first, so a node without pages still shows a zero bar.
        const nodes = [...new Set([...topoNodes, ...maps.flatMap((m) => Object.keys(m.pages).map(Number))])].sort(
          (a, b) => a - b,
        );
        const series = maps.map((m) => m.key);
        const named = series.length > 1 ? `{${series.join(', ')}}` : series[0];
        const title =
          path === undefined
            ? `${cell} · ${c.id} · ${label} · ${named}`
            : `${cell} · ${c.id} · ${path ? `${path}.` : ''}${named}`;
        const groups = nodes.map((n) => ({
          label: `node ${n}`,
          bars: maps.map((m) => ({
            series: m.key,
            value: m.pages[String(n)] ?? 0,
            data: { 'data-node': n, 'data-pages': m.pages[String(n)] ?? 0, 'data-series': m.key },
          })),
        }));
        return groupedBarChart(title, 'NUMA node', 'pages', series, groups, {
          'data-testid': 'placement-chart',
          'data-cell': cell,
          'data-check': c.id,
          ...(path === undefined ? { 'data-label': label } : { 'data-path': path }),
        });
      }),
    );
    return charts.length
      ? [
          el(
            'div',
            { 'data-testid': 'placement-cell', 'data-cell': cell },
            el('h3', {}, esc(cell)) + el('div', { class: 'charts' }, charts.join('')),
          ),
        ]
      : [];
  });
  const legend =
    'Pages per NUMA node as the probe counted them: the count is written above each bar, and its map (before, after...) under it when a chart has several.';
  return cells.length ? el('p', {}, legend) + cells.join('') : el('p', {}, 'No page placement in these reports.');
}

// --- kernel reports

function crashSection(runs: HtmlRun[]): string {
  const reports = runs.flatMap(({ cell, verdict: v }) => [
    ...v.crashes.map((c) => crashOf(cell, c, 'fails')),
    ...(v.probeProvoked ?? []).map((c) => crashOf(cell, c, 'probe')),
    ...(v.emulatorArtifacts ?? []).map((c) => crashOf(cell, c, 'emulator')),
  ]);
  return reports.length ? reports.join('') : el('p', {}, 'No kernel reports: every console was clean.');
}

const SET_APART = {
  probe: 'provoked by the probe (expected, not failing)',
  emulator: 'a TCG artifact, not the kernel (not failing)',
};

function crashOf(cell: string, c: CrashReport, why: 'fails' | keyof typeof SET_APART): string {
  const facts: [string, string | undefined][] = [
    ['cell', cell],
    [
      'kind',
      why !== 'fails' ? SET_APART[why] : c.fatal ? 'fatal crash (fails the run)' : 'kernel trouble (fails the run)',
    ],
    ['type', c.type],
    ['signature', c.signature],
    ['during', c.during],
    ['at', c.atSeconds !== undefined ? `${c.atSeconds.toFixed(1)} s` : undefined],
  ];
  const dl = el(
    'dl',
    {},
    facts
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => el('dt', {}, k) + el('dd', { 'data-field': k }, esc(v)))
      .join(''),
  );
  const stack = el(
    'pre',
    { 'data-testid': 'crash-stack', 'data-decoded': c.decoded ? 'yes' : 'no' },
    esc((c.decoded ?? c.lines).join('\n')),
  );
  return el(
    'article',
    {
      'data-testid': 'crash',
      'data-cell': cell,
      'data-provoked': why !== 'fails' ? 'yes' : 'no',
      class: why !== 'fails' ? 'provoked' : 'crash',
    },
    el('h3', {}, esc(c.title)) +
      dl +
      el('p', {}, c.decoded ? 'Decoded stack (file:line):' : 'Raw console lines (not decoded):') +
      stack,
  );
}

// --- timings

function timingsOf({ cell, verdict: v }: HtmlRun): string {
  const stages = Object.entries(v.timings).map(([stage, s]) => ({
    label: stage,
    value: s,
    data: { 'data-stage': stage, 'data-seconds': s },
  }));
  const checks = v.checks
    .filter((c) => c.durationSeconds !== undefined)
    .map((c) => ({
      label: c.id,
      value: c.durationSeconds!,
      data: { 'data-check': c.id, 'data-seconds': c.durationSeconds! },
    }));
  return el(
    'div',
    { 'data-testid': 'timings-cell', 'data-cell': cell },
    el('h3', {}, esc(cell)) +
      el(
        'div',
        { class: 'charts' },
        hbarChart(`${cell}: stages`, 's', stages, { 'data-testid': 'timing-chart', 'data-cell': cell }) +
          (checks.length
            ? hbarChart(`${cell}: checks`, 's', checks, { 'data-testid': 'check-duration-chart', 'data-cell': cell })
            : ''),
      ),
  );
}
