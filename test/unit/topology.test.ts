import test from 'ava';
import { ConfigError } from '../../src/model/errors.js';
import { builtinTopology, builtinTopologyNames } from '../../src/topology/builtin.js';
import { parseCpuList, parseSizeMiB, parseTopology } from '../../src/topology/parse.js';

const good = () => ({
  memory: '3G',
  cpus: 2,
  nodes: [
    { id: 0, mem: '2G', cpus: '0-1', backend: 'memfd', share: false },
    { id: 1, mem: '1G', cpus: '', backend: 'memfd', share: true },
  ],
  distances: [
    [10, 20],
    [20, 10],
  ],
  devices: [{ kind: 'virtio-net', node: 1 }],
});

function problems(raw: unknown): string {
  const err = t_throws(() => parseTopology(raw, 'topo.json'));
  return err.message;
}
function t_throws(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

test('sizes and CPU lists', (t) => {
  t.is(parseSizeMiB('2G'), 2048);
  t.is(parseSizeMiB('512M'), 512);
  t.is(parseSizeMiB(1536), 1536);
  t.is(parseSizeMiB('2T'), undefined);
  t.is(parseSizeMiB('0'), undefined);
  t.deepEqual(parseCpuList('0-2,5'), [0, 1, 2, 5]);
  t.deepEqual(parseCpuList(''), []);
  t.is(parseCpuList('3-1'), undefined);
});

test('every built-in topology is valid', (t) => {
  for (const name of builtinTopologyNames()) t.truthy(builtinTopology(name), name);
});

test('a sound topology parses', (t) => {
  const topo = parseTopology(good(), 'topo.json');
  t.is(topo.memoryMiB, 3072);
  t.deepEqual(topo.nodes[1]!.backend, { kind: 'memfd', share: true });
});

test('node sizes that do not add up to the memory size are named with both numbers', (t) => {
  const raw = { ...good(), memory: '4G' };
  t.regex(problems(raw), /node memory adds up to 3072 MiB but "memory" is 4096 MiB/);
});

test('CPUs out of range, overlapping and unplaced are each named, all at once', (t) => {
  const raw = good();
  raw.cpus = 3;
  raw.nodes[1]!.cpus = '1,4';
  const msg = problems(raw);
  t.regex(msg, /node 1 lists CPU 4, but the guest has CPUs 0-2/);
  t.regex(msg, /CPU 1 is given to both node 0 and node 1/);
  t.regex(msg, /CPU 2 belongs to no node/);
  t.regex(msg, /topo\.json/);
});

test('duplicate node ids, bad distances, devices on missing nodes, and a memfd without share', (t) => {
  const raw = good() as Record<string, unknown> & ReturnType<typeof good>;
  raw.nodes[1]!.id = 0;
  let msg = problems(raw);
  t.regex(msg, /node id 0 is declared more than once/);

  const asym = good();
  asym.distances = [
    [10, 20],
    [25, 10],
  ];
  t.regex(problems(asym), /not symmetric: 0->1 is 20 but 1->0 is 25/);

  const self = good();
  self.distances = [
    [12, 20],
    [20, 10],
  ];
  t.regex(problems(self), /distance 0->0 must be 10/);

  const dev = good();
  dev.devices = [{ kind: 'virtio-net', node: 7 }];
  t.regex(problems(dev), /placed on node 7, which does not exist/);

  const noShare = good() as { nodes: Record<string, unknown>[] };
  delete noShare.nodes[0]!.share;
  msg = problems(noShare);
  t.regex(msg, /nodes\[0\]\.share: must be true \(MAP_SHARED\) or false \(MAP_PRIVATE\)/);
});

test('wrong types anywhere are named by JSON path, never a TypeError; unknown keys too; $schema is accepted', (t) => {
  t.regex(problems({ ...good(), devices: [null] }), /devices\[0\]: must be an object \{ "kind", "node" \}/);
  const hmatNull = good() as { nodes: Record<string, unknown>[] };
  hmatNull.nodes[1]!.hmat = null;
  t.regex(problems(hmatNull), /nodes\[1\]\.hmat: must be \{ "latencyNs": >0, "bandwidthMBs": >0 \}/);
  t.regex(problems({ ...good(), nodes: [null] }), /nodes\[0\]: must be an object/);
  t.regex(problems({ ...good(), distances: [[10, 20], [20]] }), /distances\[1\]: has 1 entries, expected 2/);
  t.regex(problems({ ...good(), cpus: '2' }), /^ {2}- cpus: must be a whole number of CPUs/m);
  t.regex(problems({ ...good(), memroy: '3G' }), /\(top level\): unknown key "memroy"/);
  t.regex(problems(5), /\(top level\): the file must hold a JSON object/);
  t.is(parseTopology({ $schema: '../docs/schemas/topology.schema.json', ...good() }, 'x.json').memoryMiB, 3072);
});

test('the error says what to do', (t) => {
  const err = t_throws(() => parseTopology({ ...good(), memory: 'lots' }, 'x.json'));
  t.is(err.exitCode, 2);
  t.regex(err.hint ?? '', /docs\/topology\.md/);
});

test('hot-plugged nodes: no CPUs, 128 MiB blocks, not every node; HMAT on all nodes or none', (t) => {
  const raw = good() as { nodes: Record<string, unknown>[] };
  raw.nodes[1]!.hotplug = 'pc-dimm';
  raw.nodes[1]!.mem = '1000M';
  raw.nodes[0]!.hmat = { latencyNs: 80, bandwidthMBs: 20000 };
  let msg = problems({ ...raw, memory: '3048M' });
  t.regex(msg, /node 1 is hot-plugged: its memory must be a multiple of 128 MiB/);
  t.regex(msg, /give "hmat" figures for every node or for none/);
  raw.nodes[1]!.hotplug = 'dimm';
  msg = problems(raw);
  t.regex(msg, /nodes\[1\]\.hotplug: must be "pc-dimm" or "virtio-mem"/);
});

test('parallel guests: as many as fit in memory and CPUs; an explicit --jobs that does not fit is refused', async (t) => {
  const { parallelism } = await import('../../src/matrix/matrix.js');
  t.is(parallelism([3456, 3456, 3456], 24000, 2), 2);
  t.is(parallelism([3456, 3456, 3456], 8000, 8), 2);
  t.is(parallelism([3456], 24000, 2), 1);
  t.is(parallelism([3456, 3456], 24000, 2, 1), 1);
  const err = t.throws(() => parallelism([3456, 3456, 3456], 8000, 8, 3));
  t.regex(err.message, /--jobs 3: 3 guests at once need up to 10\.1 GiB, the host has 7\.8 GiB available/);
  t.throws(() => parallelism([30000], 8000, 2), { message: /one guest needs 29\.3 GiB/ });
});

test('hot-plug CPU slots: numbered after the boot CPUs, each on one node, none on hot-plugged memory', (t) => {
  const slot = good();
  slot.nodes[1] = { ...slot.nodes[1]!, hotplugCpus: '2' } as (typeof slot.nodes)[1];
  t.deepEqual(parseTopology(slot, 'slot.json').nodes[1]!.hotplugCpus, [2]);
  const clash = good();
  clash.nodes[1] = { ...clash.nodes[1]!, hotplugCpus: '1' } as (typeof clash.nodes)[1];
  t.regex(problems(clash), /CPU 1 is given to both node 0 and node 1/);
  t.regex(problems(clash), /hot-plug CPU 1: number the slots after the boot CPUs, 2-2/);
  const gap = good();
  gap.nodes[1] = { ...gap.nodes[1]!, hotplugCpus: '3' } as (typeof gap.nodes)[1];
  t.regex(problems(gap), /hot-plug CPU 3: number the slots after the boot CPUs, 2-2/);
});
