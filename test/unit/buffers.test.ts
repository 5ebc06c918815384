import { readFileSync } from 'node:fs';
import test from 'ava';
import { projectPath } from '../../src/adapters/project.js';
import { evaluateInvariant } from '../../src/invariants/evaluate.js';
import { buffersOnP } from '../../src/invariants/families/buffers.js';
import { parseKernelState } from '../../src/invariants/kernel-state.js';
import { nodeRoles, type KernelProfile } from '../../src/invariants/profile.js';
import type { ProbeContext } from '../../src/invariants/spec.js';
import { builtinTopology } from '../../src/topology/builtin.js';
import { rawOutputs } from '../helpers/recorded.js';

// Recorded dumps of the NIC's queues (test/fixtures/buffers-on-p/README.md).
const recorded = (name: string) => readFileSync(projectPath('test', 'fixtures', 'buffers-on-p', `${name}.txt`), 'utf8');

function ctx(topologyName: string, profile: KernelProfile): ProbeContext {
  const topology = builtinTopology(topologyName)!;
  const state = parseKernelState(rawOutputs('lean-6.12-private-virtio')['kernel-state']!);
  return { roles: nodeRoles(topology)!, topology, profile, state };
}

test('the stock kernel: every receive buffer its NIC on P owns is on C, so buffers-on-p fails, as the vanilla column expects', (t) => {
  const r = evaluateInvariant(
    buffersOnP,
    { 'buffers-on-p': recorded('private-vhost-stock') },
    ctx('private-vhost', 'vanilla'),
  );
  t.is(r.outcome, 'xfail', r.summary);
  t.regex(
    r.summary,
    /^(\d+) of \1 buffers the devices on node 1 owned lie outside it: dev0 queue 0: \d+ buffer\(s\) outside node 1/,
  );
});

test('the series before its DMA pool (rings on P, patch 0010): its buffers are still on C, a failure where private expects a pass', (t) => {
  const r = evaluateInvariant(
    buffersOnP,
    { 'buffers-on-p': recorded('private-vhost-built-private-node') },
    ctx('private-vhost', 'private'),
  );
  t.is(r.outcome, 'fail', r.summary);
  t.true((r.evidence.outside as number) > 500);
});

test('the series with its DMA pool on P (dma=16M): every buffer it owned, in the rings and the indirect tables, lies in P', (t) => {
  const r = evaluateInvariant(
    buffersOnP,
    { 'buffers-on-p': recorded('private-vhost-built-private-node-dma-pool') },
    ctx('private-vhost', 'private'),
  );
  t.is(r.outcome, 'pass', r.summary);
  t.regex(r.summary, /^all \d+ buffers the devices on node 1 owned lie in its memory \(0x100000000-0x140000000\)$/);
});

test('a dump it cannot follow is an error, never a pass: a chain that loops, a dump that is not JSON', (t) => {
  const raw = recorded('vhost-shared-stock');
  const looped = raw.replace(/^(\[.*\])$/gm, (json) =>
    JSON.stringify(
      (JSON.parse(json) as { descTable: string }[]).map((q) => {
        const b = Buffer.from(q.descTable, 'base64');
        for (let i = 0; i + 16 <= b.length; i += 16) {
          b.writeUInt16LE(b.readUInt16LE(i + 12) | 1, i + 12); // VRING_DESC_F_NEXT on every descriptor,
          b.writeUInt16LE(i / 16, i + 14); // each pointing at itself
        }
        return { ...q, descTable: b.toString('base64') };
      }),
    ),
  );
  const c = ctx('vhost-shared', 'vanilla');
  t.regex(
    evaluateInvariant(buffersOnP, { 'buffers-on-p': looped }, c).summary,
    /probe failed: a descriptor chain loops/,
  );
  const broken = raw.replace(/^\[.*\]$/m, '[{"device":');
  t.is(evaluateInvariant(buffersOnP, { 'buffers-on-p': broken }, c).outcome, 'error');
});

/** The recorded dump with queue 0's used index 16 past its avail index in every sample (see the README). */
function usedAhead(raw: string): string {
  return raw.replace(/^(\[.*\])$/gm, (json) =>
    JSON.stringify(
      (JSON.parse(json) as { queue: number; availRing: string; usedRing: string }[]).map((q) => {
        if (q.queue !== 0) return q;
        const used = Buffer.from(q.usedRing, 'base64');
        used.writeUInt16LE((Buffer.from(q.availRing, 'base64').readUInt16LE(2) + 16) & 0xffff, 2);
        return { ...q, usedRing: used.toString('base64') };
      }),
    ),
  );
}

test('a dump that caught the running backend between its reads (used ahead of avail) judges the latest ring of entries, not an error', (t) => {
  const raw = recorded('private-vhost-built-private-node-dma-pool');
  t.not(usedAhead(raw), raw);
  const r = evaluateInvariant(buffersOnP, { 'buffers-on-p': usedAhead(raw) }, ctx('private-vhost', 'private'));
  t.is(r.outcome, 'pass', r.summary);
  t.true((r.evidence.owned as number) >= 256, JSON.stringify(r.evidence).slice(0, 300));
});
