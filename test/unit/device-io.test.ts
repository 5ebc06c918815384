import { readFileSync } from 'node:fs';
import test from 'ava';
import { projectPath } from '../../src/adapters/project.js';
import { evaluateInvariant } from '../../src/invariants/evaluate.js';
import { deviceIo } from '../../src/invariants/families/device-io.js';
import { virtioRings } from '../../src/invariants/families/devices.js';
import { expectationOf } from '../../src/invariants/spec.js';
import { nodeRoles } from '../../src/invariants/profile.js';
import type { ProbeContext } from '../../src/invariants/spec.js';
import { parseKernelState } from '../../src/invariants/kernel-state.js';
import { deviceNodeCommand } from '../../src/guest/device-backends.js';
import { parseTestpmdStats, takeReplies } from '../../src/parsers/testpmd.js';
import { builtinTopology } from '../../src/topology/builtin.js';
import { rawOutputs } from '../helpers/recorded.js';

// Recorded runs of the lean kernel on the three vhost-user topologies (test/fixtures/device-io/README.md).
const recorded = (name: string) => readFileSync(projectPath('test', 'fixtures', 'device-io', `${name}.txt`), 'utf8');

function ctxOn(topologyName: string): ProbeContext {
  const topology = builtinTopology(topologyName)!;
  const state = parseKernelState(rawOutputs('lean-6.12-private-virtio')['kernel-state']!);
  return { roles: nodeRoles(topology)!, topology, profile: 'vanilla', state };
}

test("testpmd's counters: the last whole block of its --stats-period output, escape codes and all", (t) => {
  const log = readFileSync(projectPath('test', 'fixtures', 'device-io', 'vhost-shared-backend.log'), 'utf8');
  const stats = parseTestpmdStats(log)!;
  t.is(stats.rxPackets, 4102);
  t.is(stats.txPackets, 4102);
  t.is(stats.rxMissed, 0);
  t.true(stats.txBytes > 4096 * 60);
  t.is(parseTestpmdStats('EAL: Detected 2 lcore(s)\n'), undefined, 'nothing printed yet');
  // A block cut short (testpmd killed mid-print) is not read: the one before it is.
  const last = log.lastIndexOf('NIC statistics for port 0');
  t.deepEqual(parseTestpmdStats(log.slice(0, log.indexOf('TX-packets', last))), parseTestpmdStats(log.slice(0, last)));
});

test('device-io on the control (every node MAP_SHARED): all 4096 echoes intact, and a pass is what it expects', (t) => {
  const r = evaluateInvariant(deviceIo, { 'device-io': recorded('vhost-shared') }, ctxOn('vhost-shared'));
  t.is(r.outcome, 'pass', r.summary);
  t.regex(r.summary, /^4096 frames of 60-1514 bytes echoed intact by the host backend of dev0 on node 1/);
  t.deepEqual((r.evidence.backend as { rx: number }).rx >= 4096, true);
});

for (const name of ['private-vhost', 'private-vhost-ram'])
  test(`device-io on ${name}, a vanilla kernel: the backend never sees the rings on C, so it fails, as the catalogue expects`, (t) => {
    const r = evaluateInvariant(deviceIo, { 'device-io': recorded(name) }, ctxOn(name));
    t.is(r.outcome, 'xfail', r.summary);
    t.regex(r.summary, /^0 of 4096 frames came back intact: 4096 of 4096 frames never came back/);
    t.true(r.problems.some((p) => /the backend took no frame from the guest/.test(p)));
    // Asked for private, the same output is a failure: the design wants it to work.
    t.is(
      evaluateInvariant(deviceIo, { 'device-io': recorded(name) }, { ...ctxOn(name), profile: 'private' }).outcome,
      'fail',
    );
  });

