import test from 'ava';
import { resolveTopology } from '../../src/run/resolve.js';
import type { Verdict } from '../../src/model/verdict.js';
import { findPlacements, renderHtml, type HtmlRun } from '../../src/report/html.js';
import { findRegressions, type Comparison } from '../../src/report/regressions.js';
import { runLabel } from '../../src/report/matrix.js';
import { fixture } from '../helpers/fixtures.js';
import { contextOf, evaluateAll, rawOutputs } from '../helpers/recorded.js';

// The recorded reports of test/fixtures/runs (README.md there).
const recorded = (file: string): HtmlRun => {
  const verdict = JSON.parse(fixture('runs', `${file}.report.json`)) as Verdict;
  return { cell: runLabel(verdict), verdict, runDir: file };
};
const lean = [recorded('lean-vs-private-node/built'), recorded('lean-vs-private-node/built-private-node')];
const repro = [recorded('repro-mbind-warn/base'), recorded('repro-mbind-warn/patched')];
const render = (runs: HtmlRun[], extra: { title?: string; comparison?: Comparison } = {}) =>
  renderHtml({ title: 'nightly', generatedAt: '2026-11-27T12:00:00Z', runs, ...extra });

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
const unescape = (v: string) => v.replace(/&(?:amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e]!);

/** Every element `name` of the markup, with its attributes (unescaped) and its text when it has no child elements. */
function elements(html: string, name: string): { attrs: Record<string, string>; text: string }[] {
  return [...html.matchAll(new RegExp(`<${name}\\b([^>]*)>(?:([^<]*)</${name}>)?`, 'g'))].map((m) => ({
    attrs: Object.fromEntries([...m[1]!.matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1]!, unescape(a[2]!)])),
    text: m[2] ?? '',
  }));
}

test('the matrix table mirrors the side-by-side text table of the recorded run', (t) => {
  const html = render(lean);
  const matrix = html.slice(
    html.indexOf('<table data-testid="matrix"'),
    html.indexOf('</table>', html.indexOf('data-testid="matrix"')),
  );
  const rows = [...matrix.matchAll(/<tr[^>]*>(.*?)<\/tr>/g)].map((r) =>
    [...r[1]!.matchAll(/<t[hd][^>]*>([^<]*)<\/t[hd]>/g)].map((c) => c[1]!),
  );
  const text = fixture('runs', 'lean-vs-private-node', 'matrix.txt')
    .trimEnd()
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/));
  t.deepEqual(rows.slice(1), text.slice(1));
  t.deepEqual(rows[0]!.slice(1), text[0]);
});

test('matrix cells carry their outcome as text and as a class, stock and patched side by side', (t) => {
  const html = render([...lean, ...repro]);
  const cells = elements(html, 'td').filter(
    (e) => e.attrs['data-check'] && e.attrs['data-cell'] && e.attrs['data-outcome'],
  );
  const at = (cell: string, check: string) =>
    cells.find((c) => c.attrs['data-cell'] === cell && c.attrs['data-check'] === check)!;
  t.is(cells.length, 4 * 20);
  t.deepEqual(at('private-virtio/built', 'abi'), {
    attrs: { class: 'xfail', 'data-outcome': 'xfail', 'data-cell': 'private-virtio/built', 'data-check': 'abi' },
    text: 'xfail',
  });
  t.is(at('private-virtio/built:private-node', 'abi').text, 'pass');
  t.is(at('private-virtio/built', 'virtio-rings').attrs.class, 'xpass');
  t.is(at('private-virtio/built:private-node', 'thp').attrs.class, 'skip');
  t.is(at('private-virtio/patched', 'exec-1').attrs.class, 'fail');
  t.is(at('private-virtio/base', 'exec-1').attrs.class, 'pass');
  t.is(at('private-virtio/base', 'abi').text, '-');
  for (const { cell, verdict } of [...lean, ...repro])
    for (const c of verdict.checks) t.is(at(cell, c.id).text, c.outcome, `${cell} ${c.id}`);
  t.deepEqual(
    elements(html, 'td')
      .filter((e) => e.attrs['data-verdict'])
      .map((e) => e.text),
    ['FAILED', 'OK', 'OK', 'FAILED'],
  );
  t.regex(html, /<td data-cell="private-virtio\/patched" class="fail">1 crash\(es\)<\/td>/);
});

