import type { Topology } from '../../model/topology.js';
import type { PortStats } from '../../parsers/testpmd.js';
import { backendDevicesOnP, withNicServed } from './devices.js';
import { ProbeError } from '../errors.js';
import { num, parseRecords, parseSections, recordsOf, section } from '../records.js';
import { GUEST_PROBE_PATH } from '../shell.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';

const FRAMES = 4096;
/** net-echo gives up after this long without an echo. */
const STALL_SECONDS = 5;

/** Every node's memory is a MAP_SHARED memfd: QEMU hands the backend all of the guest's memory. */
const sharesAllMemory = (t: Topology) => t.nodes.every((n) => n.backend.kind === 'memfd' && n.backend.share);

interface EchoResult {
  count: number;
  sent: number;
  echoed: number;
  corrupt: number;
  lost: number;
  duplicate: number;
  stray: number;
  firstCorruptSeq: number;
  firstCorruptOffset: number;
  ms: number;
}

interface DeviceIoObs {
  device: string;
  iface: string;
  echo: EchoResult;
  /** The backend's counters across the traffic: frames it took from the guest (rx) and gave back (tx). */
  backend: { rx: number; tx: number; rxMissed: number; before: PortStats; after: PortStats };
}

function statsSection(name: string, stats: PortStats | undefined): string {
  return `### ${name}\n${stats ? JSON.stringify(stats) : 'none'}\n`;
}

function readStats(text: string, name: string): PortStats {
  if (text.trim() === 'none') throw new ProbeError(`the backend had printed no counters ${name} the traffic`);
  try {
    return JSON.parse(text) as PortStats;
  } catch {
    throw new ProbeError(`the backend's counters ${name} the traffic are not JSON`);
  }
}

/**
 * A host device that shares only P works, functionally: through the
 * vhost-user NIC on P, served by DPDK testpmd outside QEMU, the guest sends
 * 4096 numbered frames of 60-1514 bytes (guest/probe/net-echo.c) and checks
 * every echo byte for byte. The backend's own counters are held against the
 * guest's account. Where every node is a MAP_SHARED memfd (the control) the
 * device sees all memory and must work on any kernel.
 */
export const deviceIo: InvariantSpec<DeviceIoObs> = {
  id: 'device-io',
  title: 'a host device that shares only P works (vhost-user NIC, frames echoed intact)',
  expect: expect('fail', 'fail', 'pass', 'pass'),
  expectOn: (t) => (sharesAllMemory(t) ? 'pass' : undefined),
  disturbs: false,
  unsupported: (t, roles) =>
    backendDevicesOnP(t, roles.p).length
      ? undefined
      : `topology ${t.name} places no device with a host backend (vhost-user-net) on node ${roles.p}`,
  steps: () => [
    {
      name: 'device-io',
      runsProbe: true,
      async run(host, { roles: { p }, topology }) {
        const dev = backendDevicesOnP(topology, p)[0]!;
        const [iface, before, echo, after] = await withNicServed(host, dev, async (iface) => {
          const before = await host.backendStats(dev.id);
          const echo = await host.exec(`${GUEST_PROBE_PATH} net-echo ${iface} ${FRAMES} ${STALL_SECONDS}`, {
            timeoutMs: (STALL_SECONDS + 120) * 1000,
          });
          // Read once the guest has its echoes: every frame the backend took and gave back is counted.
          return [iface, before, echo, await host.backendStats(dev.id)] as const;
        });
        return `### device\n${dev.id} ${iface}\n${statsSection('before', before)}### echo\n${echo.stdout}${statsSection('after', after)}`;
      },
    },
  ],
  parse(raw) {
    const s = parseSections(rawOf(raw, 'device-io'));
    const [device, iface] = section(s, 'device', 'device-io').trim().split(' ') as [string, string];
    const r = recordsOf(parseRecords(section(s, 'echo', 'device-io')), 'net-echo', 'done')[0]!;
    const keys: (keyof EchoResult)[] = [
      'count',
      'sent',
      'echoed',
      'corrupt',
      'lost',
      'duplicate',
      'stray',
      'firstCorruptSeq',
      'firstCorruptOffset',
      'ms',
    ];
    const echo = Object.fromEntries(keys.map((k) => [k, num(r, k)])) as unknown as EchoResult;
    const before = readStats(section(s, 'before', 'device-io'), 'before');
    const after = readStats(section(s, 'after', 'device-io'), 'after');
    const backend = {
      rx: after.rxPackets - before.rxPackets,
      tx: after.txPackets - before.txPackets,
      rxMissed: after.rxMissed - before.rxMissed,
      before,
      after,
    };
    // Every echo the guest counts passed through the backend: fewer sent back is a guest that lies.
    if (backend.tx < echo.echoed + echo.corrupt)
      throw new ProbeError(
        `the host contradicts the guest: it counts ${echo.echoed + echo.corrupt} echoes, the backend gave back ${backend.tx} frames`,
      );
    return { device, iface, echo, backend };
  },
  decide(o, { roles: { p } }) {
    const { echo, backend } = o;
    const problems: string[] = [];
    if (echo.lost || echo.sent < echo.count)
      problems.push(
        `${echo.count - echo.echoed - echo.corrupt} of ${echo.count} frames never came back (${echo.sent} sent before the NIC stalled for ${STALL_SECONDS} s)`,
      );
    if (echo.corrupt)
      problems.push(
        `${echo.corrupt} echoes differ from what was sent (first: frame ${echo.firstCorruptSeq} at byte ${echo.firstCorruptOffset})`,
      );
    if (backend.rx === 0)
      problems.push(
        `the backend took no frame from the guest: the NIC's rings or buffers lie in memory QEMU does not share with it`,
      );
    const passed = problems.length === 0;
    const counters = `the backend took ${backend.rx} frames and gave back ${backend.tx}`;
    return {
      passed,
      summary: passed
        ? `${echo.count} frames of 60-1514 bytes echoed intact by the host backend of ${o.device} on node ${p} in ${echo.ms} ms (${counters})`
        : `${echo.echoed} of ${echo.count} frames came back intact: ${problems[0]} (${counters})`,
      problems,
      evidence: { node: p, device: o.device, iface: o.iface, echo, backend },
    };
  },
};
