import { readFileSync } from 'node:fs';
import test from 'ava';
import { projectPath } from '../../src/adapters/project.js';
import { evaluateInvariant } from '../../src/invariants/evaluate.js';
import { swapReadahead } from '../../src/invariants/families/swap-readahead.js';
import type { ProbeContext } from '../../src/invariants/spec.js';
import { contextOf, seriesTopologyContext } from '../helpers/recorded.js';

// test/fixtures/swap-readahead: the step's output on patches/private-node/reclaim-user.topology.json
// (C = 0, P = 1, swap on a scratch virtio-blk disk) from stock, v1, 0001-0044 and 0001-0045 (README.md there).
const recording = (name: string) =>
  readFileSync(projectPath('test', 'fixtures', 'swap-readahead', `${name}.txt`), 'utf8');

function judge(name: string, profile: ProbeContext['profile'] = 'private-user', edit = (text: string) => text) {
  const ctx = seriesTopologyContext('reclaim-user', 'patched-6.12-private-user', profile);
  return evaluateInvariant(swapReadahead, { 'swap-readahead': edit(recording(name)) }, ctx);
}

const READ_ONTO_P =
  "63 of B's 64 pages are on node 1, which B never asked for: A, bound to node 1, read 63 of them ahead into the swap cache, and B's faults mapped those copies";

test("v1 and 0001-0044: a task bound to P reads another task's swapped pages onto P, and that task maps them there", (t) => {
  for (const name of ['series-v1', 'series-0001-0044']) {
    const r = judge(name);
    t.is(r.outcome, 'fail', name);
    t.deepEqual(r.problems, [READ_ONTO_P], name);
  }
});

test('stock 6.12 does the same, as it means to: its vanilla column expects the fail', (t) => {
  const r = judge('stock-6.12', 'vanilla');
  t.is(r.outcome, 'xfail', r.summary);
  t.deepEqual(r.problems, [READ_ONTO_P]);
});

test("0001-0045: the bound task's swap-ins read nothing ahead, and B's pages come back on C", (t) => {
  const r = judge('series-0001-0045');
  t.is(r.outcome, 'pass', r.summary);
  t.is(
    r.summary,
    "B's 64 pages came back on node 0 after A, bound to node 1, read its own swapped pages between them (0 of B's read ahead with A's; 63 in the unbound control)",
  );
});

test('readahead that never ran, in the unbound control, is an error, never a pass', (t) => {
  // What a kernel without cluster readahead (VMA readahead, page-cluster 0) would print in arm 0.
  const r = judge('series-0001-0045', 'private-user', (text) =>
    text.replace('"role":"B","pages":64,"cached":63}', '"role":"B","pages":64,"cached":0}'),
  );
  t.is(r.outcome, 'error', r.summary);
  t.regex(
    r.summary,
    /with no policy, A's swap-ins read none of B's 64 pages ahead \(rotational 1, vma_ra_enabled true, page-cluster 3\)/,
  );
  // A setting that is not a word (what a hostile guest could print) never reaches the summary.
  const hostile = judge('series-0001-0045', 'private-user', (text) =>
    text
      .replace('vma_ra_enabled true', 'vma_ra_enabled ::error::<b>')
      .replace('"role":"B","pages":64,"cached":63}', '"role":"B","pages":64,"cached":0}'),
  );
  t.is(hostile.outcome, 'error');
  t.regex(hostile.summary, /vma_ra_enabled undefined,/);
});

test('a broken setup is an error: pages left unswapped or cached, a refused bind, A not on P, a probe that died', (t) => {
  const broken: [string, (text: string) => string, RegExp][] = [
    [
      'unswapped',
      (x) => x.replace('"role":"B","pages":64,"swapped":64', '"role":"B","pages":64,"swapped":60'),
      /swapped 60 of task B's 64 pages/,
    ],
    [
      'cached',
      (x) => x.replace('"role":"A","pages":96,"cached":0', '"role":"A","pages":96,"cached":5'),
      /5 of task A's pages were still in the swap cache/,
    ],
    [
      'refused',
      (x) => x.replace('"ret":0,"errno":null', '"ret":-1,"errno":"EINVAL"'),
      /A's set_mempolicy\(BIND, \{1\}\) was refused \(EINVAL\)/,
    ],
    [
      'A off P',
      (x) =>
        x.replace('"primer":{"pages":32,"placement":{"1":32}}', '"primer":{"pages":32,"placement":{"0":2,"1":30}}'),
      /only 94 of A's 96 pages came back on node 1/,
    ],
    ['died', (x) => x.replace(/### arm-1\n# exit 0/, '### arm-1\n# exit 3'), /arm 1: the probe exited 3/],
    [
      'lost',
      (x) => x.replace(/\{"probe":"swap-ra","call":"touched".*\n(?=### arm-1)/, ''),
      /no "touched" record of task B|printed 0 "swap-ra touched"/,
    ],
  ];
  for (const [what, edit, message] of broken) {
    const r = judge('series-v1', 'private-user', edit);
    t.is(r.outcome, 'error', what);
    t.regex(r.summary, message, what);
  }
});

test('no swap in the kernel is a skip; the private column judges nothing; a topology without a scratch disk says why', (t) => {
  const ctx = seriesTopologyContext('reclaim-user', 'patched-6.12-private-user', 'private-user');
  t.is(evaluateInvariant(swapReadahead, { 'swap-readahead': '### none\n' }, ctx).outcome, 'skip');
  t.is(judge('series-v1', 'private').outcome, 'skip');
  const plain = contextOf('patched-6.12-private-user');
  t.is(
    swapReadahead.unsupported!(plain.topology, plain.roles),
    'topology private-virtio has no scratch disk (virtio-blk) to swap to',
  );
});
