import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { readJsonFile } from '../adapters/json-file.js';
import { configError, issueLines, parseOrThrow, says } from '../schema/parse.js';
import { ConfigError } from '../model/errors.js';
import { OUTCOMES, verdictHolds, type Verdict } from '../model/verdict.js';
import type { MatrixRun } from '../report/matrix-report.js';
import { runLabel } from '../report/matrix.js';

/** The runs of one report file, their run directories made absolute. */
export interface LoadedReport {
  file: string;
  /** Every cell of the matrix it belongs to (a lone run: its own). */
  cells: string[];
  shard?: { index: number; count: number };
  runs: MatrixRun[];
}

/** A run's cell; reports from before cells were recorded go by topology/kernel. */
const cellOf = (v: Verdict): string => v.cell ?? runLabel(v);

const REPORT_NAMES = ['report.json', 'matrix.json'];

/** The report file a path names: the file itself, or a directory's report.json or matrix.json. */
function reportFile(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  if (!statSync(path).isDirectory()) return path;
  return REPORT_NAMES.map((n) => join(path, n)).find((f) => existsSync(f));
}

// What numacage reads of a report, typed as far as the renderers of merge and compare read it (text,
// Markdown, JUnit, KTAP, HTML): a report from a tampered CI artifact is refused here with its file and
// JSON path (exit 2), never left to crash a renderer (exit 70). Objects stay loose: fields numacage does
// not read pass as they are. The limits are far above what numacage writes, and keep each renderer's
// recursion and argument lists (Math.max(...xs), push(...xs)) within what JavaScript takes.

/** Levels of nesting: numacage writes about 10; JSON.stringify and the HTML report recurse. */
const MAX_DEPTH = 64;
/**
 * Keys of one object: numacage writes a few dozen at most. The HTML report
 * charts the page maps it finds in a check's evidence, a bar per node of up
 * to four maps side by side, and spreads the bars as arguments.
 */
const MAX_KEYS = 4096;
/** JSON values in one run's report: numacage writes about 700; renderers spread its lists as arguments. */
const MAX_RUN_VALUES = 50_000;
/** Cells in one report, and distinct checks across them: the matrix table is one by the other. */
const MAX_CELLS = 256;
const MAX_CHECK_IDS = 512;
/** Names a table pads every column to: cells, topologies, kernels, checks, charts. */
const MAX_NAME = 200;
/** QEMU takes at most 128 NUMA nodes; node ids are 0-1023, as in a topology file. */
const MAX_NODES = 128;
const MAX_NODE_ID = 1023;
/** Snapshots in one placement chart (numacage draws one or two: before, after). */
const MAX_CHART_MAPS = 8;

const name = z.string().max(MAX_NAME, says(`must be a string of at most ${MAX_NAME} characters`));
const lines = z.array(z.string());
/** A path or a file name: the HTML report links to it (encodeURI refuses a lone surrogate) and merge opens it. */
const pathText = z
  .string()
  .refine((s) => !/[\u0000\uD800-\uDFFF]/u.test(s), says('must be a path: no NUL, no lone UTF-16 surrogate'));
const nodeId = z
  .number()
  .int(says(`must be a node id, 0 to ${MAX_NODE_ID}`))
  .min(0, says(`must be a node id, 0 to ${MAX_NODE_ID}`))
  .max(MAX_NODE_ID, says(`must be a node id, 0 to ${MAX_NODE_ID}`));
const isNodeKey = (k: string) => /^\d{1,4}$/.test(k) && Number(k) <= MAX_NODE_ID;

/** Adds an issue for each node listed twice: a drawing lists each node's devices in its box. */
const uniqueNodes =
  <T>(idOf: (n: T) => unknown) =>
  (nodes: T[], ctx: z.RefinementCtx) => {
    const seen = new Set<unknown>();
    nodes.forEach((n, i) => {
      if (seen.has(idOf(n))) ctx.addIssue({ code: 'custom', path: [i], message: 'names a node listed before' });
      seen.add(idOf(n));
    });
  };

const CrashShape = z.looseObject({
  type: z.string(),
  title: z.string(),
  fatal: z.boolean(),
  atSeconds: z.number().optional(),
  lines,
  during: z.string().optional(),
  signature: z.string().optional(),
  decoded: lines.optional(),
});

