import test from 'ava';
import { cmaUser } from '../../src/invariants/families/cma-user.js';
import { contextOf, seriesRecordings } from '../helpers/recorded.js';

// test/fixtures/cma-user: the step's output on patches/private-node/cma-user.topology.json (C = 0,
// P = 1 with its own 1 GiB CMA area) from v1, 0001-0041, 0001-0042 and 0001-0043 (README.md there).
const { recorded, outcome } = seriesRecordings(cmaUser, 'cma-user');

const pinMoved = "the long-term pin moved 64 of 64 pages from node 1's CMA area off node 1";
const claimMoved = (inClaim: number, off: number, pages: number) =>
  `claiming 8192 pages of node 1's area (${inClaim} of them the tenant's; 8192 handed out) moved ${off} of the tenant's ${pages} pages off node 1`;

test('v1 and 0001-0041: the pin moves the area pages to C, and so does claiming the area', (t) => {
  const v1 = outcome(recorded('series-v1'), 'private-user');
  t.is(v1.outcome, 'fail', v1.summary);
  t.deepEqual(v1.problems, [pinMoved, claimMoved(7671, 3760, 316160)]);
  const before = outcome(recorded('series-0001-0041'), 'private-user');
  t.deepEqual(before.problems, [pinMoved, claimMoved(7670, 5775, 317696)]);
});

test('0001-0042: the pin holds the pages in the area; the claim still moves them', (t) => {
  const r = outcome(recorded('series-0001-0042'), 'private-user');
  t.is(r.outcome, 'fail', r.summary);
  t.deepEqual(r.problems, [claimMoved(8192, 4222, 316416)]);
});

test('0001-0043: every page stays on P, whether the claim fails on a full P or finds room there', (t) => {
  const full = outcome(recorded('series-0001-0043'), 'private-user');
  t.is(full.outcome, 'pass', full.summary);
  t.regex(full.summary, /\(the write ended with status 1, 0 handed out\): every page still on node 1$/);
  const room = outcome(recorded('series-0001-0043-room'), 'private-user');
  t.is(room.outcome, 'pass', room.summary);
  t.regex(room.summary, /8192 handed out\): every page still on node 1$/);
});

test('a control claim that failed, a tenant with nothing in the claimed range or one that died is an error, never a pass', (t) => {
  const text = recorded('series-0001-0043');
  const noControl = text.replace(/### control\n# exit 0\nused 8192/, '### control\n# exit 1\nused 0');
  t.regex(outcome(noControl, 'private-user').summary, /with node 1 free, a claim of 8192 pages of its area got 0/);
  t.is(outcome(noControl, 'private-user').outcome, 'error');
  const elsewhere = text.replace(/"in_claim":8192/, '"in_claim":0');
  t.is(outcome(elsewhere, 'private-user').outcome, 'error');
  const died = text.replace(/### claim[\s\S]*$/, '### claim\n### after\n# exit 137\n');
  t.is(outcome(died, 'private-user').outcome, 'error');
});

test('no CMA in debugfs is a skip; the columns other than ,user judge nothing', (t) => {
  t.is(outcome('### none\n', 'private-user').outcome, 'skip');
  t.is(outcome(recorded('series-0001-0043'), 'private').outcome, 'skip');
  t.is(outcome(recorded('series-0001-0043'), 'vanilla').outcome, 'skip');
});

test('a topology whose cmdline gives P no CMA area cannot test it: a skip that says why', (t) => {
  const ctx = contextOf('patched-6.12-private-user');
  t.is(
    cmaUser.unsupported!(ctx.topology, ctx.roles),
    'topology private-virtio gives node 1 no CMA area of its own ("hugetlb_cma=1:1G" in its cmdline)',
  );
});
