import test from 'ava';
import { bootPoolAsked, hugetlbBoot } from '../../src/invariants/families/mm-daemons.js';
import { contextOf, seriesRecordings } from '../helpers/recorded.js';

// test/fixtures/hugetlb-boot: the step's output on the series' matrix topology (private_node=1 hugepages=8).
const { recorded, context, outcome } = seriesRecordings(hugetlbBoot, 'private');

test('hugetlb-boot: hugepages=8 puts 4 on P on the stock kernel and on v1, none on v2', (t) => {
  const stock = outcome(recorded('stock-private'), 'vanilla');
  t.is(stock.outcome, 'xfail');
  t.is(stock.summary, 'hugepages=8 at boot put 4 of its huge pages on node 1');
  const v1 = outcome(recorded('series-v1-private'));
  t.is(v1.outcome, 'fail');
  t.is(v1.summary, 'hugepages=8 at boot put 4 of its huge pages on node 1');
  const v2 = outcome(recorded('patched-private'));
  t.is(v2.outcome, 'pass', v2.summary);
  t.is(v2.summary, 'hugepages=8: all 8 off node 1');
  t.true((v2.evidence.kernel as string[]).some((l) => /pre-allocated 8 pages/.test(l)));
});

test('hugetlb-boot: a pool short of what was asked is a fail, not a pass for having nothing on P', (t) => {
  // Constructed from patched-private.txt with the total lowered to 5: what a kernel that dropped the
  // pages it would have put on P (or a C without room for them) shows.
  const short = recorded('patched-private').replace(/^total 8$/m, 'total 5');
  const r = outcome(short);
  t.is(r.outcome, 'fail');
  t.deepEqual(r.problems, ['the boot-time pool holds 5 of the 8 huge pages asked for']);
});

test('hugetlb-boot: output without the pool counts is an error; a topology with no hugepages= is not tested', (t) => {
  t.is(outcome('### pool\ntotal 8\n### kernel\n').outcome, 'error');
  const plain = contextOf('patched-6.12-private');
  t.regex(hugetlbBoot.unsupported!(plain.topology, plain.roles)!, /asks for no boot-time HugeTLB pool/);
  const ctx = context('private');
  t.is(hugetlbBoot.unsupported!(ctx.topology, ctx.roles), undefined);
});

// test/fixtures/hugetlb-boot/node-*.txt: the step's output on hugepages-node.topology.json (private_node=1
// hugepages=0:4,1:4).
const perNode = seriesRecordings(hugetlbBoot, 'hugepages-node');

test('hugetlb-boot asked per node: the stock kernel and v1 give P its 4; v2 refuses them with a warning and C keeps its 4', (t) => {
  const stock = perNode.outcome(perNode.recorded('node-stock-private'), 'vanilla');
  t.is(stock.outcome, 'xfail');
  t.is(stock.summary, 'hugepages=0:4,1:4 at boot put 4 of its huge pages on node 1');
  const v1 = perNode.outcome(perNode.recorded('node-series-v1-private'));
  t.is(v1.outcome, 'fail');
  t.is(v1.summary, 'hugepages=0:4,1:4 at boot put 4 of its huge pages on node 1');
  const v2 = perNode.outcome(perNode.recorded('node-patched-private'));
  t.is(v2.outcome, 'pass', v2.summary);
  t.is(v2.summary, 'hugepages=0:4,1:4: the 4 asked for on node 1 refused, all 4 off node 1');
  t.true(
    (v2.evidence.kernel as string[]).some((l) => /node1 is private, no huge page allocated on it at boot/.test(l)),
  );
  // Constructed from node-patched-private.txt with C's 4 gone too: refusing P's part must not take C's with it.
  const short = perNode.outcome(perNode.recorded('node-patched-private').replace(/^total 4$/m, 'total 0'));
  t.is(short.outcome, 'fail');
  t.is(short.summary, 'the boot-time pool holds 0 of the 4 huge pages asked for off node 1');
});

test('hugepages= on the command line: a count, or counts per node (a node named twice keeps its last); anything else asks for no pool', (t) => {
  const on = (word: string) => bootPoolAsked({ ...perNode.context('private').topology, cmdline: [word] });
  t.deepEqual(on('hugepages=8'), { arg: '8', total: 8 });
  t.deepEqual(on('hugepages=0:4,1:2,0:1'), { arg: '0:4,1:2,0:1', total: 3, byNode: { 0: 1, 1: 2 } });
  for (const word of ['hugepages=', 'hugepages=0:4,', 'hugepages=x', 'hugepagesz=2M']) t.is(on(word), undefined, word);
});
