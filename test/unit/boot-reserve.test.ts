import { readFileSync } from 'node:fs';
import test from 'ava';
import { projectPath } from '../../src/adapters/project.js';
import { evaluateInvariant } from '../../src/invariants/evaluate.js';
import { bootReserve, crashKernelMiB } from '../../src/invariants/families/boot-reserve.js';
import type { ProbeContext } from '../../src/invariants/spec.js';
import { contextOf, seriesTopologyContext } from '../helpers/recorded.js';

// test/fixtures/boot-reserve: both steps' output on patches/private-node/reserve.topology.json and, for
// the names ending in -user, reserve-user.topology.json (C = 0 below 4 GiB, P = 1 at [4G, 6.25G)),
// from the stock kernel, v1, 0001-0037 and 0001-0041 (README.md there).
const recording = (name: string, step: string) =>
  readFileSync(projectPath('test', 'fixtures', 'boot-reserve', `${name}.${step}.txt`), 'utf8');

function judge(name: string, profile: ProbeContext['profile'], edit: (text: string) => string = (x) => x) {
  const read = (step: string) => recording(name, step);
  const raw = { 'boot-reserve': edit(read('boot-reserve')), 'boot-reserve-ranges': read('boot-reserve-ranges') };
  const topology = name.endsWith('-user') ? 'reserve-user' : 'reserve';
  return evaluateInvariant(bootReserve, raw, seriesTopologyContext(topology, 'patched-6.12-private', profile));
}

const ON_P_UNFIXED = [
  'reserved (64 MiB at 0x102000000) lies on node 1',
  'crash kernel (64 MiB at 0x18b000000) lies on node 1',
  'numa1 (16 MiB at 0x101000000) lies on node 1',
  'pernuma1 (16 MiB at 0x100000000) lies on node 1',
];

test('0001-0041: every area where C has room, none on P; hugetlb_cma finds no aligned GiB on C', (t) => {
  const r = judge('series-0001-0041', 'private');
  t.is(r.outcome, 'pass', r.summary);
  t.is(
    r.summary,
    'reserved (64 MiB at 0x7ae00000), crash kernel (64 MiB at 0x76000000), pernuma0 (16 MiB at 0x7ee00000) off node 1',
  );
});

test('0001-0041 with ",user": P keeps its own hugetlb_cma area, nothing else', (t) => {
  const r = judge('series-0001-0041-user', 'private-user');
  t.is(r.outcome, 'pass', r.summary);
  t.regex(r.summary, /off node 1; hugetlb1 on it, allowed with ",user"$/);
  // The same area without ",user" is P's pool growing where it may not.
  const judgedPrivate = judge('series-0001-0041-user', 'private');
  t.deepEqual(judgedPrivate.problems, [
    'hugetlb1 (1024 MiB at 0x100000000) lies on node 1, whose pool may not grow without ",user"',
  ]);
});

test('v1 and 0001-0037: memblock falls back to P for the areas that name no node, and the per-node ones take it as any node', (t) => {
  for (const name of ['series-v1', 'series-0001-0037']) {
    const r = judge(name, 'private');
    t.is(r.outcome, 'fail', r.summary);
    t.deepEqual(r.problems, [
      ...ON_P_UNFIXED,
      'hugetlb1 (1024 MiB at 0x140000000) lies on node 1, whose pool may not grow without ",user"',
    ]);
  }
  t.deepEqual(judge('series-0001-0037-user', 'private-user').problems, ON_P_UNFIXED);
});

test('the stock kernel knows crashkernel= alone: its crash kernel on P, the CMA words left out', (t) => {
  const r = judge('stock-6.12', 'vanilla');
  t.is(r.outcome, 'xfail', r.summary);
  t.deepEqual(r.problems, ['crash kernel (64 MiB at 0x18b000000) lies on node 1']);
  t.deepEqual(r.evidence.ignored, ['cma', 'cma_pernuma', 'numa_cma', 'hugetlb_cma']);
});

// Constructed from the 0001-0041 recording: what a kernel that keeps P clean by dropping the reservations prints.
test('a kernel that drops an area rather than place it off P fails', (t) => {
  const r = judge('series-0001-0041', 'private', (text) =>
    text.replace(/^reserved .*\n/m, '').replace(/^ *76000000-79ffffff : Crash kernel\n/m, ''),
  );
  t.is(r.outcome, 'fail', r.summary);
  t.deepEqual(r.problems, [
    'cma=64M: no reserved area, though node 0 has room for it (the kernel dropped it rather than place it)',
    'crashkernel=64M,high: no crash kernel area, though node 0 has room for it (the kernel dropped it rather than place it)',
  ]);
});

// Constructed: 0001-0037's recording with numa1's debugfs line gone, as a kernel without that area's name would show it.
test("CMA pages in P's zones that no named area explains fail", (t) => {
  const r = judge('series-0001-0037-user', 'private-user', (text) => text.replace(/^numa1 .*\n/m, ''));
  t.true(
    r.problems.includes(
      "node 1's zones count 286720 CMA pages, the areas named on it 282624: an area debugfs does not show",
    ),
  );
});

test('a kernel that knows none of the words is a skip, as is a topology that asks for none', (t) => {
  // Constructed: the stock recording with crashkernel= also unknown, as a kernel without CONFIG_CRASH_RESERVE prints it.
  const r = judge('stock-6.12', 'vanilla', (text) =>
    text.replace('hugetlb_cma=1G", will', 'hugetlb_cma=1G crashkernel=64M,high", will'),
  );
  t.is(r.outcome, 'skip', r.summary);
  const ctx = contextOf('patched-6.12-private');
  t.regex(
    bootReserve.unsupported!(ctx.topology, ctx.roles)!,
    /^topology private-virtio asks for no boot-time reservation/,
  );
});

test("crashkernel= is taken out of the nodes' MemTotal: its size, and the low part of a high one", (t) => {
  t.is(crashKernelMiB(['crashkernel=64M,high']), 64 + 256);
  t.is(crashKernelMiB(['crashkernel=64M,high', 'crashkernel=128M,low']), 64 + 128);
  t.is(crashKernelMiB(['crashkernel=64M@16M']), 64);
  t.is(crashKernelMiB(['crashkernel=512M-2G:64M,2G-:256M']), 256);
  t.is(crashKernelMiB(['hugepages=8']), 0);
});

// Constructed from the 0001-0041 recording: a step cut short, and a guest whose memory blocks QEMU's map contradicts.
test('a broken step or a guest whose ranges the host contradicts is an error, never a pass', (t) => {
  const cut = judge('series-0001-0041', 'private', (text) => text.slice(0, text.indexOf('### zone-cma')));
  t.is(cut.outcome, 'error', cut.summary);
  const ranges = recording('series-0001-0041', 'boot-reserve-ranges').replace('block 49 online', 'block 50 online');
  const raw = { 'boot-reserve': recording('series-0001-0041', 'boot-reserve'), 'boot-reserve-ranges': ranges };
  const r = evaluateInvariant(bootReserve, raw, seriesTopologyContext('reserve', 'patched-6.12-private', 'private'));
  t.is(r.outcome, 'error', r.summary);
  t.regex(r.summary, /disagree with QEMU's map of mem1/);
});
