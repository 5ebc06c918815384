import { readFileSync } from 'node:fs';
import test from 'ava';
import { projectPath } from '../../src/adapters/project.js';
import { evaluateInvariant } from '../../src/invariants/evaluate.js';
import { zpoolUser } from '../../src/invariants/families/zpool-user.js';
import type { ProbeContext } from '../../src/invariants/spec.js';
import type { StepWitness } from '../../src/invariants/witness.js';
import { seriesTopologyContext } from '../helpers/recorded.js';

// test/fixtures/zpool-user: the step's output on patches/private-node/reclaim-user.topology.json
// (C = 0, P = 1) from series v1, 0001-0048, 0001-0050 and stock, with each run's host reading (README.md there).
const fixture = (file: string) => readFileSync(projectPath('test', 'fixtures', 'zpool-user', file), 'utf8');
const HOST = JSON.parse(fixture('host-witness.json')) as Record<string, StepWitness>;

function judge(
  name: string,
  opts: { profile?: ProbeContext['profile']; edit?: (text: string) => string; host?: StepWitness[] } = {},
) {
  const ctx = seriesTopologyContext('reclaim-user', 'patched-6.12-private-user', opts.profile ?? 'private-user');
  const text = (opts.edit ?? ((x) => x))(fixture(`${name}.txt`));
  return evaluateInvariant(zpoolUser, { 'zpool-user': text }, ctx, opts.host ?? [HOST[name]!]);
}

test("v1 and 0001-0048: a reclaimer bound to P compresses another cgroup's pages into pool pages on P, where the host finds them", (t) => {
  for (const [name, pool, kb, copies] of [
    ['series-v1', 624, 8252, 2060],
    ['series-0001-0048', 638, 8368, 2089],
  ] as const) {
    const r = judge(name);
    t.is(r.outcome, 'fail', name);
    t.deepEqual(r.problems, [
      `the pool grew by ${pool} page(s) on node 1 while a task bound to node 1 reclaimed ${kb} kB of another cgroup's pages (0 on node 0); the host finds ${copies} of the victim's pages compressed in node 1's memfd`,
    ]);
  }
});

test('stock 6.12 does the same, as it means to: its vanilla column expects the fail', (t) => {
  const r = judge('stock-6.12', { profile: 'vanilla' });
  t.is(r.outcome, 'xfail', r.summary);
  t.regex(
    r.summary,
    /^the pool grew by 616 page\(s\) on node 1 .* the host finds 2036 of the victim's pages compressed/,
  );
});

test('0001-0050: the pool grows on C alone, and the host finds none of the victim on P', (t) => {
  const r = judge('series-0001-0050');
  t.is(r.outcome, 'pass', r.summary);
  t.is(
    r.summary,
    "a task bound to node 1 reclaimed 8180 kB of another cgroup's pages into 628 new pool page(s) on node 0 and none on node 1 (the unbound control: 577 on node 0); the host finds 0 of the victim's pages compressed in node 1's memfd",
  );
});

test("without the host's reading the guest's counters decide alone; a host that finds what they deny makes an error", (t) => {
  t.is(judge('series-v1', { host: [] }).outcome, 'fail');
  t.is(judge('series-0001-0050', { host: [] }).outcome, 'pass');
  // What a kernel that put the pool on P but counted it on C would print: v1's recording with node 1's
  // nr_zspages moved to node 0, held against v1's real host reading.
  const hidden = judge('series-v1', {
    edit: (x) =>
      x
        .replace('nr_zspages 0 3\nnr_zspages 1 624', 'nr_zspages 0 627\nnr_zspages 1 0')
        .replace('nr_zspages 0 571\nnr_zspages 1 624', 'nr_zspages 0 1195\nnr_zspages 1 0'),
  });
  t.is(hidden.outcome, 'error', hidden.summary);
  t.regex(
    hidden.summary,
    /the host contradicts the guest: the host finds 2060 of the victim's pages compressed in node 1's memfd, and nr_zspages says the pool never grew on node 1/,
  );
});

