import { Parser, type Result } from 'tap-parser';
import type { SubtestResult } from '../model/verdict.js';

export interface TapSummary {
  subtests: SubtestResult[];
  /** The plan's count, when the output had one (1..N). */
  planned?: number;
  /** Lines like kselftest's "# SKIP ..." and "# Totals: ...", for the report. */
  comments: string[];
}

/** KTAP directives that TAP 14 does not know stay in the test point's name ("name # XFAIL why"). */
const KTAP_DIRECTIVE = /\s+#\s*(XFAIL|TIMEOUT|ERROR)\b\s*(.*)$/i;
const TAP_START = /^\s*(?:K?TAP version \d+|1\.\.\d+|(?:not )?ok\b)/m;

function subtestOf(point: Result): SubtestResult {
  const ktap = KTAP_DIRECTIVE.exec(point.name);
  const name = (ktap ? point.name.slice(0, ktap.index) : point.name).trim() || `test ${point.id}`;
  const reason = (
    ktap?.[2] ?? (typeof point.skip === 'string' ? point.skip : typeof point.todo === 'string' ? point.todo : '')
  ).trim();
  const outcome: SubtestResult['outcome'] = ktap
    ? ktap[1]!.toUpperCase() === 'XFAIL'
      ? 'xfail'
      : 'error'
    : point.skip
      ? 'skip'
      : point.todo
        ? point.ok
          ? 'xpass'
          : 'xfail'
        : point.ok
          ? 'pass'
          : 'fail';
  return { id: point.id, name, outcome, ...(reason ? { reason } : {}) };
}

/**
 * The test points of a step's output when it speaks TAP or KTAP (kselftests
 * print TAP 13), or undefined when it does not. Nested KTAP subtests are
 * flattened under their parent's name. Pure.
 */
export function parseTap(output: string): TapSummary | undefined {
  if (!TAP_START.test(output)) return undefined;
  const subtests: SubtestResult[] = [];
  const comments: string[] = [];
  let planned: number | undefined;
  const walk = (events: unknown[], prefix: string, top: boolean) => {
    let pendingChild: unknown[] | undefined;
    for (const [kind, data] of events as [string, unknown][]) {
      if (kind === 'plan' && top) {
        const plan = data as { end: number; comment?: string };
        planned = plan.end;
        // "1..0 # SKIP why": the whole program skipped.
        if (plan.comment) comments.push(plan.comment.trim());
      } else if (kind === 'comment' && top) comments.push(String(data).trim());
      else if (kind === 'child') pendingChild = data as unknown[];
      else if (kind === 'assert') {
        const point = subtestOf(data as Result);
        if (pendingChild) walk(pendingChild, `${prefix}${point.name}: `, false);
        pendingChild = undefined;
        subtests.push({ ...point, name: `${prefix}${point.name}` });
      }
    }
  };
  walk(Parser.parse(output), '', true);
  if (!subtests.length && planned === undefined) return undefined;
  return {
    subtests,
    comments: comments.filter((c) => c && !/^# Subtest/.test(c)),
    ...(planned !== undefined ? { planned } : {}),
  };
}
