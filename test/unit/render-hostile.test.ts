import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { XMLValidator } from 'fast-xml-parser';
import { parse, type DefaultTreeAdapterMap } from 'parse5';
import { compareCommand } from '../../src/matrix/compare.js';
import { mergedReport, mergeReports } from '../../src/matrix/merge.js';
import { cellVerdicts, loadReport, type LoadedReport } from '../../src/matrix/reports.js';
import { ConfigError } from '../../src/model/errors.js';
import { REPORT_OUTPUTS, type ReportSubject } from '../../src/report/outputs.js';
import { inert } from '../../src/report/markup.js';
import { findRegressions, type Comparison } from '../../src/report/regressions.js';
import { recordedReport } from '../helpers/hostile.js';
import { propertyRuns } from '../helpers/property-runs.js';

// Reports whose every free-text string is hostile (markup, workflow commands, paths, control characters),
// through every renderer merge, compare and run use: junit.xml stays well-formed XML, report.html gains
// no element of theirs, no script or event handler, and nothing printed can be a CI runner's workflow command.
// Serial: the tests share the report file and compare's markdown file.
// Free-text strings are the ones the loader takes any value for: found by trying each string of each
// recorded report alone (enums, ids and paths it refuses are left as they were).

const HOSTILE = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "' onmouseover='alert(1)",
  '</textarea></style></script><svg onload=alert(1)>',
  '::set-output name=promote::true',
  '\n::error ::x\n',
  'WARNING: ##[set-output name=promote;]true',
  '../../../../etc/passwd',
  ']]><x/>&amp;&lt;&',
  '\u0000\u0007\u001b[31mred\u001b[0m\u007f',
  'javascript:alert(1)',
  '$(id)`id`${IFS}',
  '<!-- -->',
  '\u2028\u2029\ufeff',
];

const RECORDED = [
  'runs/witness/stock.report.json',
  'runs/lean-vs-private-node/built.report.json',
  'nightly/baseline.report.json',
].map(recordedReport);

const dir = mkdtempSync(join(tmpdir(), 'numacage-hostile-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
for (const i of [0, 1, 2, 3, 4, 5, 6, 7]) mkdirSync(join(dir, 'runs', String(i)), { recursive: true });
const file = join(dir, 'report.json');
const markdown = join(dir, 'compare.md');

type Path = (string | number)[];
function stringPaths(v: unknown, at: Path = []): Path[] {
  if (typeof v === 'string') return [at];
  if (Array.isArray(v)) return v.flatMap((x, i) => stringPaths(x, [...at, i]));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => stringPaths(x, [...at, k]));
  return [];
}
function withStrings(doc: object, values: [Path, string][]): object {
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  for (const [path, value] of values) {
    let o = copy as Record<string | number, unknown>;
    for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
    o[path.at(-1)!] = value;
  }
  return copy;
}
let lastRefusal = '';
function load(doc: object): LoadedReport | undefined {
  writeFileSync(file, JSON.stringify(doc));
  try {
    return loadReport(file, { forMerge: true });
  } catch (err) {
    if (err instanceof ConfigError) return void (lastRefusal = err.message);
    throw err;
  }
}
const FREE_TEXT = RECORDED.map((doc) =>
  stringPaths(doc).filter((p) => load(withStrings(doc, [[p, HOSTILE[0]!]])) !== undefined),
);

function subjectOf(r: LoadedReport, comparison?: Comparison): ReportSubject {
  const title = 'numacage hostile';
  const compared = comparison ? { comparison } : {};
  if (!r.shard && r.runs.length === 1 && r.runs[0]!.runDir === dir)
    return { kind: 'run', title, verdict: r.runs[0]!.verdict, runDir: '.', ...compared };
  // mergeReports' ConfigError (cells that do not add up) is a refusal: exit 2.
  return { kind: 'merge', title, report: mergedReport(mergeReports([r])), ...compared };
}

type Node = DefaultTreeAdapterMap['node'];
function elements(node: Node, out: DefaultTreeAdapterMap['element'][] = []): DefaultTreeAdapterMap['element'][] {
  if ('tagName' in node) out.push(node);
  for (const child of 'childNodes' in node ? node.childNodes : []) elements(child, out);
  if ('content' in node && node.content) elements(node.content, out);
  return out;
}
const tagCounts = (dom: DefaultTreeAdapterMap['element'][]) => {
  const counts = new Map<string, number>();
  for (const e of dom) counts.set(e.tagName, (counts.get(e.tagName) ?? 0) + 1);
  return counts;
};
const WORKFLOW_COMMAND = /^[ \t]*::|##\[/m;
const URL_ATTRIBUTES = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'srcdoc']);

