import { readFileSync } from 'node:fs';
import test from 'ava';
import { projectPath } from '../../src/adapters/project.js';
import { evaluateInvariant } from '../../src/invariants/evaluate.js';
import { swapReadaheadReverse } from '../../src/invariants/families/swap-readahead-reverse.js';
import type { ProbeContext } from '../../src/invariants/spec.js';
import { contextOf, seriesTopologyContext } from '../helpers/recorded.js';

// test/fixtures/swap-readahead-reverse: the step's output on patches/private-node/reclaim-user.topology.json
// (C = 0, P = 1, swap on a scratch virtio-blk disk) from stock, v1, 0001-0045 and 0001-0048 (README.md there).
const recording = (name: string) =>
  readFileSync(projectPath('test', 'fixtures', 'swap-readahead-reverse', `${name}.txt`), 'utf8');

function judge(name: string, profile: ProbeContext['profile'] = 'private-user', edit = (text: string) => text) {
  const ctx = seriesTopologyContext('reclaim-user', 'patched-6.12-private-user', profile);
  return evaluateInvariant(swapReadaheadReverse, { 'swap-readahead-reverse': edit(recording(name)) }, ctx);
}

const MAPPED_ON_C = [
  "arm 2 (anonymous pages, bound before they were faulted): 31 of B's 31 read-ahead pages are mapped off node 1 (31 on node 0): a swap-cache hit ignored B's bind",
  "arm 3 (a memfd, bound after its page-out): 31 of B's 31 read-ahead pages are mapped off node 1 (31 on node 0): a swap-cache hit ignored B's bind",
];

test('v1 and 0001-0045: pages bound to P that an unbound task read ahead come back on C, anonymous and shmem', (t) => {
  for (const name of ['series-v1', 'series-0001-0045']) {
    const r = judge(name);
    t.is(r.outcome, 'fail', name);
    t.deepEqual(r.problems, MAPPED_ON_C, name);
  }
});

test('stock 6.12 does the same, as it means to: its vanilla column expects the fail', (t) => {
  const r = judge('stock-6.12', 'vanilla');
  t.is(r.outcome, 'xfail', r.summary);
  t.deepEqual(r.problems, MAPPED_ON_C);
});

test("0001-0048: B's faults copy the read-ahead pages onto P", (t) => {
  const r = judge('series-0001-0048');
  t.is(r.outcome, 'pass', r.summary);
  t.is(
    r.summary,
    "all of B's pages came back on node 1, read ahead by the unbound A (31 anonymous, 31 shmem, every fault on them minor) or not (33, 33)",
  );
});

// Edits of arm 2's records (the first of each in the recordings).
const REFUSED = (x: string) =>
  x.replace('"role":"B","node":1,"ret":0,"errno":null', '"role":"B","node":1,"ret":-1,"errno":"EINVAL"');
const STILL_CACHED = (x: string) => x.replace(/("role":"B","pages":64,"cached":)0/, '$17');
// What a kernel that read none of B's slots ahead would print: all 64 missed, swapped in under B's bind.
const NOTHING_AHEAD = (x: string) =>
  x.replace(
    /"ahead":\{"pages":31,"major":0,"placement":\{"[01]":31\}\},"missed":\{"pages":33,"major":\d+,"placement":\{"1":33\}\}/,
    '"ahead":{"pages":0,"major":0,"placement":{}},"missed":{"pages":64,"major":64,"placement":{"1":64}}',
  );
const MAJOR = (x: string) => x.replace('"ahead":{"pages":31,"major":0,', '"ahead":{"pages":31,"major":3,');