const BootFailureShape = z.looseObject({ reason: z.string(), message: z.string(), consoleTail: lines });

/** The topology the guest booted with (src/model/topology.ts), as the HTML report draws it. */
const TopologySpecShape = z.looseObject({
  name: z.string(),
  description: z.string().optional(),
  nodes: z
    .array(
      z.looseObject({
        id: nodeId,
        memMiB: z.number(),
        cpus: z.array(z.number()),
        backend: z.looseObject({ kind: z.string(), share: z.boolean().optional(), hugetlb: z.boolean().optional() }),
        hotplug: z.string().optional(),
        hmat: z.looseObject({ latencyNs: z.number(), bandwidthMBs: z.number() }).optional(),
      }),
    )
    .max(MAX_NODES)
    .superRefine(uniqueNodes((n) => n.id)),
  distances: z.array(z.looseObject({ src: z.number(), dst: z.number(), value: z.number() })),
  devices: z.array(z.looseObject({ kind: z.string(), node: z.number() })),
});

/** What the topology check saw in the guest: reports from before topologySpec was recorded are drawn from it. */
const TopologyEvidenceShape = z.looseObject({
  nodes: z
    .array(
      z.looseObject({
        node: nodeId,
        cpus: z.array(z.number()).optional(),
        memTotalMiB: z.number().optional(),
        backendMiB: z.number().optional(),
      }),
    )
    .max(MAX_NODES)
    .superRefine(uniqueNodes((n) => n.node)),
  distances: z.array(z.array(z.number()).max(MAX_NODES)).max(MAX_NODES).optional(),
  devices: z.array(z.looseObject({ kind: z.string(), node: z.number(), pci: z.string().optional() })).optional(),
});

/** The host's count of a check's pages (src/invariants/witness.ts), shown beside the guest's. */
const HostWitnessShape = z.looseObject({
  node: z.number(),
  steps: z.array(
    z.looseObject({
      step: z.string(),
      guestPagesOnNode: z.number().optional(),
      hostPagesOnNode: z.number().optional(),
      unavailable: z.string().optional(),
    }),
  ),
});

const PlacementChartShape = z.looseObject({
  label: name,
  maps: z
    .array(
      z.looseObject({
        key: name,
        pages: z.record(z.string().refine(isNodeKey, says(`must be a node id, 0 to ${MAX_NODE_ID}`)), z.number()),
      }),
    )
    .max(MAX_CHART_MAPS),
});

const CheckShape = z
  .looseObject({
    id: name,
    title: z.string(),
    expected: z.string(),
    outcome: z.enum(OUTCOMES),
    summary: z.string(),
    problems: lines,
    evidence: z.looseObject({ hostWitness: HostWitnessShape.optional() }),
    durationSeconds: z.number().optional(),
    command: z.string().optional(),
    subtests: z
      .array(
        z.looseObject({
          id: z.number(),
          name: z.string(),
          outcome: z.enum(OUTCOMES.filter((o) => o !== 'not-run')),
          reason: z.string().optional(),
        }),
      )
      .optional(),
    placements: z.array(PlacementChartShape).optional(),
  })
  .superRefine((c, ctx) => {
    // Older reports: the HTML report draws the topology from what this check saw.
    if (c.id === 'topology' && Array.isArray(c.evidence.nodes))
      for (const i of TopologyEvidenceShape.safeParse(c.evidence).error?.issues ?? [])
        ctx.addIssue({ code: 'custom', path: ['evidence', ...i.path], message: i.message });
  });

/** A run's report (src/model/verdict.ts), as merge and compare render it. */
const VerdictShape = z.looseObject({
  runId: z.string(),
  cell: name.optional(),
  topology: name,
  topologySpec: TopologySpecShape.optional(),
  kernel: z.looseObject({ kind: name, release: z.string(), label: name.optional() }),
  accel: z.looseObject({ accel: z.string(), note: z.string().optional() }),
  profile: z.looseObject({ profile: z.string(), reason: z.string() }).optional(),
  expectedProfile: z.looseObject({ profile: z.string(), why: z.string() }).optional(),
  checks: z.array(CheckShape).max(MAX_CHECK_IDS),
  bootFailure: BootFailureShape.optional(),
  bootRetries: z.array(BootFailureShape).optional(),
  stopped: z.looseObject({ reason: z.string(), message: z.string() }).optional(),
  probeProvoked: z.array(CrashShape).optional(),
  emulatorArtifacts: z.array(CrashShape).optional(),
  crashes: z.array(CrashShape),
  timings: z.record(z.string(), z.number()),
  artifacts: z.record(z.string(), pathText),
});