const CLEAN = RECORDED.map((doc) => load(doc)!);
const htmlOutput = REPORT_OUTPUTS.find((o) => o.file('run') === 'report.html')!;
/** numacage's own script elements in each recorded report's clean rendering (rendered once: the reference). */
const CLEAN_SCRIPTS = CLEAN.map(
  (clean) => tagCounts(elements(parse(htmlOutput.render(subjectOf(clean), 'now')!))).get('script') ?? 0,
);

/**
 * Every check on what the renderers made of one loaded report (recorded report i made hostile), compared
 * with itself by compare and against its clean self in the report's own comparison section.
 */
async function assertInert(t: import('ava').ExecutionContext, r: LoadedReport, i: number): Promise<void> {
  rmSync(markdown, { force: true }); // compare appends to it
  const compared = await compareCommand([file, file], { markdownFile: markdown });
  t.false(WORKFLOW_COMMAND.test(inert(compared.text)), 'compare prints no workflow command');
  t.false(WORKFLOW_COMMAND.test(inert(readFileSync(markdown, 'utf8'))), 'compare --markdown: no workflow command');
  const comparison: Comparison = {
    regressions: findRegressions(cellVerdicts(CLEAN[i]!), cellVerdicts(r)),
    names: { baseline: 'the clean report', current: HOSTILE[0]! },
  };
  const subject = subjectOf(r, comparison);
  for (const output of REPORT_OUTPUTS) {
    const text = output.render(subject, 'now');
    if (text === undefined) continue;
    const name = output.file(subject.kind);
    t.false(WORKFLOW_COMMAND.test(inert(text)), `${name}: no workflow command once printed`);
    if (name === 'junit.xml') t.is(XMLValidator.validate(text), true, `${name} is well-formed`);
    if (name === 'report.html') {
      const dom = elements(parse(text));
      const got = tagCounts(dom);
      // The payloads' own elements: none may appear; numacage's scripts stay as many as in the clean report.
      for (const tag of ['img', 'x', 'iframe', 'object', 'embed']) t.false(got.has(tag), `report.html has an <${tag}>`);
      t.is(got.get('script') ?? 0, CLEAN_SCRIPTS[i]!, 'no script element of its own');
      for (const e of dom)
        for (const a of e.attrs) {
          t.false(/^on/i.test(a.name), `<${e.tagName} ${a.name}>: an event handler`);
          if (URL_ATTRIBUTES.has(a.name))
            t.false(/^\s*javascript:/i.test(a.value), `<${e.tagName} ${a.name}="${a.value}">`);
        }
    }
  }
}

test.serial(
  'every free-text string of each recorded report hostile at once: merge, compare and every output stay inert',
  async (t) => {
    for (const [i, doc] of RECORDED.entries()) {
      t.true(FREE_TEXT[i]!.length > 20, `report ${i}: ${FREE_TEXT[i]!.length} free-text strings`);
      // Each distinct string gets the next hostile value, the same wherever it appears (a cell is named
      // alike in cells and runs); the first hostile value where a path refuses it alone (paths take no NUL).
      const get = (p: Path) => p.reduce<any>((o, k) => o[k], doc); // eslint-disable-line @typescript-eslint/no-explicit-any -- a report's JSON
      const distinct = [...new Set(FREE_TEXT[i]!.map((p) => get(p) as string))];
      const taken = new Map(
        distinct.map((v, j) => {
          const value = HOSTILE[j % HOSTILE.length]!;
          const paths = FREE_TEXT[i]!.filter((p) => get(p) === v);
          return [v, paths.every((p) => load(withStrings(doc, [[p, value]]))) ? value : HOSTILE[0]!];
        }),
      );
      const hostile = withStrings(
        doc,
        FREE_TEXT[i]!.map((p) => [p, taken.get(get(p) as string)!]),
      );
      const r = load(hostile);
      if (!r) {
        t.fail(`report ${i} with every free-text string hostile was refused: ${lastRefusal}`);
        continue;
      }
      await assertInert(t, r, i);
    }
  },
);

testProp.serial(
  'reports with hostile strings in any free-text fields: every renderer stays inert',
  [
    fc.nat({ max: RECORDED.length - 1 }).chain((i) =>
      fc.tuple(
        fc.constant(i),
        fc.array(fc.tuple(fc.constantFrom(...FREE_TEXT[i]!), fc.oneof(fc.constantFrom(...HOSTILE), fc.string())), {
          minLength: 1,
          maxLength: 12,
        }),
      ),
    ),
  ],
  async (t, [i, values]) => {
    const r = load(withStrings(RECORDED[i]!, values));
    if (!r) return void t.pass('refused with a ConfigError naming the file (exit 2)');
    try {
      await assertInert(t, r, i);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      t.regex(err.message, /not in the matrix|cell/, err.message);
    }
  },
  propertyRuns(2_000),
);