test('the header gives the overall verdict and the cell count', (t) => {
  t.regex(
    render([...lean, ...repro]),
    /data-testid="cell-count">4<\/span> cell\(s\); overall <strong data-testid="overall" class="failed">FAILED</,
  );
  t.regex(render([lean[1]!, repro[0]!]), /data-testid="overall" class="ok">OK</);
});

// Where every placement map sits in the evidence, found by key alone (the renderer also checks the values).
function mapPaths(value: unknown, path: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, x]) => {
    const here = [...path, Array.isArray(value) ? `[${k}]` : k];
    const isMap =
      ['before', 'after', 'placement', 'pagesByNode'].includes(k) &&
      typeof x === 'object' &&
      x !== null &&
      Object.keys(x).length > 0 &&
      Object.keys(x).every((n) => /^\d+$/.test(n));
    return isMap ? [here] : mapPaths(x, here);
  });
}
const dig = (value: unknown, path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k.replace(/^\[(\d+)\]$/, '$1')], value);

test('every placement map in the evidence becomes bars with its pages per node, zero bars included', (t) => {
  const html = render([...lean, ...repro]);
  const charts = [...html.matchAll(/<svg([^>]*data-testid="placement-chart"[^>]*)>(.*?)<\/svg>/g)].map((m) => ({
    attrs: elements(`<svg${m[1]}>`, 'svg')[0]!.attrs,
    rects: elements(m[2]!, 'rect').map((r) => r.attrs),
    title: elements(m[2]!, 'title')[0]!.text,
  }));
  let maps = 0;
  for (const { cell, verdict } of lean)
    for (const c of verdict.checks)
      for (const path of mapPaths(c.evidence)) {
        maps++;
        const where = path.slice(0, -1).join('.').replace(/\.\[/g, '[');
        const key = path.at(-1)!;
        const chart = charts.find(
          (ch) => ch.attrs['data-cell'] === cell && ch.attrs['data-check'] === c.id && ch.attrs['data-path'] === where,
        );
        if (!chart) return t.fail(`no chart for ${cell} ${c.id} ${where}.${key}`);
        t.true(chart.title.includes(`${cell} · ${c.id}`) && chart.title.includes(key), chart.title);
        const pages = dig(c.evidence, path) as Record<string, number>;
        const bars = chart.rects.filter((r) => r['data-series'] === key);
        t.deepEqual(
          bars.map((r) => r['data-node']),
          ['0', '1'],
          'both nodes of the topology',
        );
        for (const r of bars)
          t.is(
            Number(r['data-pages']),
            pages[r['data-node']!] ?? 0,
            `${cell} ${c.id} ${where}.${key} node ${r['data-node']}`,
          );
      }
  t.is(maps, 37);
  t.is(charts.length, 27, 'before and after at one place share a chart');
  t.false(
    charts.some((ch) => ['device-local', 'no-kernel-memory'].includes(ch.attrs['data-check']!)),
    'Slab counters by name are no placement',
  );
  const move = charts.find(
    (ch) => ch.attrs['data-cell'] === 'private-virtio/built' && ch.attrs['data-check'] === 'move-optin',
  )!;
  t.deepEqual(
    move.rects.map((r) => `${r['data-series']}:${r['data-node']}=${r['data-pages']}`),
    ['before:0=16', 'after:0=0', 'before:1=0', 'after:1=16'],
  );
  const strict = charts.find(
    (ch) => ch.attrs['data-cell'] === 'private-virtio/built' && ch.attrs['data-check'] === 'bind-strict',
  )!;
  t.deepEqual(
    strict.rects.map((r) => [r['data-pages'], r.height === '0']),
    [
      ['0', true],
      ['57344', false],
    ],
  );
});

test('findPlacements: maps at any depth, grouped where they sit, counters and lists left out', (t) => {
  t.deepEqual(
    findPlacements({
      pages: { before: { 0: 3 }, after: { 1: 3 }, onP: 3 },
      cases: [{ placement: { 1: 2 } }],
      slab: { before: { Slab: 1 } },
      list: { before: [1] },
    }),
    [
      {
        path: 'pages',
        maps: [
          { key: 'before', pages: { 0: 3 } },
          { key: 'after', pages: { 1: 3 } },
        ],
      },
      { path: 'cases[0]', maps: [{ key: 'placement', pages: { 1: 2 } }] },
    ],
  );
  t.deepEqual(findPlacements({ before: { 0: 1 } }), [{ path: '', maps: [{ key: 'before', pages: { 0: 1 } }] }]);
});

test('the crash shows its signature, who provoked it, and its decoded stack', (t) => {
  const html = render(repro);
  const crash = html.slice(
    html.indexOf('<section id="crashes"'),
    html.indexOf('</section>', html.indexOf('<section id="crashes"')),
  );
  t.regex(crash, /<article data-testid="crash" data-cell="private-virtio\/patched" data-provoked="no"/);
  t.regex(crash, /<dd data-field="signature">warning: do_mbind &lt; __x64_sys_mbind<\/dd>/);
  t.regex(crash, /<dd data-field="during">exec-1<\/dd>/);
  t.regex(crash, /data-decoded="yes">[^]*__x64_sys_mbind \(mm\/mempolicy\.c:1616\)/);
  t.regex(crash, /RIP: 0010:do_mbind \(mm\/mempolicy\.c:1296\)/);
  t.notRegex(crash, /do_mbind\+0xbe/, 'the decoded lines, not the raw ones');

  const [, patched] = repro;
  const provoked = {
    ...patched!,
    verdict: {
      ...patched!.verdict,
      crashes: [],
      probeProvoked: [{ ...patched!.verdict.crashes[0]!, decoded: undefined }],
    },
  };
  const other = render([provoked]);
  t.regex(
    other,
    /data-provoked="yes"[^]*provoked by the probe \(expected, not failing\)[^]*data-decoded="no">[^]*do_mbind\+0xbe\/0x444/,
  );
  t.regex(other, /<td data-cell="private-virtio\/patched">clean<\/td>/);
  t.regex(render(lean), /No kernel reports: every console was clean/);
});

test('every string from a report is escaped, and nothing comes from the network', (t) => {
  const [built] = lean;
  const check = {
    ...built!.verdict.checks[0]!,
    title: '<img src=x onerror=alert(1)>',
    summary: 'a "quoted" & <b>bold</b>',
    evidence: { note: '</pre><script>alert(2)</script>' },
  };
  const hostile = { cell: 'x/<i>y</i>', verdict: { ...built!.verdict, checks: [check] } };
  // The hostile cell newly failing against its own recording as the baseline.
  const comparison = comparisonOf([{ ...hostile, verdict: built!.verdict }], [hostile]);
  t.is(comparison.regressions.newlyFailing.length + comparison.regressions.fixed.length, 0);
  comparison.regressions.newlyFailing.push({
    cell: hostile.cell,
    check: check.id,
    before: 'pass',
    after: 'fail',
    summary: check.summary,
  });
  const html = render([hostile, ...repro], { title: 'nightly <script>alert(0)</script>', comparison });
  t.notRegex(html, /<script|<img|<i>|<b>/i);
  t.regex(html, /<title>nightly &lt;script&gt;alert\(0\)&lt;\/script&gt;<\/title>/);
  t.regex(html, /a &quot;quoted&quot; &amp; &lt;b&gt;bold&lt;\/b&gt;/);
  t.regex(html, /data-cell="x\/&lt;i&gt;y&lt;\/i&gt;"/);
  t.regex(
    html,
    /<td>x\/&lt;i&gt;y&lt;\/i&gt;<\/td><td class="fail">[\w-]+<\/td><td>pass<\/td><td>fail<\/td><td>a &quot;quoted&quot;/,
  );
  t.notRegex(html, /\b(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
  t.notRegex(html, /https?:|@import|url\(/i);
  t.notRegex(render(lean), /id="regressions"/, 'the section only when there are regressions');
});

test('a recorded topology spec draws each node with its backend, hotplug, HMAT and devices', async (t) => {
  const [built] = lean;
  const withSpec = async (name: string) => ({
    ...built!,
    cell: name,
    verdict: { ...built!.verdict, topology: name, topologySpec: await resolveTopology(name) },
  });
  const html = render([
    await withSpec('private-virtio'),
    await withSpec('hmat-tiered'),
    await withSpec('private-movable'),
    ...repro,
  ]);
  const figure = (name: string) =>
    html.match(new RegExp(`<figure data-testid="topology-figure" data-topology="${name}">.*?</figure>`))![0];
  const node = (fig: string, id: number) => fig.match(new RegExp(`<g data-node="${id}">.*?</g>`))![0];
  const virtio = figure('private-virtio');
  t.regex(node(virtio, 0), /node 0<\/text>.*CPUs 0-1<.*2048 MiB<.*memfd share=off \(MAP_PRIVATE\)</);
  t.regex(node(virtio, 1), /CPU-less<.*1024 MiB<.*memfd share=on \(MAP_SHARED\)<.*device virtio-net</);
  t.notRegex(virtio, /not recorded/);
  t.regex(
    virtio,
    /<table data-testid="distances"><tr><th>distance<\/th><th>node 0<\/th><th>node 1<\/th><\/tr><tr><th>node 0<\/th><td>10<\/td><td>20<\/td><\/tr>/,
  );
  t.regex(node(figure('hmat-tiered'), 1), /HMAT 200 ns, 4000 MB\/s/);
  t.regex(node(figure('private-movable'), 1), /hotplug pc-dimm/);
  t.regex(
    html,
    /Topology not recorded in these reports/,
    'the repro reports hold neither the spec nor the topology check',
  );
});

test('older reports: the topology drawn from the topology check, one figure for both cells', (t) => {
  const html = render(lean);
  const figures = elements(html, 'figure');
  t.is(figures.length, 1);
  t.regex(html, /\(cells: private-virtio\/built, private-virtio\/built:private-node\)/);
  t.regex(html, /<g data-node="1">.*CPU-less<.*1024 MiB<.*backend not recorded<.*device virtio-net 0000:41:00\.0</);
});

test('results: one table per cell with evidence, subtests, a failed boot and its console', (t) => {
  const [built] = lean;
  const step = {
    id: 'kselftest-mm',
    title: 'mm selftests',
    expected: 'pass' as const,
    outcome: 'fail' as const,
    summary: '1 of 2 failed',
    problems: ['not ok 2 ksm'],
    evidence: {},
    durationSeconds: 3,
    command: './run_vmtests.sh -t ksm',
    subtests: [
      { id: 1, name: 'mmap', outcome: 'pass' as const },
      { id: 2, name: 'ksm', outcome: 'skip' as const, reason: 'no ksm' },
    ],
  };
  const failed: HtmlRun = {
    cell: 'private-virtio/failed',
    verdict: {
      ...built!.verdict,
      checks: [step],
      bootFailure: { reason: 'ssh-timeout', message: 'no SSH in 120 s', consoleTail: ['Kernel panic - <not syncing>'] },
    },
  };
  const html = render([built!, failed]);
  t.is(elements(html, 'div').filter((d) => d.attrs['data-testid'] === 'results-cell').length, 2);
  t.regex(
    html,
    /<tr data-cell="private-virtio\/built" data-check="abi"><td>abi<\/td>.*?<td class="xfail" data-outcome="xfail">xfail<\/td><td>0\.0 s<\/td>/,
  );
  t.regex(html, /<details><summary>evidence<\/summary><pre>\{\n {2}&quot;node&quot;: 1,/);
  t.regex(html, /<a href="lean-vs-private-node\/built\/console.log">console<\/a>/);
  t.regex(html, /<code>\$ \.\/run_vmtests\.sh -t ksm<\/code>/);
  t.regex(
    html,
    /<li class="pass" data-outcome="pass">pass 1 mmap<\/li><li class="skip" data-outcome="skip">skip 2 ksm \(no ksm\)<\/li>/,
  );
  t.regex(html, /boot failed \(ssh-timeout\): no SSH in 120 s/);
  t.regex(html, /<pre data-testid="console-tail">Kernel panic - &lt;not syncing&gt;<\/pre>/);
  t.regex(html, /<td data-cell="private-virtio\/failed" class="fail">ssh-timeout<\/td>/);
});

test('timings: a bar per stage and per timed check', (t) => {
  const html = render(repro);
  const rects = elements(html, 'rect').filter((r) => r.attrs['data-stage']);
  t.deepEqual(
    rects.filter((r) => r.attrs['data-seconds'] === '9.9').map((r) => r.attrs['data-stage']),
    ['total'],
  );
  t.is(rects.length, 10);
  t.is(elements(html, 'rect').filter((r) => r.attrs['data-check'] === 'exec-1').length, 2);
});

test("the host's witness sits beside the guest's summary: its count of the step's pages on P and what the guest said", (t) => {
  const truthful = render([recorded('witness/stock')]);
  const lines = elements(truthful, 'p')
    .filter((p) => p.attrs['data-testid'] === 'witness')
    .map((p) => ({ text: p.text.replace(/&#39;/g, "'") }));
  t.is(lines.length, 9, 'one per witnessed step');
  t.true(
    lines.some((l) =>
      /^host witness \(bind-optin\): 128 of the step's pages in node 1's memfd; the guest said at most 128$/.test(
        l.text,
      ),
    ),
    lines.map((l) => l.text).join('\n'),
  );
  const liar = render([recorded('witness/liar')]).replace(/&#39;/g, "'");
  t.regex(liar, /host witness \(bind-strict\): \d+ of the step's pages in node 1's memfd; the guest said at most 8192/);
});

test('each check names its own charts: one per set of pages, labelled by what the probe did, the snapshots as series', (t) => {
  const raw = rawOutputs('stock-6.12-private-virtio');
  const checks = Object.values(evaluateAll(raw, contextOf('stock-6.12-private-virtio', raw)));
  const [base] = lean;
  const html = render([{ ...base!, cell: 'private-virtio/stock', verdict: { ...base!.verdict, checks } }]);
  const labels = elements(html, 'svg')
    .filter((s) => s.attrs['data-testid'] === 'placement-chart')
    .map((s) => `${s.attrs['data-check']}: ${s.attrs['data-label']}`);
  t.deepEqual(
    labels,
    checks.flatMap((c) => (c.placements ?? []).map((p) => `${c.id}: ${p.label}`)),
  );
  t.true(labels.includes('move-optin: move_pages of 16 pages to node 1'), labels.join('\n'));
  t.true(labels.includes('bind-optin: mbind(BIND,{1},MOVE|STRICT) on pages on C'));
  t.true(
    labels.includes('cpuset: bound to 1, 1 dropped from cpuset.mems half-way'),
    'a chart the key search never found',
  );
});

/** The rows of the table with this data-testid, cell texts only. */
const tableRows = (html: string, testid: string): string[][] => {
  const start = html.indexOf(`<table data-testid="${testid}"`);
  const table = html.slice(start, html.indexOf('</table>', start));
  return [...table.matchAll(/<tr[^>]*>(.*?)<\/tr>/g)]
    .slice(1)
    .map((r) => [...r[1]!.matchAll(/<t[hd][^>]*>([^<]*)<\/t[hd]>/g)].map((c) => c[1]!));
};

test('the summary comes first: what failed with its reason (the crash by its signature), what was tested, and a legend', (t) => {
  const html = render(repro);
  t.true(html.indexOf('data-testid="summary"') < html.indexOf('data-testid="topology"'), 'summary before the rest');
  t.regex(html, /2 cell\(s\): 1 OK, 1 failed/);
  const failures = tableRows(html, 'failures');
  const patched = repro[1]!;
  const crash = patched.verdict.crashes[0]!;
  const escaped = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  t.deepEqual(failures[0], [
    patched.cell,
    'kernel report',
    'fail',
    escaped(`${crash.signature} (during ${crash.during})`),
  ]);
  t.true(
    failures.every(([cell]) => cell === patched.cell),
    'the base cell held',
  );
  const tested = tableRows(html, 'tested');
  t.is(tested.length, 2);
  t.is(tested[1]![1], `${patched.verdict.kernel.label ?? 'built'} ${patched.verdict.kernel.release}`);
  t.regex(tested[1]![3]!, /^tcg /);
  const legendAt = html.indexOf('data-testid="legend"');
  const legend = elements(html.slice(legendAt, html.indexOf('</dl>', legendAt)), 'dt').map((d) => d.text);
  t.deepEqual(legend, ['pass', 'fail', 'xfail', 'xpass', 'skip', 'error', 'not-run']);
});

test('the summary of a run where everything is as expected says so, xfails included; an xpass is something to look at', (t) => {
  const witness = recorded('witness/stock');
  t.true(witness.verdict.checks.some((c) => c.outcome === 'xfail'));
  const html = render([witness]);
  t.regex(html, /<p data-testid="failures">Every check as expected, and no kernel report\.<\/p>/);
  t.regex(html, /1 cell\(s\): 1 OK, 0 failed; 0 thing\(s\) to look at/);
  // The lean kernel's recorded virtio-rings is an xpass (docs/invariants.md: the interleave's turn).
  const rows = tableRows(render(lean), 'failures');
  t.deepEqual(
    rows.map((r) => r.slice(0, 3)),
    [['private-virtio/built', 'virtio-rings', 'xpass']],
  );
});

/** The comparison numacage makes of two sets of recorded cells, by cell. */
function comparisonOf(baseline: HtmlRun[], current: HtmlRun[]): Comparison {
  const byCell = (runs: HtmlRun[]) => new Map(runs.map((r) => [r.cell, r.verdict]));
  return {
    regressions: findRegressions(byCell(baseline), byCell(current)),
    names: { baseline: 'last-good', current: 'tonight' },
  };
}

test('against a baseline: the regressions as tables, and the summary says which failures are new', (t) => {
  // The repro's base cell as the baseline of its patched cell: the warning is new, and so is the failed step.
  const [base, patched] = repro;
  const asBaseline = { ...base!, cell: patched!.cell };
  const comparison = comparisonOf([asBaseline], [patched!]);
  const html = render([patched!], { comparison });
  t.regex(html, /<p data-testid="comparison-headline"><strong>2 regressions since the baseline<\/strong><\/p>/);
  const titles = [...html.matchAll(/<h3>([^<]*)<\/h3>/g)].map((m) => m[1]);
  t.true(titles.indexOf('Newly failing') < titles.indexOf('New crash signatures'));
  t.regex(html, /<td><code>warning: do_mbind &lt; __x64_sys_mbind<\/code><\/td>/);
  const failures = tableRows(html, 'failures');
  t.deepEqual(
    failures.map((r) => [r[1], r[4]]),
    [
      ['kernel report', 'new'],
      ['exec-1', 'new'],
    ],
  );
  t.notRegex(render(lean), /id="regressions"/, 'the section only with a baseline');
});
