import test from 'ava';
import { freeHugeBlocks, hugetlbSurplus } from '../../src/invariants/families/hugetlb-user.js';
import { contextOf, seriesRecordings } from '../helpers/recorded.js';

// test/fixtures/hugetlb-surplus: the step's output on patches/private-node/migrate*.topology.json
// (C = 0, P = 1, C2 = 2) from series v1, 0001-0027 and v2 (0001-0028); README.md there.
const { recorded, context, outcome } = seriesRecordings(hugetlbSurplus, 'migrate');

const FROM_P = 'unbound in a cpuset {1,2}: the reservation took 2 surplus huge page(s) from node 1';
const SIGBUS =
  'unbound in a cpuset {1,2}: mmap accepted, then SIGBUS at huge page 1 of 2: the reservation took surplus pages its faults cannot reach';
const REFUSED =
  'unbound in a cpuset {1,2}: mmap refused with ENOMEM, with nr_overcommit_hugepages 2 and node 2 free to give the surplus pages';
const PASS = 'unbound in a cpuset {1,2}: 2 surplus huge pages reserved on node 2 and 2 faulted there, none from node 1';

test('v1 takes the surplus pages from P and the first fault gets SIGBUS, with and without ,user', (t) => {
  t.like(outcome(recorded('series-v1-private')), { outcome: 'fail', problems: [FROM_P, SIGBUS] });
  t.like(outcome(recorded('series-v1-private-user'), 'private-user'), { outcome: 'fail', problems: [FROM_P, SIGBUS] });
});

test('0001-0027: the reservation is refused, though C2 could give its surplus pages', (t) => {
  t.like(outcome(recorded('series-at-27-private')), { outcome: 'fail', problems: [REFUSED] });
  t.like(outcome(recorded('series-at-27-private-user'), 'private-user'), { outcome: 'fail', problems: [REFUSED] });
});

test('v2 (0028) takes them from C2', (t) => {
  for (const [name, profile] of [
    ['patched-private', 'private'],
    ['patched-private-user', 'private-user'],
  ] as const) {
    const r = outcome(recorded(name), profile);
    t.is(r.outcome, 'pass', `${name}: ${r.summary}`);
    t.is(r.summary, PASS);
  }
});

test('v1 judged as a stock kernel would be: not defined, P being an ordinary node there', (t) => {
  t.is(outcome(recorded('series-v1-private'), 'vanilla').outcome, 'skip');
  t.is(outcome(recorded('series-v1-private'), 'vanilla-movable').outcome, 'skip');
});

test('a pool left over, or a task that ended without its record, is the probe failing, never a pass', (t) => {
  // Constructed from patched-private.txt: what the step prints when a pool could not be emptied,
  // and when the task exited 0 having printed nothing (the record lines dropped).
  const text = recorded('patched-private');
  t.is(outcome(text.replace(/^total 0$/m, 'total 2')).outcome, 'error');
  t.is(outcome(text.replace(/^\{.*\}\n/gm, '')).outcome, 'error');
  // A task killed (as await_bounded reports it) is a fail.
  const killed = outcome(text.replace(/^\{.*\}\n/gm, '').replace('# exit 0', '# hung 30'));
  t.is(killed.outcome, 'fail');
  t.regex(killed.summary, /did not finish in 30 s/);
  // P's surplus pages held while the faults took fresh ones from C2: what v1 prints with room in the
  // overcommit for both (constructed: P's count of the v1 recording put beside v2's records).
  const held = outcome(text.replaceAll('"surplus":{"0":0,"1":0,"2":2}', '"surplus":{"0":0,"1":2,"2":2}'));
  t.is(held.outcome, 'fail');
  t.deepEqual(held.problems, ['unbound in a cpuset {1,2}: the reservation took 2 surplus huge page(s) from node 1']);
  // P's pool not empty after the task ended.
  const kept = outcome(text.replace(/^node1 0 0 0$/m, 'node1 2 2 2'));
  t.is(kept.outcome, 'fail');
  t.deepEqual(kept.problems, ['node 1 kept 2 huge page(s) after the task ended']);
});

test('hugetlb-surplus needs an ordinary node C2 numbered after P', (t) => {
  const plain = contextOf('patched-6.12-private');
  t.regex(hugetlbSurplus.unsupported!(plain.topology, plain.roles)!, /no ordinary node besides C/);
  const ctx = context('private');
  t.is(hugetlbSurplus.unsupported!(ctx.topology, ctx.roles), undefined);
  t.regex(hugetlbSurplus.unsupported!(ctx.topology, { ...ctx.roles, p: 2, c2: 1 })!, /P is never asked/);
});

test('free 2 MiB blocks from /proc/buddyinfo as the step prints it (each line ends in a space): order 9 once, order 10 twice', (t) => {
  // From patched-private.txt: P's Movable zone 1 + 2*251, C2's Normal zone 1 + 2*123.
  t.deepEqual(freeHugeBlocks(recorded('patched-private')), { '1': 503, '2': 247 });
  t.deepEqual(
    freeHugeBlocks(
      'Node 0, zone      DMA      1      1      1      0      2      1      1      0      1      1      3\nNode 0, zone    DMA32  3 0 0 0 0 0 0 0 0 2 1',
    ),
    { '0': 11 },
  );
});

test('a recording cut short is an error, never a pass or a fail', (t) => {
  // Constructed: each recording cut to its first third, as a step that died mid-way would print it.
  for (const name of ['series-v1-private', 'series-at-27-private', 'patched-private']) {
    const text = recorded(name);
    t.is(outcome(text.slice(0, Math.floor(text.length / 3))).outcome, 'error', name);
  }
});
