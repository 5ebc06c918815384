import { readFileSync } from 'node:fs';
import test from 'ava';
import { projectPath } from '../../src/adapters/project.js';
import { evaluateInvariant } from '../../src/invariants/evaluate.js';
import { cmaRings } from '../../src/invariants/families/cma-rings.js';
import type { ProbeContext } from '../../src/invariants/spec.js';
import { contextOf, seriesTopologyContext } from '../helpers/recorded.js';

// test/fixtures/cma-rings: both steps' output on patches/private-node/cma-user.topology.json (C = 0,
// P = 1 with its own 1 GiB CMA area, a virtio-net on P) from v1, 0001-0043 and 0001-0044 (README.md there).
const recording = (name: string, step: string) =>
  readFileSync(projectPath('test', 'fixtures', 'cma-rings', `${name}.${step}.txt`), 'utf8');

function judge(name: string, profile: ProbeContext['profile'] = 'private-user', edit = (text: string) => text) {
  const raw = {
    'cma-rings-queues': recording(name, 'cma-rings-queues'),
    'cma-rings': edit(recording(name, 'cma-rings')),
  };
  return evaluateInvariant(cmaRings, raw, seriesTopologyContext('cma-user', 'patched-6.12-private-user', profile));
}

const IN_AREA = [
  '9 of the 9 rings of the devices on node 1 lie in its CMA area (0x100000000-0x140000000): dev0 queue 0 desc 0x13fc00000, dev0 queue 0 avail 0x13fc01000, dev0 queue 0 used 0x13fc01240, dev0 queue 1 desc 0x13fc02000, dev0 queue 1 avail 0x13fc03000, dev0 queue 1 used 0x13fc03240, dev0 queue 2 desc 0x13fc3e000, dev0 queue 2 avail 0x13fc3e400, dev0 queue 2 used 0x13fc3e4c0',
  'with nothing bound to node 1, a claim of its whole CMA area (262144 pages) got 0 (the write ended with status 1)',
];

test('v1 and 0001-0043: every ring of the NIC on P lies in its CMA area, and the area cannot be claimed whole', (t) => {
  for (const name of ['series-v1', 'series-0001-0043']) {
    const r = judge(name);
    t.is(r.outcome, 'fail', r.summary);
    t.deepEqual(r.problems, IN_AREA, name);
  }
});

test('0001-0044: the rings lie outside the area, which is claimed whole and given back', (t) => {
  const r = judge('series-0001-0044');
  t.is(r.outcome, 'pass', r.summary);
  t.is(
    r.summary,
    'the 9 rings of the devices on node 1 lie outside its CMA area (0x100000000-0x140000000), and the whole area (262144 pages) was claimed and given back',
  );
});

test('a claim that fails with every ring outside the area is a fail of its own, named as the claim', (t) => {
  const r = judge('series-0001-0044', 'private-user', (text) =>
    text.replace('# exit 0\nused 262144', 'sh: echo: write error: Device or resource busy\n# exit 1\nused 0'),
  );
  t.is(r.outcome, 'fail', r.summary);
  t.deepEqual(r.problems, [IN_AREA[1]]);
});

test('an area already in use before the claim, or queues that are not JSON, is an error, never a pass', (t) => {
  // The script stops after the area when its pages are handed out already: no claim section.
  const inUse = judge('series-0001-0044', 'private-user', (text) => text.replace(/used 0\n[\s\S]*$/, 'used 512\n'));
  t.is(inUse.outcome, 'error', inUse.summary);
  t.regex(inUse.summary, /node 1's CMA area had 512 pages handed out before the claim/);
  const raw = { 'cma-rings-queues': 'qmp: not JSON\n', 'cma-rings': recording('series-0001-0044', 'cma-rings') };
  const ctx = seriesTopologyContext('cma-user', 'patched-6.12-private-user', 'private-user');
  t.is(evaluateInvariant(cmaRings, raw, ctx).outcome, 'error');
});

test('no CMA in debugfs is a skip; the columns other than ,user judge nothing', (t) => {
  const raw = { 'cma-rings-queues': recording('series-0001-0044', 'cma-rings-queues'), 'cma-rings': '### none\n' };
  const ctx = seriesTopologyContext('cma-user', 'patched-6.12-private-user', 'private-user');
  t.is(evaluateInvariant(cmaRings, raw, ctx).outcome, 'skip');
  t.is(judge('series-v1', 'private').outcome, 'skip');
  t.is(judge('series-v1', 'vanilla').outcome, 'skip');
});

test('a topology without a device on P or without a CMA area of its own cannot test it: a skip that says why', (t) => {
  const plain = contextOf('patched-6.12-private-user');
  t.is(
    cmaRings.unsupported!(plain.topology, plain.roles),
    'topology private-virtio gives node 1 no CMA area of its own ("hugetlb_cma=1:1G" in its cmdline)',
  );
  const cma = seriesTopologyContext('cma-user', 'patched-6.12-private-user', 'private-user');
  t.is(
    cmaRings.unsupported!({ ...cma.topology, devices: [] }, cma.roles),
    'topology cma-user places no virtio device on node 1',
  );
});
