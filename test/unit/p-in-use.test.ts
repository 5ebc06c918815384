import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { projectPath } from '../../src/adapters/project.js';
import { evaluateInvariant } from '../../src/invariants/evaluate.js';
import { pInUse } from '../../src/invariants/families/p-in-use.js';
import { contextOn, judgeRecorded, seriesRecordings } from '../helpers/recorded.js';

// test/fixtures/guest/*/p-in-use.txt: the step's output after the whole suite on private-virtio.
const judge = (dir: string, edit?: (text: string) => string) => judgeRecorded(pInUse, dir, edit);

test('p-in-use: after the suite, v2 holds exactly its rings on P; the stock and lean kernels hold much more', (t) => {
  const v2 = judge('patched-6.12-private');
  t.is(v2.outcome, 'pass', v2.summary);
  t.is(v2.summary, 'node 1: 5 pages in use, exactly the rings of 3 queue(s) on it (5 pages)');
  for (const dir of ['stock-6.12-private-virtio', 'lean-6.12-private-virtio', 'stock-6.12-hmat-tiered']) {
    const r = judge(dir);
    t.is(r.outcome, 'xfail', dir);
    t.regex(r.summary, /^node 1 has \d+ pages in use \(\d+ handed out, \d+ of them on per-CPU lists\): \d+ more than/);
  }
});

test('p-in-use: the catch-all sees what no counter names: v1 leaves its boot-time huge pages on P', (t) => {
  // test/fixtures/p-in-use: the series' matrix topology (hugepages=8), v1 and v2 under private_node=1.
  const { recorded, context } = seriesRecordings(pInUse, 'private');
  const v1 = evaluateInvariant(pInUse, { 'p-in-use': recorded('series-v1-private') }, context('private'));
  t.is(v1.outcome, 'fail');
  t.regex(v1.summary, /2048 more than the rings/);
  const v2 = evaluateInvariant(pInUse, { 'p-in-use': recorded('patched-private') }, context('private'));
  t.is(v2.outcome, 'pass', v2.summary);
});

test('p-in-use: pages on the per-CPU lists are free; a zone without its free count or P is an error', (t) => {
  // Constructed from the v2 recording on the matrix topology (56 pages on CPU 1's list): that count
  // zeroed, what a kernel that kept those pages in use would show.
  const { recorded, context } = seriesRecordings(pInUse, 'private');
  const kept = evaluateInvariant(
    pInUse,
    { 'p-in-use': recorded('patched-private').replace(/(Node 1, zone\s+Movable[^]*?cpu: 1\n\s+count: )56\n/, '$10\n') },
    context('private'),
  );
  t.regex(kept.summary, /^node 1 has 61 pages in use \(61 handed out, 0 of them on per-CPU lists\): 56 more than/);
  t.is(kept.outcome, 'fail');
  t.is(judge('patched-6.12-private', (x) => x.replace(/^Node 1, zone/gm, 'Node 7, zone')).outcome, 'error');
});

test('p-in-use: a vhost-user NIC through the DMA API: rings in the DMA pool the series reserved hold no page of the allocator; outside it, whole orders', (t) => {
  // test/fixtures/p-in-use/patched-vhost-dma: v2 (0001-0032) on private-vhost with private_node=1,dma=16M,
  // recorded under TCG on 2026-12-05 with `numacage run --config patches/private-node/private-node-vhost.json
  // --only p-in-use,virtio-rings`: the three queues' rings lie in the pool at 0x13de00000 (16 MiB), and no
  // page of P is handed out.
  const dir = projectPath('test/fixtures/p-in-use/patched-vhost-dma');
  const raw = { 'p-in-use': readFileSync(join(dir, 'p-in-use.txt'), 'utf8') };
  const kernelState = readFileSync(join(dir, 'kernel-state.txt'), 'utf8');
  const context = (state: string) => contextOn('private-vhost', state);
  const v2 = evaluateInvariant(pInUse, raw, context(kernelState));
  t.is(v2.outcome, 'pass', v2.summary);
  t.regex(
    v2.summary,
    /0 pages in use, exactly the rings of 3 queue\(s\) on it \(0 pages; 3 queue\(s\) in its DMA pool/,
  );
  // Constructed: the same recording without the pool's boot line, as if the rings had come from dma-direct's
  // page allocations on P; each queue is then counted in whole orders (spans of 2, 2 and 1 pages: orders 1, 1 and 0).
  const noPool = evaluateInvariant(
    pInUse,
    raw,
    context(kernelState.replace(/^.*DMA pool for its PCI devices.*\n/m, '')),
  );
  t.is(noPool.outcome, 'fail');
  t.regex(noPool.summary, /0 pages in use .*: fewer than the rings of 3 queue\(s\) on it \(\d+ pages\)/);
  t.deepEqual(
    (noPool.evidence.ringQueues as { pages: number; inPool: boolean }[]).map((q) => [q.pages, q.inPool]),
    [
      [2, false],
      [2, false],
      [1, false],
    ],
  );
});
