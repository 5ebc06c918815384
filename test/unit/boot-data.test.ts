import test from 'ava';
import { readFileSync } from 'node:fs';
import { projectPath } from '../../src/adapters/project.js';
import { evaluateInvariant } from '../../src/invariants/evaluate.js';
import { bootData, dmaPoolPages } from '../../src/invariants/families/boot-data.js';
import type { ProbeContext } from '../../src/invariants/spec.js';
import { builtinTopology } from '../../src/topology/builtin.js';
import { nodeRoles } from '../../src/invariants/profile.js';
import { contextOf, rawOutputs } from '../helpers/recorded.js';

// test/fixtures/guest/*/boot-data.txt: the step's output on private-virtio (1 GiB P), recorded 2026-12-04.
const judge = (dir: string, edit: (text: string) => string = (x) => x, ctx: ProbeContext = contextOf(dir)) =>
  evaluateInvariant(bootData, { 'boot-data': edit(rawOutputs(dir)['boot-data']!) }, ctx);

test('boot-data: v1 and the lean kernel keep 198 pages of boot data on P, the stock kernel 490; v2 none', (t) => {
  for (const dir of ['series-v1-6.12-private', 'series-v1-6.12-private-user']) {
    const r = judge(dir);
    t.is(r.outcome, 'fail', dir);
    t.is(r.summary, 'node 1 has 4302 pages reserved at boot: 198 more than its memmap (4096) and own data (up to 8)');
  }
  t.is(judge('lean-6.12-private-virtio').outcome, 'xfail');
  const stock = judge('stock-6.12-private-virtio');
  t.is(stock.outcome, 'xfail');
  t.regex(stock.summary, /4594 pages reserved at boot: 490 more/);
  for (const dir of ['patched-6.12-private', 'patched-6.12-private-user']) {
    const r = judge(dir);
    t.is(r.outcome, 'pass', r.summary);
    t.is(
      r.summary,
      'node 1: 4099 pages reserved at boot, within its memmap (4096) and own data (up to 8); the host finds 4104 written',
    );
  }
});

test('boot-data: a guest that hides its boot data from zoneinfo is caught by the host', (t) => {
  // Constructed from the v1 recording: P's managed pages raised by the 203 pages v1 reserves beyond v2,
  // what a kernel that counted its boot data as managed would print; the host's count is the real one.
  const r = judge('series-v1-6.12-private', (x) => x.replace(/managed {2}257842$/m, 'managed  258045'));
  t.is(r.outcome, 'fail');
  t.deepEqual(r.problems, [
    "the host finds 4307 of node 1's pages written: 142 more than the guest accounts for (its memmap (4096) and own data (up to 8), 0 of other boot data, 61 in use)",
  ]);
});

test('boot-data: free huge pages are not taken as written pages, so they cannot hide boot data', (t) => {
  // Constructed from the v1 recording: 4 free huge pages on P (8 MiB in MemUsed), as hugepages=8 leaves there on v1.
  const r = judge('series-v1-6.12-private', (x) =>
    x
      .replace(/^(Node 1 MemUsed:\s+)244 kB$/m, '$18436 kB')
      .replace(/^(Node 1 HugePages_(?:Total|Free):\s+)0$/gm, '$14')
      .replace(/managed {2}257842$/m, 'managed  258045'),
  );
  t.is(r.outcome, 'fail');
  t.regex(r.problems[0]!, /142 more than the guest accounts for/);
});

test('boot-data: output without the host count or P in zoneinfo is an error; a hot-plugged or RAM-backed P is not tested', (t) => {
  t.is(judge('patched-6.12-private', (x) => x.replace(/### host[^]*$/, '')).outcome, 'error');
  t.is(judge('patched-6.12-private', (x) => x.replace(/^Node 1, zone/gm, 'Node 7, zone')).outcome, 'error');
  const movable = builtinTopology('private-movable')!;
  t.regex(bootData.unsupported!(movable, nodeRoles(movable)!)!, /hot-plugged/);
  const virtio = builtinTopology('private-virtio')!;
  const roles = nodeRoles(virtio)!;
  const ram = {
    ...virtio,
    nodes: virtio.nodes.map((n) => (n.id === roles.p ? { ...n, backend: { kind: 'ram' as const } } : n)),
  };
  t.regex(bootData.unsupported!(ram, roles)!, /not backed by a memfd/);
  t.is(bootData.unsupported!(virtio, roles), undefined);
});

test('boot-data: a dma= pool asked for P is its own; one for another node is not', (t) => {
  t.is(dmaPoolPages('root=/dev/vda private_node=1,dma=8M', 1), 2048);
  t.is(dmaPoolPages('private_node=1,user,dma=512k quiet', 1), 128);
  t.is(dmaPoolPages('private_node=2,dma=8M', 1), 0);
  t.is(dmaPoolPages('private_node=1', 1), 0);
});

test('boot-data: a dma= pool counts only where a private kernel is asked for: the stock kernel ignores the word', (t) => {
  // test/fixtures/boot-data: private-vhost booted with private_node=1,dma=16M.
  const recorded = (name: string) => readFileSync(projectPath('test', 'fixtures', 'boot-data', `${name}.txt`), 'utf8');
  const base = contextOf('patched-6.12-private');
  const ctx = (profile: ProbeContext['profile']): ProbeContext => ({
    ...base,
    profile,
    state: { ...base.state, cmdline: `${base.state.cmdline} private_node=1,dma=16M` },
  });
  const stock = evaluateInvariant(bootData, { 'boot-data': recorded('stock-private-vhost-dma') }, ctx('vanilla'));
  t.is(stock.outcome, 'xfail');
  t.is(stock.summary, 'node 1 has 4594 pages reserved at boot: 490 more than its memmap (4096) and own data (up to 8)');
  const series = evaluateInvariant(bootData, { 'boot-data': recorded('patched-private-vhost-dma') }, ctx('private'));
  t.is(series.outcome, 'pass', series.summary);
  t.regex(
    series.summary,
    /8195 pages reserved at boot, within its memmap \(4096\) and own data \(up to 8\) and the DMA pool \(4096\)/,
  );
});
