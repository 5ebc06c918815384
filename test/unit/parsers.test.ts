import test from 'ava';
import { parseNumactlHardware } from '../../src/parsers/numactl.js';
import { parseNodeMeminfo, parsePciDevices, parseSysfsNodes } from '../../src/parsers/sysfs.js';
import { parseSections } from '../../src/invariants/records.js';
import { fixture } from '../helpers/fixtures.js';

/** The topology step's sections, recorded from a real stock guest on private-virtio. */
const recorded = parseSections(fixture('guest', 'stock-6.12-private-virtio', 'topology.txt'));

test('numactl --hardware from a real guest', (t) => {
  const hw = parseNumactlHardware(recorded.numactl!);
  t.deepEqual(
    hw.nodes.map(({ id, cpus, sizeMiB }) => ({ id, cpus, sizeMiB })),
    [
      { id: 0, cpus: [0, 1], sizeMiB: 1913 },
      { id: 1, cpus: [], sizeMiB: 1006 },
    ],
  );
  t.true(hw.nodes.every((n) => n.freeMiB > 0 && n.freeMiB < n.sizeMiB));
  t.deepEqual(hw.distanceNodeIds, [0, 1]);
  t.deepEqual(hw.distances, [
    [10, 20],
    [20, 10],
  ]);
});

test('sysfs node dump from a real guest', (t) => {
  const nodes = parseSysfsNodes(recorded['sysfs-nodes']!);
  t.is(nodes.length, 2);
  t.deepEqual(nodes[0]!.cpus, [0, 1]);
  t.deepEqual(nodes[1]!.cpus, []);
  t.is(nodes[0]!.meminfo.MemTotal, 1959308);
  t.is(nodes[1]!.meminfo.MemTotal, 1030200);
  t.true('SUnreclaim' in nodes[1]!.meminfo);
  t.true('KernelStack' in nodes[1]!.meminfo);
});

test('node meminfo lines with and without kB', (t) => {
  t.deepEqual(parseNodeMeminfo('Node 1 MemTotal:        1030192 kB\nNode 1 HugePages_Total:     0\n'), {
    MemTotal: 1030192,
    HugePages_Total: 0,
  });
});

test('PCI devices from a real guest: virtio-net on node 1 behind the pxb-pcie bus', (t) => {
  const pci = parsePciDevices(recorded.pci!);
  const net = pci.find((p) => p.classCode >> 8 === 0x0200);
  t.deepEqual(net, { address: '0000:41:00.0', classCode: 0x020000, vendor: 0x1af4, device: 0x1041, numaNode: 1 });
  const blk = pci.find((p) => p.classCode >> 8 === 0x0100);
  t.is(blk?.numaNode, -1);
});
