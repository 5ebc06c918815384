import test from 'ava';
import { decideTopology, topology, type TopologyObservation } from '../../src/invariants/families/topology.js';
import { contextOf, rawOutputs } from '../helpers/recorded.js';

const GUEST = 'stock-6.12-private-virtio';
const ctx = contextOf(GUEST);
const topo = ctx.topology;

/** What the topology step read in a real stock guest. */
const observed = (): TopologyObservation => topology.parse(rawOutputs(GUEST), ctx);
const checkTopology = (t: typeof topo, obs: TopologyObservation) => {
  const d = decideTopology(t, obs);
  return { ...d, outcome: d.passed ? 'pass' : 'fail' };
};

test('the real stock guest passes the topology check, with the sizes as evidence', (t) => {
  const r = checkTopology(topo, observed());
  t.is(r.outcome, 'pass', r.problems.join('\n'));
  t.deepEqual(r.problems, []);
  const nodes = r.evidence.nodes as { node: number; memTotalMiB: number }[];
  t.deepEqual(
    nodes.map((n) => [n.node, n.memTotalMiB]),
    [
      [0, 1913.4],
      [1, 1006.1],
    ],
  );
  t.deepEqual(r.evidence.devices, [{ kind: 'virtio-net', node: 1, pci: '0000:41:00.0' }]);
});

test('a node that lost its memory fails with the numbers', (t) => {
  const obs = observed();
  obs.sysfsNodes[1]!.meminfo.MemTotal = 512 * 1024;
  const r = checkTopology(topo, obs);
  t.is(r.outcome, 'fail');
  t.regex(r.problems.join('\n'), /node 1 MemTotal is 512 MiB, expected \d+-1024 MiB/);
});

test('a missing node, wrong CPUs, a wrong distance and a device on the wrong node each fail', (t) => {
  const obs = observed();
  obs.sysfsNodes[0]!.cpus = [0];
  obs.numactl.distances[0]![1] = 21;
  obs.pci.find((p) => p.classCode >> 8 === 0x0200)!.numaNode = 0;
  obs.sysfsNodes.pop();
  const msg = checkTopology(topo, obs).problems.join('\n');
  t.regex(msg, /guest has 1 NUMA nodes, topology asks for 2/);
  t.regex(msg, /node 1 is missing/);
  t.regex(msg, /node 0 has CPUs \[0\], topology asks for \[0,1\]/);
  t.regex(msg, /distance 0->1 is 21, topology asks for 20/);
  t.regex(msg, /no virtio-net PCI device on node 1 \(seen: 0000:41:00.0 node 0\)/);
});
