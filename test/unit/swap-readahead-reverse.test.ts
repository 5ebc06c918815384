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
    "all of B's pages came back on node 1, read ahead by the unbound A (31 anonymous, 31 shmem) or not (33, 33)",
  );
});

test('a broken setup is an error, never a pass or a fail', (t) => {
  const broken: [string, (text: string) => string, RegExp][] = [
    [
      'refused bind',
      (x) => x.replace('"role":"B","node":1,"ret":0,"errno":null', '"role":"B","node":1,"ret":-1,"errno":"EINVAL"'),
      /arm 2: B's bind to \{1\} was refused \(EINVAL\)/,
    ],
    [
      'faulted off P',
      (x) =>
        x.replace(
          '"call":"placed","uid":1000,"role":"B","pages":64,"placement":{"1":64}',
          '"call":"placed","uid":1000,"role":"B","pages":64,"placement":{"0":4,"1":60}',
        ),
      /arm 2: 4 of B's 64 pages were faulted off node 1 under its bind/,
    ],
    [
      // A settle that left pages cached: a hit on P would pass for the wrong reason.
      'still cached',
      (x) => x.replace(/("role":"B","pages":64,"cached":)0/, '$17'),
      /arm 2: 7 of task B's pages were still in the swap cache after root dropped it/,
    ],
    [
      'nothing read ahead',
      (x) =>
        x.replace(
          /"ahead":\{"pages":31,"placement":\{"[01]":31\}\},"missed":\{"pages":33,/,
          '"ahead":{"pages":0,"placement":{}},"missed":{"pages":64,',
        ),
      /arm 2: A's swap-ins read none of B's pages ahead \(rotational 1, vma_ra_enabled true, page-cluster 3\), so the check cannot tell/,
    ],
    [
      'a miss off P',
      (x) =>
        x.replace('"missed":{"pages":33,"placement":{"1":33}}', '"missed":{"pages":33,"placement":{"0":2,"1":31}}'),
      /arm 2: 2 of B's 33 pages that nothing read ahead came in off node 1: B's bind does not hold even on a miss/,
    ],
    [
      'died',
      (x) => x.replace(/\{"probe":"swap-ra","call":"touched".*\n/, ''),
      /the probe printed 0 "swap-ra touched" record/,
    ],
  ];
  for (const name of ['series-0001-0045', 'series-0001-0048'])
    for (const [what, edit, message] of broken) {
      const r = judge(name, 'private-user', edit);
      t.is(r.outcome, 'error', `${name}, ${what}: ${r.summary}`);
      t.regex(r.summary, message, `${name}, ${what}`);
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