test("a guest that claims echoes the backend never sent is an error, not a pass (the control's record edited to the seed's counters)", (t) => {
  const lying = recorded('vhost-shared').replace(
    /### after\n.*\n/,
    `### after\n${recorded('private-vhost').split('### after\n')[1]!.split('\n')[0]}\n`,
  );
  const r = evaluateInvariant(deviceIo, { 'device-io': lying }, ctxOn('vhost-shared'));
  t.is(r.outcome, 'error');
  t.regex(r.summary, /the host contradicts the guest: it counts 4096 echoes, the backend gave back -?\d+ frames/);
});

test('device-io is a skip on a topology without a device that has a host backend', (t) => {
  const topology = builtinTopology('private-virtio')!;
  t.regex(deviceIo.unsupported!(topology, nodeRoles(topology)!) ?? '', /places no device with a host backend/);
  t.is(deviceIo.unsupported!(builtinTopology('private-vhost')!, nodeRoles(topology)!), undefined);
});

test('the guest moves a pcie.0 device to its node before its driver binds again; pxb devices need nothing', (t) => {
  t.is(deviceNodeCommand(builtinTopology('private-virtio')!), undefined);
  t.is(
    deviceNodeCommand(builtinTopology('private-vhost')!),
    [
      'set -e',
      'drv=$(basename "$(readlink /sys/bus/pci/devices/0000:00:10.0/driver)")',
      'echo 0000:00:10.0 > /sys/bus/pci/drivers/$drv/unbind',
      'echo 1 > /sys/bus/pci/devices/0000:00:10.0/numa_node',
      'echo 0000:00:10.0 > /sys/bus/pci/drivers/$drv/bind',
      'test "$(cat /sys/bus/pci/devices/0000:00:10.0/numa_node)" = 1',
    ].join('\n'),
  );
});

test('testpmd at its prompt, read in chunks that cut its replies anywhere: each reply once, in order, the counters in two', (t) => {
  const log = readFileSync(projectPath('test', 'fixtures', 'device-io', 'vhost-shared-backend-prompt.log'), 'utf8');
  const whole = takeReplies(log).replies;
  // Start-up, then device-io's start, counters, counters, stop, and buffers-on-p's start and stop.
  t.is(whole.length, 7);
  let rest = '';
  const seen = [];
  for (let i = 0; i < log.length; i += 7) {
    const r = takeReplies(rest + log.slice(i, i + 7));
    seen.push(...r.replies);
    rest = r.rest;
  }
  t.deepEqual(seen, whole);
  const [before, after] = whole.map(parseTestpmdStats).filter((s) => s !== undefined);
  t.true(after!.txPackets - before!.txPackets >= 4096, `${before!.txPackets} → ${after!.txPackets}`);
  t.is(takeReplies('testpmd> show port st').rest, 'show port st', 'a reply still coming is kept');
});

test('a probe that prints no net-echo record (the control output with its record taken out) is an error, never a pass', (t) => {
  const hollow = recorded('vhost-shared').replace(/^\{"probe":"net-echo".*\n/m, '');
  const r = evaluateInvariant(deviceIo, { 'device-io': hollow }, ctxOn('vhost-shared'));
  t.is(r.outcome, 'error');
  t.regex(r.summary, /probe failed: the probe printed 0 "net-echo done" record/);
});

test('virtio-rings: a NIC with ACCESS_PLATFORM gets its rings on its node on any kernel, so every column expects a pass there', (t) => {
  const raw = readFileSync(
    projectPath('test', 'fixtures', 'device-io', 'private-vhost-stock-virtio-rings.txt'),
    'utf8',
  );
  const r = evaluateInvariant(virtioRings, { 'virtio-rings': raw }, ctxOn('private-vhost'));
  t.is(r.outcome, 'pass', r.summary);
  t.is(expectationOf(virtioRings, ctxOn('private-vhost')), 'pass');
  // QEMU's own NIC does not use the DMA API: a vanilla kernel's rings are on C.
  t.is(expectationOf(virtioRings, ctxOn('private-virtio')), 'fail');
});
