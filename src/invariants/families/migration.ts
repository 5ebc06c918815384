import { chart } from '../../model/verdict.js';
import {
  assertUnprivileged,
  errnoOf,
  num,
  parseRecords,
  parseSections,
  Placement,
  placements,
  recordsOf,
  section,
  type ProbeRecord,
} from '../records.js';
import { assertRanClean } from '../shell.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';
import { KernelLacks, ProbeError } from '../errors.js';
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

interface PinObs {
  ret: number;
  errno: string | null;
  pages: number;
  onP: number;
  before: Record<string, number>;
  after: Record<string, number>;
}

/**
 * 64 pages bound to P, registered as an io_uring fixed buffer by the
 * unprivileged user: a long-term pin (FOLL_LONGTERM) first migrates every
 * page it finds unpinnable, any page in ZONE_MOVABLE among them, and a
 * private node is all ZONE_MOVABLE. The pin must hold and every page stay on
 * P. n/a where no user page can reach P.
 */
export const longtermPin: InvariantSpec<PinObs> = {
  id: 'longterm-pin',
  title: 'a long-term pin never moves memory off P',
  expect: expect('pass', 'fail', 'n/a', 'pass'),
  disturbs: false,
  witnessed: true,
  steps: ({ roles: { p } }) => [{ name: 'longterm-pin', script: 'longterm-pin.sh', env: { P: p } }],
  parse(raw, { roles: { p } }) {
    const text = section(parseSections(rawOf(raw, 'longterm-pin')), 'pin', 'longterm-pin');
    assertRanClean(text, 'longterm-pin');
    const [r] = recordsOf(parseRecords(text), 'longterm-pin', 'io_uring_register');
    assertUnprivileged(r!, 'io_uring_register');
    const setup = errnoOf(r!, 'setup_errno');
    if (setup === 'ENOSYS') throw new KernelLacks('the kernel has no io_uring (CONFIG_IO_URING)');
    if (setup)
      throw new ProbeError(`io_uring_setup as the user gave ${setup} (is kernel.io_uring_disabled set in the guest?)`);
    const { before, after, pages } = placements(r!, 'io_uring_register');
    const bindErrno = errnoOf(r!, 'bind_errno');
    if (bindErrno || !before || before.on(p) !== pages)
      throw new ProbeError(
        `the buffer could not be put on node ${p} before the pin (mbind ${bindErrno ?? 'ok'}, placement ${JSON.stringify(before?.toJSON())})`,
      );
    return {
      ret: num(r!, 'ret'),
      errno: errnoOf(r!),
      pages,
      onP: after.on(p),
      before: before.toJSON(),
      after: after.toJSON(),
    };
  },
  decide(o, { roles: { p } }) {
    const problems: string[] = [];
    if (o.ret !== 0)
      problems.push(`the pin of ${o.pages} pages on node ${p} was refused with ${o.errno ?? `ret ${o.ret}`}`);
    if (o.onP < o.pages) {
      const elsewhere = Object.entries(o.after)
        .filter(([n]) => n !== String(p))
        .map(([n, c]) => `${c} on node ${n}`)
        .join(', ');
      problems.push(`the pin moved ${o.pages - o.onP} of ${o.pages} pages off node ${p} (${elsewhere})`);
    }
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed ? `all ${o.pages} pages pinned where they were, on node ${p}` : problems.join('; '),
      problems,
      evidence: { ...o },
      placements: [
        chart(`${o.pages} pages bound to ${p}, then an io_uring fixed buffer`, { before: o.before, after: o.after }),
      ],
    };
  },
};