/** A matrix, shard or merged report; each run's verdict is checked on its own (VerdictShape). */
const MatrixShape = z.looseObject({
  cells: z.array(name).max(MAX_CELLS).optional(),
  shard: z.object({ index: z.number().int().min(1), count: z.number().int().min(1) }).optional(),
  runs: z
    .array(
      z.looseObject({
        cell: name.optional(),
        runDir: pathText,
        ok: z.boolean().optional(),
        verdict: z.looseObject({}),
      }),
    )
    .max(MAX_CELLS),
});

type Problem = { path: PropertyKey[]; message: string };

/** A ConfigError with a line per problem, each led by its JSON path. */
const refused = (what: string, problems: Problem[], hint: string) =>
  configError(
    what,
    issueLines(new z.ZodError(problems.map((p) => ({ code: 'custom', input: undefined, ...p })))),
    hint,
  );

/**
 * Where a document nests deeper than MAX_DEPTH or an object has more than
 * MAX_KEYS keys, or that it holds more than maxValues values; walked
 * without recursion, before the schema.
 */
function tooLarge(data: unknown, maxValues: number, prefix: PropertyKey[] = []): Problem | undefined {
  type At = { v: object; depth: number; key?: PropertyKey; up?: At };
  const pathOf = (at: At): PropertyKey[] => (at.up ? [...pathOf(at.up), at.key!] : prefix);
  let values = 1;
  if (typeof data !== 'object' || data === null) return undefined;
  const stack: At[] = [{ v: data, depth: prefix.length }];
  while (stack.length) {
    const at = stack.pop()!;
    if (at.depth >= MAX_DEPTH) return { path: pathOf(at), message: `nests deeper than ${MAX_DEPTH} levels` };
    const list = Array.isArray(at.v);
    let keys = 0;
    for (const k in at.v) {
      if (!list && ++keys > MAX_KEYS) return { path: pathOf(at), message: `has more than ${MAX_KEYS} keys` };
      if (++values > maxValues)
        return { path: prefix, message: `holds more than ${maxValues} values, more than a report numacage writes` };
      const v = (at.v as Record<string, unknown>)[k];
      if (typeof v === 'object' && v !== null)
        stack.push({ v, depth: at.depth + 1, key: list ? Number(k) : k, up: at });
    }
  }
  return undefined;
}

/** The verdict of a run's report, or of a matrix's runs[i]: checked, or a ConfigError naming the file and JSON path. */
function parseVerdict(raw: unknown, what: string, hint: string, path: PropertyKey[] = []): Verdict {
  const big = tooLarge(raw, MAX_RUN_VALUES, path);
  if (big) throw refused(what, [big], hint);
  const r = VerdictShape.safeParse(raw);
  if (!r.success)
    throw refused(
      what,
      r.error.issues.map((i) => ({
        path: [...path, ...i.path],
        // A record's key: what is wrong with it, not "Invalid key in record".
        message: (i.code === 'invalid_key' && i.issues[0]?.message) || i.message,
      })),
      hint,
    );
  return r.data as unknown as Verdict;
}

/**
 * A run directory a report names, inside the report's own directory: a
 * report from a CI artifact is not trusted to name /etc, ../.. or a path
 * through a symlink (merge copies what it names into its artifact).
 */
function confinedRunDir(here: string, runDir: string, where: string): string {
  const abs = resolve(here, runDir);
  const rel = relative(here, abs);
  if (isAbsolute(runDir) || !rel || rel === '..' || rel.startsWith(`..${sep}`))
    throw new ConfigError(
      `${where} is ${JSON.stringify(runDir)}: a run directory must lie inside the report's own directory`,
      'merge reports as numacage wrote them',
    );
  let inside = here;
  for (const part of rel.split(sep)) {
    inside = join(inside, part);
    let st;
    try {
      st = lstatSync(inside, { throwIfNoEntry: false });
    } catch (err) {
      // ENOTDIR: a part of it is a file (matrix.json/x).
      throw new ConfigError(
        `${where} cannot be a run directory: ${(err as Error).message}`,
        'merge reports as numacage wrote them',
      );
    }
    if (st?.isSymbolicLink())
      throw new ConfigError(
        `${where} goes through the symbolic link ${inside}`,
        'merge reports as numacage wrote them: no links',
      );
  }
  return abs;
}

