import { chart } from '../../model/verdict.js';
import {
  assertUnprivileged,
  errnoOf,
  num,
  parseRecords,
  Placement,
  placements,
  recordsOf,
  type ProbeRecord,
} from '../records.js';
import { assertRanClean } from '../shell.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';
import { ProbeError } from '../errors.js';
import { optedIn } from './policy.js';

const ENODEV = -19;

interface MoveObs {
  ret: number;
  errno: string | null;
  status: number[];
  pages: number;
  onP: number;
  before: Record<string, number>;
  after: Record<string, number>;
}

/** The one record of a migration call, run as the unprivileged user, whose pages all started on C. */
function migrationRecord(
  raw: Record<string, string>,
  step: string,
  probeName: string,
  call: string,
  c: number,
): { r: ProbeRecord; before: Placement; after: Placement; pages: number } {
  const text = rawOf(raw, step);
  assertRanClean(text, step);
  const [r] = recordsOf(parseRecords(text), probeName, call);
  assertUnprivileged(r!, call);
  const { before, after, pages } = placements(r!, call);
  if (!before || before.on(c) !== pages)
    throw new ProbeError(`${call}: the pages did not start on node ${c} (${JSON.stringify(before?.toJSON())})`);
  return { r: r!, before, after, pages };
}

/**
 * move_pages(2) of 16 pages from C to P, as the unprivileged user. Without
 * the opt-in nothing may move, and the refusal must be ENODEV, for the call
 * or for every page; with it, every page must land on P.
 */
export const moveOptin: InvariantSpec<MoveObs> = {
  id: 'move-optin',
  title: 'migration onto P needs the opt-in',
  expect: expect('fail', 'fail', 'pass', 'pass'),
  disturbs: false,
  witnessed: true,
  steps: ({ roles: { p } }) => [{ name: 'move-optin', script: 'move-optin.sh', env: { P: p } }],
  parse(raw, { roles: { c, p } }) {
    const { r, before, after, pages } = migrationRecord(raw, 'move-optin', 'move-pages', 'move_pages', c);
    const status = r.status;
    if (!Array.isArray(status) || status.length !== pages || !status.every((x) => Number.isInteger(x)))
      throw new ProbeError(`move_pages: status is not ${pages} integers (${JSON.stringify(status)})`);
    return {
      ret: num(r, 'ret'),
      errno: errnoOf(r),
      status: status as number[],
      pages,
      onP: after.on(p),
      before: before.toJSON(),
      after: after.toJSON(),
    };
  },
  decide(o, { roles: { p }, profile }) {
    const problems: string[] = [];
    if (optedIn(profile)) {
      if (o.onP !== o.pages || !o.status.every((s) => s === p))
        problems.push(
          `opted in, yet ${o.onP} of ${o.pages} pages moved to node ${p} (ret ${o.ret}, status ${[...new Set(o.status)].join(',')})`,
        );
    } else {
      if (o.onP > 0)
        problems.push(`move_pages as a user moved ${o.onP} of ${o.pages} pages to node ${p} without opt-in`);
      else if (!(o.ret === -1 && o.errno === 'ENODEV') && !o.status.every((s) => s === ENODEV))
        problems.push(
          `move_pages to node ${p} was refused with ${o.errno ?? `ret ${o.ret}`} and status ${[...new Set(o.status)].join(',')}, expected ENODEV`,
        );
    }
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? optedIn(profile)
          ? `every page moved to node ${p} with the opt-in`
          : `refused with ENODEV, nothing moved`
        : problems[0]!,
      problems,
      evidence: { ...o },
      placements: [chart(`move_pages of ${o.pages} pages to node ${p}`, { before: o.before, after: o.after })],
    };
  },
};

type MigrateObs = Omit<MoveObs, 'status'>;

/** migrate_pages(0, {C}, {P}) with 16 faulted pages, as the unprivileged user: nothing may land on P without the opt-in, everything with it. */
export const migrateOptin: InvariantSpec<MigrateObs> = {
  id: 'migrate-optin',
  title: 'migrate_pages(2) onto P needs the opt-in',
  expect: expect('fail', 'fail', 'pass', 'pass'),
  disturbs: false,
  witnessed: true,
  steps: ({ roles: { c, p } }) => [{ name: 'migrate-optin', script: 'migrate-optin.sh', env: { C: c, P: p } }],
  parse(raw, { roles: { c, p } }) {
    const { r, before, after, pages } = migrationRecord(raw, 'migrate-optin', 'migrate-pages', 'migrate_pages', c);
    return {
      ret: num(r, 'ret'),
      errno: errnoOf(r),
      pages,
      onP: after.on(p),
      before: before.toJSON(),
      after: after.toJSON(),
    };
  },
  decide(o, { roles: { c, p }, profile }) {
    const problems: string[] = [];
    if (optedIn(profile) && o.onP !== o.pages)
      problems.push(
        `opted in, yet migrate_pages({${c}},{${p}}) moved ${o.onP} of ${o.pages} pages (ret ${o.ret}${o.errno ? ` ${o.errno}` : ''})`,
      );
    if (!optedIn(profile) && o.onP > 0)
      problems.push(`migrate_pages({${c}},{${p}}) as a user moved ${o.onP} of ${o.pages} pages onto node ${p}`);
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? optedIn(profile)
          ? `all ${o.pages} pages moved with the opt-in`
          : `nothing landed on node ${p} (ret ${o.ret}${o.errno ? ` ${o.errno}` : ''})`
        : problems[0]!,
      problems,
      evidence: { ...o },
      placements: [chart(`migrate_pages({${c}},{${p}}) of ${o.pages} pages`, { before: o.before, after: o.after })],
    };
  },
};