test('what keeps an arm from showing a pass is an error on v2, and hides no fail on v1', (t) => {
  const cases: [string, (text: string) => string, RegExp][] = [
    [
      'a refused bind',
      REFUSED,
      /arm 2 \(anonymous pages, bound before they were faulted\): B's bind to \{1\} was refused \(EINVAL\)/,
    ],
    // A settle that left pages cached: a hit on P would pass for the wrong reason.
    [
      'pages still cached',
      STILL_CACHED,
      /arm 2: 7 of task B's pages were still in the swap cache after root dropped it/,
    ],
    [
      'nothing read ahead',
      NOTHING_AHEAD,
      /A's swap-ins read none of B's pages ahead \(rotational 1, vma_ra_enabled true, page-cluster 3\), so the check cannot tell/,
    ],
    ['a major fault on a cached page', MAJOR, /3 of B's faults on the 31 pages mincore showed cached were major/],
  ];
  for (const [what, edit, message] of cases) {
    const v2 = judge('series-0001-0048', 'private-user', edit);
    t.is(v2.outcome, 'error', `${what}: ${v2.summary}`);
    t.regex(v2.summary, message, what);
    // Arm 3 still shows B's read-ahead pages on C (and arm 2 too, unless its bind was refused).
    const v1 = judge('series-0001-0045', 'private-user', edit);
    t.is(v1.outcome, 'fail', `${what} on 0001-0045: ${v1.summary}`);
    t.true(v1.problems.includes(MAPPED_ON_C[1]!), what);
  }
});

test("B's pages off P anywhere are a fail: faulted off P under the bind, or missed and swapped in off P", (t) => {
  const placedOff = judge('series-0001-0048', 'private-user', (x) =>
    x.replace('"role":"B","pages":64,"placement":{"1":64}', '"role":"B","pages":64,"placement":{"0":4,"1":60}'),
  );
  t.is(placedOff.outcome, 'fail', placedOff.summary);
  t.deepEqual(placedOff.problems, [
    "arm 2 (anonymous pages, bound before they were faulted): 4 of B's 64 pages were faulted off node 1 under its bind",
  ]);
  const missedOff = judge('series-0001-0048', 'private-user', (x) =>
    x.replace(
      '"missed":{"pages":33,"major":33,"placement":{"1":33}}',
      '"missed":{"pages":33,"major":33,"placement":{"0":2,"1":31}}',
    ),
  );
  t.is(missedOff.outcome, 'fail', missedOff.summary);
  t.deepEqual(missedOff.problems, [
    "arm 2 (anonymous pages, bound before they were faulted): 2 of B's 33 pages that nothing had read ahead came in off node 1: B's bind did not hold on its own swap-ins",
  ]);
});

test('a probe that died is an error', (t) => {
  for (const name of ['series-0001-0045', 'series-0001-0048']) {
    const r = judge(name, 'private-user', (x) => x.replace(/\{"probe":"swap-ra","call":"touched".*\n/, ''));
    t.is(r.outcome, 'error', name);
    t.regex(r.summary, /the probe printed 0 "swap-ra touched" record/, name);
  }
});

test('no swap in the kernel is a skip; the private column judges nothing; a topology without a scratch disk says why', (t) => {
  const ctx = seriesTopologyContext('reclaim-user', 'patched-6.12-private-user', 'private-user');
  t.is(evaluateInvariant(swapReadaheadReverse, { 'swap-readahead-reverse': '### none\n' }, ctx).outcome, 'skip');
  t.is(judge('series-v1', 'private').outcome, 'skip');
  const plain = contextOf('patched-6.12-private-user');
  t.is(
    swapReadaheadReverse.unsupported!(plain.topology, plain.roles),
    'topology private-virtio has no scratch disk (virtio-blk) to swap to',
  );
});

test("an errno that is not an errno's name (what a hostile guest could print) is a broken probe and stays out of the summary", (t) => {
  const r = judge('series-0001-0045', 'private-user', (x) =>
    x.replace('"role":"B","node":1,"ret":0,"errno":null', '"role":"B","node":1,"ret":-1,"errno":"::error::<b>"'),
  );
  t.is(r.outcome, 'error', r.summary);
  t.notRegex(r.summary, /::error::|<b>/);
});
