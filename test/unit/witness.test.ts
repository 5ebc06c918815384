import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { collectCopies, countTaggedPagesInFiles } from '../../src/adapters/guest-memory.js';
import { evaluateInvariant } from '../../src/invariants/evaluate.js';
import {
  guestPagesOn,
  guestPagesSwapped,
  judgeWitness,
  PAGE_TAG_MAGIC,
  type StepWitness,
} from '../../src/invariants/witness.js';
import { backingOf, parseMemfdMappings } from '../../src/qemu/memfd-backings.js';
import { builtinTopology } from '../../src/topology/builtin.js';
import { fixture } from '../helpers/fixtures.js';
import { contextOf, rawOutputs } from '../helpers/recorded.js';
import { invariant } from '../../src/invariants/registry.js';

// The host witness (docs/invariants.md): the guest's placements, read from real step outputs
// (test/fixtures/witness/README.md), held against counts of tagged pages in a node's memfd.
const step = (name: string) => fixture('witness', `${name}.txt`);
/** The output as a probe that puts every page on node 0 would print it: each placement's counts moved to "0". */
const lyingAboutNode1 = (text: string) =>
  text.replace(/"placement":\{([^}]*)\}/g, (_, inner: string) => {
    const total = [...inner.matchAll(/"\d+":(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
    return `"placement":{"0":${total}}`;
  });
const reading = (pages: number): StepWitness[] => [
  { step: 'bind-strict', reading: { node: 1, pages, presentPages: 262144, seconds: 0.4 } },
];

test('the guest says what it ever put on a node: every placement added up, and the chunk an OOM-killed fill was faulting', (t) => {
  // Three 32 MiB chunks on node 1, then the OOM killer during the fourth (32 MiB = 8192 pages).
  t.is(guestPagesOn(step('bind-strict'), 1), 3 * 8192 + 8192);
  t.is(guestPagesOn(step('numa-balancing'), 1), 64, 'moved to node 1 before the scanner moved them back');
  t.is(
    guestPagesOn(step('numa-balancing'), 0),
    64 + 64 + 64,
    'the pages after the move, the control set before and after',
  );
  t.is(guestPagesOn(step('cpuset'), 1), 128, 'the first half, faulted while node 1 was in the cpuset');
  t.is(guestPagesOn('no records\n# exit 0\n', 1), 0);
});

test('the host finding more of a step pages on P than the guest ever said is a contradiction; as many or fewer is not', (t) => {
  const raw = { 'bind-strict': step('bind-strict') };
  t.deepEqual(judgeWitness(reading(24576), raw, 1).contradictions, []);
  t.deepEqual(judgeWitness(reading(32768), raw, 1).contradictions, [], 'the unreported last chunk');
  t.deepEqual(judgeWitness(reading(0), raw, 1).contradictions, [], 'the host cannot see where a page is not');
  const lie = { 'bind-strict': lyingAboutNode1(step('bind-strict')) };
  t.deepEqual(judgeWitness(reading(24576), lie, 1).contradictions, [
    "step bind-strict: the host finds 24576 of its pages in node 1's memfd, the guest says at most 8192 were ever on node 1",
  ]);
  t.deepEqual(judgeWitness(reading(24576), raw, 1).evidence, {
    hostWitness: {
      node: 1,
      steps: [
        {
          step: 'bind-strict',
          guestPagesOnNode: 32768,
          hostPagesOnNode: 24576,
          hostPresentPages: 262144,
          hostSeconds: 0.4,
        },
      ],
    },
  });
});

test("QEMU's memfd mappings: each node's told by its size and share flag, or the host says why it cannot", (t) => {
  // /proc/PID/maps of QEMU 7.2 with private-virtio's two backends (test/fixtures/qemu-args/README.md).
  const mappings = parseMemfdMappings(fixture('qemu-args', 'memfd-maps.txt'));
  t.deepEqual(
    mappings.map((m) => [m.end - m.start, m.shared]),
    [
      [1024 * 2 ** 20, true],
      [2048 * 2 ** 20, false],
    ],
  );
  const pv = builtinTopology('private-virtio')!;
  t.like(backingOf(mappings, pv, 1), { node: 1, shared: true });
  t.like(backingOf(mappings, pv, 0), { node: 0, shared: false });
  const twins = {
    ...pv,
    nodes: pv.nodes.map((n) => ({ ...n, memMiB: 1024, backend: { kind: 'memfd' as const, share: true } })),
  };
  t.deepEqual(backingOf(mappings, twins, 1), {
    unavailable: "node 1's memfd cannot be told from node 0's (both share=on, 1024 MiB): give them different sizes",
  });
  t.deepEqual(backingOf([], pv, 1), {
    unavailable: 'QEMU has 0 memfd mappings of share=on, 1024 MiB, where node 1 needs exactly one',
  });
});

test('a check whose placements the host contradicts is an error, whatever the guest made of them; one the host bears out keeps its outcome', (t) => {
  const raw = rawOutputs('stock-6.12-private-virtio');
  const ctx = contextOf('stock-6.12-private-virtio', raw);
  const spec = invariant('bind-strict');
  const onP = guestPagesOn(raw['bind-strict']!, 1) - 8192;
  const host: StepWitness[] = [
    { step: 'bind-strict', reading: { node: 1, pages: onP, presentPages: 262144, seconds: 0.4 } },
  ];
  const truthful = evaluateInvariant(spec, raw, ctx, host);
  t.is(truthful.outcome, evaluateInvariant(spec, raw, ctx).outcome);
  t.like(truthful.evidence.hostWitness, { node: 1 });
  const lied = evaluateInvariant(spec, { ...raw, 'bind-strict': lyingAboutNode1(raw['bind-strict']!) }, ctx, host);
  t.is(lied.outcome, 'error');
  t.regex(
    lied.summary,
    /^the host contradicts the guest: step bind-strict: the host finds \d+ of its pages in node 1's memfd/,
  );
  t.is(
    evaluateInvariant(spec, raw, ctx, [{ step: 'bind-strict', unavailable: 'why' }]).outcome,
    truthful.outcome,
    'no reading: the guest is not contradicted, and the evidence says why',
  );
});

// reclaim-user's step output (test/fixtures/reclaim-user/README.md): v1 swaps out the owner's bound (A) and moved
// (B) pages under another task's pressure, besides the 1024 it pages out itself (E); v2 only those. The owner is
// pid 85 in both; the fill that presses P says nothing of swap.
const reclaimStep = (name: string) => fixture('reclaim-user', `${name}.txt`);
const swapReading = (byPid: Record<string, number>): StepWitness[] => [
  {
    step: 'reclaim-user',
    reading: { node: 1, pages: 0, presentPages: 262144, seconds: 0.1 },
    swap: { pages: Object.values(byPid).reduce((a, b) => a + b, 0), byPid, seconds: 0.2 },
  },
];

test('the guest says how many of its pages were ever swapped out: each process its highest count per set, added up', (t) => {
  t.deepEqual(guestPagesSwapped(reclaimStep('series-v1')), new Map([[85, 4096 + 4096 + 1024]]));
  t.deepEqual(guestPagesSwapped(reclaimStep('series-0001-0037')), new Map([[85, 1024]]));
  t.deepEqual(guestPagesSwapped('no records\n# exit 0\n'), new Map());
  // Two processes print "swapped" under the same key: each counts (swap-ra's A and B, each arm its own pid).
  const twoTasks = ['A', 'B']
    .map(
      (role, i) =>
        `{"probe":"swap-ra","call":"paged-out","uid":1000,"pid":${40 + i},"role":"${role}","pages":64,"swapped":64}`,
    )
    .join('\n');
  t.deepEqual(
    guestPagesSwapped(twoTasks),
    new Map([
      [40, 64],
      [41, 64],
    ]),
  );
});

test("the host finding more of a process's pages in the swap disk than it ever showed swapped out is a contradiction", (t) => {
  const raw = { 'reclaim-user': reclaimStep('series-0001-0037') };
  // The fill (another pid) may swap what it likes: it says nothing of swap.
  t.deepEqual(judgeWitness(swapReading({ 85: 1024, 120: 5000 }), raw, 1).contradictions, []);
  // What v1 would look like behind v2's report: A's pages swapped out and back before the owner looked.
  t.deepEqual(judgeWitness(swapReading({ 85: 1024 + 4096 }), raw, 1).contradictions, [
    "step reclaim-user: the host finds 5120 pages of process 85 in the guest's swap disk, the guest never showed more than 1024 swapped out",
  ]);
  t.like(judgeWitness(swapReading({ 85: 1024, 120: 5000 }), raw, 1).evidence.hostWitness, {
    steps: [
      {
        step: 'reclaim-user',
        guestPagesSwapped: 1024,
        hostPagesInSwap: 1024,
        hostPagesInSwapAll: 6024,
        hostSwapSeconds: 0.2,
      },
    ],
  });
  const unread: StepWitness[] = [{ step: 'reclaim-user', unavailable: 'why', swapUnavailable: 'reading failed' }];
  t.deepEqual(judgeWitness(unread, raw, 1).contradictions, []);
  t.like(judgeWitness(unread, raw, 1).evidence.hostWitness, { steps: [{ swapUnavailable: 'reading failed' }] });
});

test("the host counts a step's tagged pages in a disk image: each page once, only at page boundaries, only the step's tag", async (t) => {
  // Pages as guest/probe/probe.c touch() writes them (magic, nonce, pid, serial), at 4 KiB-aligned offsets as in a
  // qcow2 data cluster; one page written twice (swapped out again), one of another step, one tag off a boundary.
  const page = (nonce: bigint, pid: number, serial: number) => {
    const b = Buffer.alloc(4096, 0x5a);
    b.write(PAGE_TAG_MAGIC, 0, 'latin1');
    b.writeBigUInt64LE(nonce, 8);
    b.writeUInt32LE(pid, 16);
    b.writeUInt32LE(serial, 20);
    return b;
  };
  const mine = 0x1234_5678_9abc_def0n;
  const misaligned = Buffer.concat([Buffer.alloc(512), page(mine, 7, 99).subarray(0, 3584)]);
  const pages = [page(mine, 7, 1), page(mine, 7, 2), page(mine, 7, 1), page(mine + 1n, 7, 3), misaligned];
  // After a first read's worth (1 MiB) of zeroes, so that pages past the first read count; a tagged piece of a page at
  // the end is no page.
  const image = Buffer.concat([Buffer.alloc(1 << 20), ...pages, page(mine, 8, 1).subarray(0, 100)]);
  const d = await mkdtemp(join(tmpdir(), 'numacage-disk-'));
  try {
    await writeFile(join(d, 'scratch0.qcow2'), image);
    t.like(await countTaggedPagesInFiles([join(d, 'scratch0.qcow2')], mine), { pages: 2, byPid: { 7: 2 } });
    await t.throwsAsync(countTaggedPagesInFiles([join(d, 'none.qcow2')], mine), { code: 'ENOENT' });
  } finally {
    await rm(d, { recursive: true });
  }
});

test("the host counts a step's pages whose tag lies inside a page, not at its start: each page once, only whole tags, only the step's", (t) => {
  // Three pages of P as a zspage holds them: compressed objects one after another, each starting with a
  // length byte and then its page's first bytes as literals (lzo-rle, lz4), the tag with its pid and
  // serial among them. Two objects lie inside pages, one is the same page compressed again, one is
  // another step's, and the last is cut by the end of the memory read; a tag at a page's start is that
  // page itself (the page witness counts it), not a copy.
  const object = (nonce: bigint, pid: number, serial: number) => {
    const b = Buffer.alloc(1 + 24 + 40, 0x11);
    b.write(PAGE_TAG_MAGIC, 1, 'latin1');
    b.writeBigUInt64LE(nonce, 9);
    b.writeUInt32LE(pid, 17);
    b.writeUInt32LE(serial, 21);
    return b;
  };
  const mine = 0x0fed_cba9_8765_4321n;
  const memory = Buffer.alloc(3 * 4096);
  object(mine, 9, 1).copy(memory, 1000);
  object(mine, 9, 5).copy(memory, 4095);
  object(mine, 9, 2).copy(memory, 5000);
  object(mine, 9, 1).copy(memory, 6000);
  object(mine + 1n, 9, 3).copy(memory, 7000);
  object(mine, 9, 4).copy(memory, memory.length - 20);
  const tag = Buffer.alloc(16);
  tag.write(PAGE_TAG_MAGIC, 0, 'latin1');
  tag.writeBigUInt64LE(mine, 8);
  const found = new Set<string>();
  collectCopies(memory, tag, found);
  t.deepEqual([...found].sort(), ['9:1', '9:2']);
});
