import test from 'ava';
import { reclaimUser } from '../../src/invariants/families/reclaim.js';
import { contextOf, seriesRecordings } from '../helpers/recorded.js';

// test/fixtures/reclaim-user: the step's output on patches/private-node/reclaim-user.topology.json
// (C = 0, P = 1, a scratch disk on C) from the stock kernel, v1, 0001-0036 and 0001-0037 (README.md there).
const { recorded, outcome } = seriesRecordings(reclaimUser, 'reclaim-user');
const BEFORE = recorded('series-0001-0036');
const FIXED = recorded('series-0001-0037');

const left = (n: number, set: string, what: string, how: string, back: number) =>
  `${n} of the 4096 ${what} pages (${set}) left node 1 under another task's pressure (${how}); ${back} came back on node 0 or another node`;

test("0001-0036: another task's bind to P swaps out the owner's bound and moved pages and drops its page cache", (t) => {
  const r = outcome(BEFORE, 'private-user');
  t.is(r.outcome, 'fail', r.summary);
  t.deepEqual(r.problems, [
    left(4096, 'A', 'bound', '4096 swapped out', 0),
    left(4096, 'B', 'moved', '4096 swapped out', 834),
    left(3081, 'F', 'page cache', '3081 dropped', 3081),
  ]);
  t.regex(r.summary, /the task bound to node 1 got its 448 MiB$/);
});

test('v1 and the stock kernel: the same, and more of it comes back on C', (t) => {
  const v1 = outcome(recorded('series-v1'), 'private-user');
  t.is(v1.outcome, 'fail', v1.summary);
  t.is(v1.problems[1], left(4096, 'B', 'moved', '4096 swapped out', 4096));
  const stock = outcome(recorded('stock-6.12'), 'vanilla');
  t.is(stock.outcome, 'xfail', stock.summary);
  t.is(stock.problems.at(-1), left(4096, 'F', 'page cache', '4096 dropped', 4096));
});

test('0001-0037: the task bound to P is OOM-killed and every page of the owner stays on P', (t) => {
  const r = outcome(FIXED, 'private-user');
  t.is(r.outcome, 'pass', r.summary);
  t.is(
    r.summary,
    'the task bound to node 1 was OOM-killed after 288 MiB; every bound, moved and cached page of the owner stayed on node 1',
  );
});

test('the columns: a pass where P is ordinary is a surprise, nothing to judge on private', (t) => {
  t.is(outcome(FIXED, 'vanilla').outcome, 'xpass');
  t.is(outcome(FIXED, 'private').outcome, 'skip');
});

test('a topology without a scratch disk cannot test it: a skip that says why', (t) => {
  const ctx = contextOf('patched-6.12-private-user');
  t.is(
    reclaimUser.unsupported!(ctx.topology, ctx.roles),
    'topology private-virtio has no scratch disk (virtio-blk) to swap to',
  );
});

interface OwnerRecord {
  uid: number;
  sets: Record<string, { pages: number; placement: Record<string, number>; swapped: number }>;
}

/** The recording with its owner's CALL record changed by edit: what a broken setup would have printed. */
function editOwner(text: string, call: string, edit: (r: OwnerRecord) => void): string {
  return text
    .split('\n')
    .map((line) => {
      if (!line.startsWith(`{"probe":"reclaim-owner","call":"${call}"`)) return line;
      const r = JSON.parse(line) as OwnerRecord;
      edit(r);
      return JSON.stringify(r);
    })
    .join('\n');
}

const broken: [string, string, RegExp][] = [
  [
    "the owner's MADV_PAGEOUT swapped nothing (no swap)",
    editOwner(FIXED, 'placed', (r) => {
      r.sets.E = { ...r.sets.E!, placement: { 1: 1024 }, swapped: 0 };
    }),
    /MADV_PAGEOUT swapped 0 of 1024 pages/,
  ],
  [
    'a set not on P when placed',
    editOwner(FIXED, 'placed', (r) => {
      r.sets.A!.placement = { 0: 4096 };
    }),
    /bound set A was not all on node 1 when placed/,
  ],
  [
    'the mlocked control off P',
    editOwner(FIXED, 'before-touch', (r) => {
      r.sets.L!.placement = { 0: 256 };
    }),
    /mlocked set left node 1/,
  ],
  [
    'a page still absent after the owner read it',
    editOwner(BEFORE, 'after-touch', (r) => {
      r.sets.A!.placement = { 1: 4095, ENOENT: 1 };
    }),
    /1 page\(s\) of set A were still absent/,
  ],
  [
    'a page whose node could not be read',
    editOwner(BEFORE, 'before-touch', (r) => {
      r.sets.A!.placement = { ENOENT: 4095, EFAULT: 1 };
    }),
    /could not be read \(EFAULT\)/,
  ],
  [
    'the owner ended before its last record',
    FIXED.replace(/^\{"probe":"reclaim-owner","call":"after-touch".*\n/m, ''),
    /"reclaim-owner after-touch"/,
  ],
  [
    'the owner run as root',
    editOwner(FIXED, 'placed', (r) => {
      r.uid = 0;
    }),
    /the owner ran as root/,
  ],
  ['a fill that exited on its own', FIXED.replace('# exit 137', '# exit 1'), /the fill exited 1 on its own/],
];
for (const [what, text, message] of broken)
  test(`${what}: an error, never a verdict`, (t) => {
    t.true(text !== FIXED && text !== BEFORE, 'the edit took');
    const r = outcome(text, 'private-user');
    t.is(r.outcome, 'error', r.summary);
    t.regex(r.summary, message);
  });
