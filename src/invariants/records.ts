import { ProbeError } from './errors.js';

/** One JSON line printed by guest/probe/probe.c. */
export type ProbeRecord = Record<string, unknown> & { probe: string; call: string };

/** Node id (as a string) or errno name → page count, as the probe prints it. */
type RawPlacement = Record<string, number>;

/** The probe's JSON lines; anything else is ignored (a line cut short by an OOM kill, shell output). Pure. */
export function parseRecords(text: string): ProbeRecord[] {
  const out: ProbeRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const r = JSON.parse(line) as ProbeRecord;
      if (typeof r.probe === 'string' && typeof r.call === 'string') out.push(r);
    } catch {
      // Not a whole record.
    }
  }
  return out;
}

/** `### name` headed sections of a step's output → name → text. Pure. */
export function parseSections(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let name: string | undefined;
  for (const line of text.split('\n')) {
    const head = /^### (\S+)$/.exec(line);
    if (head) out[(name = head[1]!)] = '';
    else if (name !== undefined) out[name] += `${line}\n`;
  }
  return out;
}

/** A section of a step's output; a ProbeError when it is missing, or when the step could not set up (lib.sh's setup_failed). */
export function section(sections: Record<string, string>, name: string, step: string): string {
  const setupFailed = sections['setup-failed'];
  if (setupFailed !== undefined) throw new ProbeError(`step ${step} could not set up: ${setupFailed.trim()}`);
  const text = sections[name];
  if (text === undefined) throw new ProbeError(`step ${step} printed no "${name}" section`);
  return text;
}

/** The records of one probe call; a ProbeError when there are fewer than `atLeast`. A "fatal" record means the probe gave up. */
export function recordsOf(records: ProbeRecord[], probe: string, call: string, atLeast = 1): ProbeRecord[] {
  const fatal = records.find((r) => r.fatal === true);
  if (fatal) throw new ProbeError(`the probe failed: ${fatal.call} gave ${String(fatal.errno)}`);
  const found = records.filter((r) => r.probe === probe && r.call === call);
  if (found.length < atLeast)
    throw new ProbeError(`the probe printed ${found.length} "${probe} ${call}" record(s), expected ${atLeast}`);
  return found;
}

export function num(r: Record<string, unknown>, key: string): number {
  const v = r[key];
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new ProbeError(`probe record ${String(r.probe ?? '')} has no number "${key}" (${JSON.stringify(v)})`);
  return v;
}

/** errno name or null (success). */
export function errnoOf(r: Record<string, unknown>, key = 'errno'): string | null {
  const v = r[key];
  if (v === null) return null;
  // An errno's name reaches summaries: a guest that prints anything else is a broken probe.
  if (typeof v !== 'string' || !/^E[A-Z0-9]{1,15}$/.test(v))
    throw new ProbeError(`probe record ${String(r.probe ?? '')} has no errno "${key}"`);
  return v;
}

/** Where every page of a range is; a placement that does not add up, or has an unreadable page, is a ProbeError. */
export class Placement {
  private constructor(
    readonly byNode: Map<number, number>,
    readonly total: number,
  ) {}

  static of(raw: unknown, pages: number, what: string): Placement {
    if (!raw || typeof raw !== 'object') throw new ProbeError(`${what}: no placement`);
    const byNode = new Map<number, number>();
    const unreadable: string[] = [];
    let sum = 0;
    for (const [key, count] of Object.entries(raw as RawPlacement)) {
      if (typeof count !== 'number' || count < 0)
        throw new ProbeError(`${what}: placement ${key} is ${JSON.stringify(count)}`);
      sum += count;
      if (/^\d+$/.test(key)) byNode.set(Number(key), count);
      else if (count > 0) unreadable.push(`${count} ${key}`);
    }
    if (unreadable.length)
      throw new ProbeError(`${what}: the node of ${unreadable.join(', ')} page(s) could not be read`);
    if (pages <= 0 || sum !== pages) throw new ProbeError(`${what}: placement counts ${sum} pages of ${pages}`);
    return new Placement(byNode, sum);
  }

  on(node: number): number {
    return this.byNode.get(node) ?? 0;
  }

  offNode(node: number): number {
    return this.total - this.on(node);
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.byNode].map(([n, c]) => [String(n), c]));
  }
}

/** The placement of a record (`placement`) and, where printed, before the call (`before.placement`). */
export function placements(r: ProbeRecord, what: string): { before?: Placement; after: Placement; pages: number } {
  const pages = num(r, 'pages');
  const before = (r.before as { placement?: unknown } | undefined)?.placement;
  return {
    after: Placement.of(r.placement, pages, what),
    pages,
    ...(before !== undefined ? { before: Placement.of(before, pages, `${what} (before)`) } : {}),
  };
}

/** Probe calls whose errno is judged must run without root's CAP_SYS_NICE. */
export function assertUnprivileged(r: ProbeRecord, what: string): void {
  if (num(r, 'uid') === 0) throw new ProbeError(`${what} ran as root, which bypasses the permission checks under test`);
}

/** "key value" lines → key → number. */
export function keyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(\w+) (-?\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}