/**
 * A run's report.json, a matrix.json, or a merged report.json, or a
 * directory holding one. `forMerge`: its run directories will be copied, so
 * each must lie inside the report's own directory (compare reads only the
 * verdicts the report holds, and takes baselines merged before merge copied
 * run directories, which name ../shards/...).
 */
export function loadReport(path: string, { forMerge = false } = {}): LoadedReport {
  const file = reportFile(path);
  if (!file)
    throw new ConfigError(
      `${path}: no report.json or matrix.json there`,
      'name a run, matrix or merged directory, or its report.json / matrix.json',
    );
  const data = readJsonFile(file, 'numacage report');
  const here = dirname(resolve(file));
  const hint = 'name the report.json of a run or a merge, or a matrix.json, as numacage wrote it';
  if (typeof data === 'object' && data !== null && 'runs' in data) {
    const what = `matrix report ${file}`;
    const d = data as { runs: unknown; cells?: unknown };
    const many = (['runs', 'cells'] as const).find((k) => Array.isArray(d[k]) && d[k].length > MAX_CELLS);
    if (many) throw refused(what, [{ path: [many], message: `has more than ${MAX_CELLS} cells` }], hint);
    // The runs' verdicts are measured each on its own (parseVerdict); the rest of the report here.
    const rest = { ...data, runs: Array.isArray(d.runs) ? d.runs.map((r) => ({ ...r, verdict: undefined })) : d.runs };
    const deep = tooLarge(rest, Infinity);
    if (deep) throw refused(what, [deep], hint);
    const m = parseOrThrow(MatrixShape, data, what, hint);
    const verdicts = m.runs.map((r, i) => parseVerdict(r.verdict, what, hint, ['runs', i, 'verdict']));
    const ids = new Set(verdicts.flatMap((v) => v.checks.map((c) => c.id)));
    if (ids.size > MAX_CHECK_IDS)
      throw refused(
        what,
        [{ path: ['runs'], message: `has more than ${MAX_CHECK_IDS} distinct checks across its cells` }],
        hint,
      );
    const runs = m.runs.map((r, i) => ({
      ...r,
      verdict: verdicts[i]!,
      cell: r.cell ?? cellOf(verdicts[i]!),
      ok: r.ok ?? verdictHolds(verdicts[i]!),
      runDir: forMerge ? confinedRunDir(here, r.runDir, `${file}: runs[${i}].runDir`) : resolve(here, r.runDir),
    }));
    // matrix.json from before cells were recorded lists only its runs.
    return { file, cells: m.cells ?? runs.map((r) => r.cell), ...(m.shard ? { shard: m.shard } : {}), runs };
  }
  const v = parseVerdict(data, `run report ${file}`, hint);
  const cell = cellOf(v);
  return { file, cells: [cell], runs: [{ cell, runDir: here, ok: verdictHolds(v), verdict: v }] };
}

/**
 * The reports under dir for a merge: dir's own, else those of its
 * subdirectories up to two levels down (a downloaded artifact holds a
 * matrix directory), a matrix's own run directories left out.
 */
export function findReports(dir: string, depth = 2): string[] {
  const own = reportFile(dir);
  if (own) return [own];
  // A matrix directory without its matrix.json: the shard stopped before the end (its cells' reports are not the shard's).
  if (/-matrix(-shard\d+of\d+)?$/.test(dir.replace(/\/+$/, '')))
    throw new ConfigError(
      `${dir} has no matrix.json: that run stopped before it finished`,
      'run the shard again (its exit code says why it stopped), then merge',
    );
  if (depth === 0 || !existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir)
    .sort()
    .map((name) => join(dir, name))
    .filter((p) => statSync(p).isDirectory())
    .flatMap((p) => findReports(p, depth - 1));
}

/** A report's verdicts by cell. */
export const cellVerdicts = (r: LoadedReport): Map<string, Verdict> => new Map(r.runs.map((x) => [x.cell, x.verdict]));