test("the host's count is held only where the compressor keeps a page's first bytes; a contradiction never hides a fail", (t) => {
  // v1's recording as a kernel compressing with zstd (literals Huffman-coded) would print it, and as one
  // that hides its pool on P but maps the victim's pages back there: each with v1's host reading.
  const zstd = judge('series-v1', { edit: (x) => x.replace('comp_algorithm lzo-rle', 'comp_algorithm zstd') });
  t.is(zstd.outcome, 'fail');
  t.regex(zstd.summary, /\(0 on node 0\); the host cannot look inside zstd objects$/);
  const both = judge('series-v1', {
    edit: (x) =>
      x
        .replace('nr_zspages 0 3\nnr_zspages 1 624', 'nr_zspages 0 627\nnr_zspages 1 0')
        .replace('nr_zspages 0 571\nnr_zspages 1 624', 'nr_zspages 0 1195\nnr_zspages 1 0')
        .replace('"swapped":4093,"placement":{"0":4096}', '"swapped":4093,"placement":{"0":4000,"1":96}'),
  });
  t.is(both.outcome, 'fail', both.summary);
  t.deepEqual(both.problems, [
    "96 of the victim's 4096 pages came back on node 1",
    "the host finds 2060 of the victim's pages compressed in node 1's memfd, and nr_zspages says the pool never grew on node 1",
  ]);
});

test("the victim's pages back on P are a fail too", (t) => {
  // v2's recording with 96 of the victim's pages said to come back on P (a swap-in under someone else's policy).
  const r = judge('series-0001-0050', {
    edit: (x) => x.replace('"swapped":4096,"placement":{"0":4096}', '"swapped":4096,"placement":{"0":4000,"1":96}'),
  });
  t.is(r.outcome, 'fail', r.summary);
  t.deepEqual(r.problems, ["96 of the victim's 4096 pages came back on node 1"]);
});

test('what keeps an arm from showing anything is an error, never a pass', (t) => {
  // Each is v2's recording edited to what the guest would print: a write that reclaimed nothing of the
  // victim (VmSwap and the pool as before the arm), a refused bind, a probe that died or ran as root,
  // counters cut short, P's line missing (it would read as no pool page on P), a compressor not named.
  const broken: [string, (text: string) => string, RegExp][] = [
    [
      'nothing swapped',
      (x) => x.replace('nr_zspages 0 631', 'nr_zspages 0 3').replace('vmswap_kb 8180', 'vmswap_kb 0'),
      /arm 1: the write to memory\.reclaim \(ret 2\) swapped 0 kB of the victim .* so the check cannot tell/,
    ],
    [
      'refused bind',
      (x) =>
        x.replace(
          '"call":"bind","uid":1000,"ret":0,"errno":null',
          '"call":"bind","uid":1000,"ret":-1,"errno":"EINVAL"',
        ),
      /set_mempolicy\(BIND, \{P\}\) was refused \(EINVAL\)/,
    ],
    ['died', (x) => x.replace(/### arm-1\n(.*\n.*\n)# exit 0/, '### arm-1\n$1# exit 3'), /arm 1: the probe exited 3/],
    [
      'as root',
      (x) => x.replace('"call":"reclaim","uid":1000,"arm":1', '"call":"reclaim","uid":0,"arm":1'),
      /ran as root/,
    ],
    ['no counters', (x) => x.replace(/^vmswap_kb 8180\n/m, ''), /the counters after arm 1 lack/],
    [
      'no P',
      (x) => x.replace('nr_zspages 0 631\nnr_zspages 1 0\n', 'nr_zspages 0 631\n'),
      /the counters after arm 1 lack node 1's nr_zspages/,
    ],
    ['no compressor', (x) => x.replace('comp_algorithm lzo-rle', 'comp_algorithm'), /no compressor named/],
  ];
  for (const [what, edit, message] of broken) {
    const r = judge('series-0001-0050', { edit });
    t.is(r.outcome, 'error', `${what}: ${r.summary}`);
    t.regex(r.summary, message, what);
  }
});

test('no zram in the kernel is a skip; the private column judges nothing', (t) => {
  const ctx = seriesTopologyContext('reclaim-user', 'patched-6.12-private-user', 'private-user');
  t.is(evaluateInvariant(zpoolUser, { 'zpool-user': '### none\n' }, ctx).outcome, 'skip');
  t.is(judge('series-v1', { profile: 'private' }).outcome, 'skip');
});
