import test from 'ava';
import {
  freeHugeBlocks,
  hugetlbSurplus,
  hugetlbSurplusReserved,
  hugetlbSurplusSpared,
} from '../../src/invariants/families/hugetlb-surplus.js';
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

// test/fixtures/hugetlb-surplus-reserved: C2's pool reserved by a hugetlbfs mount first; README.md there.
const reserved = seriesRecordings(hugetlbSurplusReserved, 'migrate');

test("reserved: v1 takes the surplus pages from P while the mount's reservation holds C2's pool, and P keeps them after the task", (t) => {
  for (const [name, profile] of [
    ['series-v1-private', 'private'],
    ['series-v1-private-user', 'private-user'],
  ] as const)
    t.like(reserved.outcome(reserved.recorded(name), profile), {
      outcome: 'fail',
      problems: [FROM_P, 'node 1 kept 2 huge page(s) after the task ended'],
    });
});

test('reserved: v2 takes them from C2', (t) => {
  for (const [name, profile] of [
    ['patched-private', 'private'],
    ['patched-private-user', 'private-user'],
  ] as const) {
    const r = reserved.outcome(reserved.recorded(name), profile);
    t.is(r.outcome, 'pass', `${name}: ${r.summary}`);
    t.regex(r.summary, /node 2's 2 pool pages reserved by a hugetlbfs mount: 2 surplus huge pages reserved on node 2/);
  }
});

test("reserved: a pool or a reservation that is not the case's is the probe failing; the step's own setup failure is an error", (t) => {
  // Constructed from patched-private.txt: C2's pool not grown, the mount reserving nothing, the
  // `reserved` line missing, and the mount refused (lib.sh's setup_failed section).
  const text = reserved.recorded('patched-private');
  t.is(reserved.outcome(text.replace(/^total 2$/m, 'total 0')).outcome, 'error');
  t.is(reserved.outcome(text.replace(/^reserved 2$/m, 'reserved 0')).outcome, 'error');
  t.is(reserved.outcome(text.replace(/^reserved 2\n/m, '')).outcome, 'error');
  const failed = reserved.outcome(
    '### setup-failed\nmount -t hugetlbfs -o min_size=4M: mount: /tmp/numacage-hugetlb-reserve: unknown filesystem type\n',
  );
  t.is(failed.outcome, 'error');
  t.regex(failed.summary, /unknown filesystem type/);
});

// test/fixtures/hugetlb-surplus-spared: P's own pool free under ,user, with an overcommit; README.md there.
const spared = seriesRecordings(hugetlbSurplusSpared, 'private-user');

const HOLLOW_SECOND =
  "second: mmap granted beside a held reservation with 2 surplus huge page(s) behind both, not 4: the held one made node 1's free pool look free to it";

test('spared: v1 grants the reservation with nothing behind it; 0001-0032 refuses it; v2 (0033) gathers the surplus pages on C', (t) => {
  t.like(spared.outcome(spared.recorded('series-v1-private-user'), 'private-user'), {
    outcome: 'fail',
    problems: [
      "unbound: mmap granted with 0 surplus huge page(s) behind it on the nodes its faults reach, not 2: it stood on node 1's free pool, which they cannot take",
      HOLLOW_SECOND,
    ],
  });
  t.like(spared.outcome(spared.recorded('series-at-32-private-user'), 'private-user'), {
    outcome: 'fail',
    problems: [
      "unbound: mmap refused with ENOMEM, with nr_overcommit_hugepages 2 and node 0 free to give the surplus pages: node 1's free pool spared them, then the check left it out",
    ],
  });
  const v2 = spared.outcome(spared.recorded('patched-private-user'), 'private-user');
  t.is(v2.outcome, 'pass', v2.summary);
  t.is(
    v2.summary,
    "unbound, node 1's 2 pool pages free: 2 surplus huge pages gathered where its faults reach, all 2 huge pages faulted, none on node 1; beside a held reservation, 4 behind both",
  );
});

test("spared: 0033's first version backs the first reservation and lets a second stand on the first one's pages", (t) => {
  t.like(spared.outcome(spared.recorded('first-0033-private-user'), 'private-user'), {
    outcome: 'fail',
    problems: [HOLLOW_SECOND],
  });
});

test('spared: n/a but under ,user; a case that did not set up, or pages that went to P, fail or error', (t) => {
  const text = spared.recorded('patched-private-user');
  for (const profile of ['vanilla', 'vanilla-movable', 'private'] as const)
    t.is(spared.outcome(text, profile).outcome, 'skip', profile);
  // Constructed from patched-private-user.txt: P's pool refused (what a kernel without ,user
  // answers), another pool left over, the overcommit not set.
  t.is(
    spared.outcome(text.replace('write ok\nonp 2', 'write refused: Invalid argument\nonp 0'), 'private-user').outcome,
    'error',
  );
  t.is(spared.outcome(text.replace(/^total 2$/m, 'total 4'), 'private-user').outcome, 'error');
  t.is(spared.outcome(text.replace(/^overcommit 2$/m, 'overcommit 0'), 'private-user').outcome, 'error');
  // The surplus pages gathered and faulted on P (constructed: the node ids swapped in the records),
  // and P's pool used up by the task.
  const onP = spared.outcome(
    text.replaceAll('{"0":2,"1":0}', '{"0":0,"1":2}').replace('{"0":2}', '{"1":2}'),
    'private-user',
  );
  t.is(onP.outcome, 'fail');
  t.deepEqual(onP.problems, [
    "unbound: mmap granted with 0 surplus huge page(s) behind it on the nodes its faults reach, not 2: it stood on node 1's free pool, which they cannot take",
    'unbound: 2 huge page(s) on node 1 without a bind that names it',
  ]);
  const used = spared.outcome(text.replace(/^node1 2 2 0$/m, 'node1 2 0 0'), 'private-user');
  t.deepEqual(used.problems, ["node 1's pool after the task: 2/0/0 (nr/free/surplus), not the 2 free pages it had"]);
  // The second case: the holder's record missing is an error; the second mapping refused beside it fails.
  t.is(spared.outcome(text.replace(/^\{"probe":"hugetlb-hold".*\n/m, ''), 'private-user').outcome, 'error');
  const refused = spared.outcome(
    text.replace(
      /^(\{"probe":"hugetlb-map","call":"mmap".*)"ret":0,"errno":null,"surplus":\{"0":4,"1":0\}\}\n\{.*\n(# exit 0\n)$/m,
      '$1"ret":-1,"errno":"ENOMEM","surplus":{"0":2,"1":0}}\n$2',
    ),
    'private-user',
  );
  t.deepEqual(refused.problems, [
    'second: mmap refused with ENOMEM beside a held reservation, with nr_overcommit_hugepages 4 and node 0 free to give the surplus pages',
  ]);
  // Cut short: an error.
  t.is(spared.outcome(text.slice(0, Math.floor(text.length / 2)), 'private-user').outcome, 'error');
});
