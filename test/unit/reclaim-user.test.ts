import test from 'ava';
import { reclaimUser } from '../../src/invariants/families/reclaim.js';
import { contextOf, seriesRecordings } from '../helpers/recorded.js';

// test/fixtures/reclaim-user: the step's output on patches/private-node/reclaim-user.topology.json
// (C = 0, P = 1, a scratch disk on C) from 0001-0036 and 0001-0037, recorded by hand (README.md there).
const { recorded, outcome } = seriesRecordings(reclaimUser, 'reclaim-user');
const BEFORE = recorded('series-0001-0036');
const FIXED = recorded('series-0001-0037');

test("0001-0036: another task's bind to P swaps out the owner's bound and moved pages and drops its page cache", (t) => {
  const r = outcome(BEFORE, 'private-user');
  t.is(r.outcome, 'fail', r.summary);
  t.deepEqual(r.problems, [
    "4096 of the 4096 bound pages (A) left node 1 under another task's pressure (4096 swapped out); 0 came back on node 0 or another node",
    "4096 of the 4096 moved pages (B) left node 1 under another task's pressure (4096 swapped out); 2068 came back on node 0 or another node",
    "1431 of the 4096 page cache pages (F) left node 1 under another task's pressure (1431 dropped); 1431 came back on node 0 or another node",
  ]);
  t.regex(r.summary, /the task bound to node 1 got its 448 MiB$/);
});

test('0001-0037: the task bound to P is OOM-killed and every page of the owner stays on P', (t) => {
  const r = outcome(FIXED, 'private-user');
  t.is(r.outcome, 'pass', r.summary);
  t.is(
    r.summary,
    'the task bound to node 1 was OOM-killed after 288 MiB; every bound, moved and cached page of the owner stayed on node 1',
  );
});

test('the columns: a fail is expected where P is ordinary, nothing to judge on private', (t) => {
  t.is(outcome(BEFORE, 'vanilla').outcome, 'xfail');
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

// Each constructed from the recordings by one edit, the physically possible output of a broken setup.
const broken: [string, string, RegExp][] = [
  [
    "the owner's MADV_PAGEOUT swapped nothing (no swap)",
    FIXED.replace(
      '"E":{"pages":1024,"placement":{"ENOENT":1024},"swapped":1024',
      '"E":{"pages":1024,"placement":{"1":1024},"swapped":0',
    ),
    /MADV_PAGEOUT swapped 0 of 1024 pages/,
  ],
  [
    'a set not on P when placed',
    FIXED.replace(
      '"placed","uid":1000,"pid":79,"sets":{"A":{"pages":4096,"placement":{"1":4096}',
      '"placed","uid":1000,"pid":79,"sets":{"A":{"pages":4096,"placement":{"0":4096}',
    ),
    /bound set A was not all on node 1 when placed/,
  ],
  [
    'a page still absent after the owner read it',
    BEFORE.replace(
      '"after-touch","uid":1000,"pid":131,"sets":{"A":{"pages":4096,"placement":{"1":4096}',
      '"after-touch","uid":1000,"pid":131,"sets":{"A":{"pages":4096,"placement":{"1":4095,"ENOENT":1}',
    ),
    /1 page\(s\) of set A were still absent/,
  ],
  [
    'a page whose node could not be read',
    BEFORE.replace(
      '"before-touch","uid":1000,"pid":131,"sets":{"A":{"pages":4096,"placement":{"ENOENT":4096}',
      '"before-touch","uid":1000,"pid":131,"sets":{"A":{"pages":4096,"placement":{"ENOENT":4095,"EFAULT":1}',
    ),
    /could not be read \(EFAULT\)/,
  ],
  [
    'the owner ended before its last record',
    FIXED.replace(/^\{"probe":"reclaim-owner","call":"after-touch".*\n/m, ''),
    /"reclaim-owner after-touch"/,
  ],
  ['the owner run as root', FIXED.replace(/"uid":1000,"pid":79/g, '"uid":0,"pid":79'), /the owner ran as root/],
  ['a fill that exited on its own', FIXED.replace('# exit 137', '# exit 1'), /the fill exited 1 on its own/],
];
for (const [what, text, message] of broken)
  test(`${what}: an error, never a verdict`, (t) => {
    t.true(text !== FIXED && text !== BEFORE, 'the edit took');
    const r = outcome(text, 'private-user');
    t.is(r.outcome, 'error', r.summary);
    t.regex(r.summary, message);
  });
