import type { Topology } from '../../model/topology.js';
import { placedDeviceId } from '../../qemu/args.js';
import { backendMac, deviceKind } from '../../topology/device-kinds.js';
import { parseNodeMeminfo } from '../../parsers/sysfs.js';
import type { NodeRoles } from '../profile.js';
import { parseSections, section } from '../records.js';
import { nodeFile } from '../shell.js';
import { expect, rawOf, type HostAccess, type InvariantSpec } from '../spec.js';
import { ProbeError } from '../errors.js';
import { kernelCounters, kernelMemoryProblems, type KernelCounters } from './kernel-memory.js';

async function guestText(host: HostAccess, command: string): Promise<string> {
  const r = await host.exec(command);
  if (r.exitCode !== 0)
    throw new ProbeError(`${command} exited ${r.exitCode ?? r.signal ?? 'on a timeout'}: ${r.stderr.trim()}`);
  return r.stdout;
}

const TRAFFIC_BYTES = 32 << 20;

interface TrafficObs {
  bytes: number;
  seconds: number;
}

function parseTraffic(text: string, bytes: number): TrafficObs {
  const got = (k: string) => Number(new RegExp(`^${k} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text)?.[1] ?? NaN);
  const host = got('host_received');
  const guest = got('guest_received');
  if (host !== bytes || guest !== bytes)
    throw new ProbeError(
      `the traffic did not go through: the host received ${host} and the guest ${guest} of ${bytes} bytes`,
    );
  return { bytes, seconds: got('seconds') };
}

const trafficSection = (t: { hostReceived: number; guestReceived: number; seconds: number }) =>
  `### traffic\nhost_received ${t.hostReceived}\nguest_received ${t.guestReceived}\nseconds ${t.seconds.toFixed(2)}\n`;

const nicOnP = (t: Topology, roles: NodeRoles) =>
  t.devices.some((d) => d.node === roles.p && d.kind === 'virtio-net')
    ? undefined
    : `topology ${t.name} places no virtio-net on node ${roles.p}`;

interface DeviceLocalObs {
  before: KernelCounters;
  after: KernelCounters;
  traffic: TrafficObs;
}

/**
 * 32 MiB each way over a plain TCP stream through the virtio-net on P (not
 * SSH, whose cipher dominates under TCG): P's kernel counters must be zero
 * after it and must not have risen. The device's own rings are the one
 * sanctioned exception, and virtio-rings judges them.
 */
export const deviceLocal: InvariantSpec<DeviceLocalObs> = {
  id: 'device-local',
  title: 'a device on P brings no other kernel memory onto P',
  expect: expect('fail', 'pass', 'pass', 'pass'),
  disturbs: false,
  unsupported: nicOnP,
  steps: () => [
    {
      name: 'device-local',
      async run(host, { roles: { p } }) {
        const meminfo = `cat ${nodeFile(p, 'meminfo')}`;
        const before = await guestText(host, meminfo);
        const traffic = await host.tcpTraffic(TRAFFIC_BYTES);
        return `### before\n${before}${trafficSection(traffic)}### after\n${await guestText(host, meminfo)}`;
      },
    },
  ],
  parse(raw, { roles: { p } }) {
    const s = parseSections(rawOf(raw, 'device-local'));
    const read = (name: string) =>
      kernelCounters(parseNodeMeminfo(section(s, name, 'device-local')), `node ${p} ${name} traffic`);
    return {
      before: read('before'),
      after: read('after'),
      traffic: parseTraffic(section(s, 'traffic', 'device-local'), TRAFFIC_BYTES),
    };
  },
  decide(o, { roles: { p } }) {
    const problems = kernelMemoryProblems(
      p,
      [['after the traffic', o.after]],
      ['across the traffic', o.before, o.after],
    );
    const passed = problems.length === 0;
    const mib = o.traffic.bytes >> 20;
    return {
      passed,
      summary: passed
        ? `after ${mib} MiB each way over the NIC on node ${p}, no kernel memory on it`
        : `after ${mib} MiB each way over the NIC: ${problems[0]}`,
      problems,
      evidence: { node: p, ...o },
    };
  },
};

export interface Range {
  start: number;
  end: number;
}

interface Ring {
  device: string;
  queue: number;
  part: 'desc' | 'avail' | 'used';
  addr: number;
  size: number;
}

interface VirtioRingsObs {
  /** P's guest-physical ranges from its memory blocks, and the same backend's ranges in QEMU's flat memory view. */
  guestRanges: Range[];
  qemuRanges: Range[];
  afterBoot: Ring[];
  afterTraffic: Ring[];
  /** Where the buffers queued in each ring point, per node (evidence). */
  buffers: { device: string; queue: number; addr: number; len: number }[];
  traffic: TrafficObs;
}

/** Sizes of a split virtqueue's parts for `num` entries (virtio 1.x, 2.6). */
const ringSizes = (num: number) => ({ desc: 16 * num, avail: 6 + 2 * num, used: 6 + 8 * num });

export const hex = (n: number) => `0x${n.toString(16)}`;

/** `block_size <hex>` and `block <n> <state>` lines → merged guest-physical ranges of the node's online blocks. Pure. */
function parseMemoryBlocks(text: string): Range[] {
  const size = /^block_size ([0-9a-f]+)$/m.exec(text);
  if (!size) throw new ProbeError('no memory block size');
  const bs = parseInt(size[1]!, 16);
  const blocks = [...text.matchAll(/^block (\d+) (\S+)$/gm)]
    .filter((m) => m[2] === 'online')
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  return mergeRanges(blocks.map((b) => ({ start: b * bs, end: (b + 1) * bs })));
}

/** The ranges QEMU's flat view maps to a memory backend (`info mtree -f` lines ending in ": <id>"). Pure. */
function parseMtreeRanges(text: string, backendId: string): Range[] {
  const re = new RegExp(`^\\s*([0-9a-f]+)-([0-9a-f]+) \\(prio [-\\d]+, ram\\): ${backendId}(?: @[0-9a-f]+)?$`, 'gm');
  return mergeRanges([...text.matchAll(re)].map((m) => ({ start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16) + 1 })));
}

function mergeRanges(ranges: Range[]): Range[] {
  const out: Range[] = [];
  for (const r of [...ranges].sort((a, b) => a.start - b.start)) {
    const last = out.at(-1);
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

export const inside = (ranges: Range[], addr: number, size: number) =>
  ranges.some((r) => addr >= r.start && addr + size <= r.end);

/** "dev0 queue 1" → "desc 0x..., avail 0x..." for the rings that lie outside the ranges. */
function ringsOutside(rings: Ring[], ranges: Range[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of rings.filter((x) => !inside(ranges, x.addr, x.size))) {
    const key = `${r.device} queue ${r.queue}`;
    out.set(key, [out.get(key), `${r.part} ${hex(r.addr)}`].filter(Boolean).join(', '));
  }
  return out;
}

/** P's memory blocks as the guest lists them and QEMU's flat-view lines of P's backend, as `### blocks` and `### qemu-memP` sections. */
export async function nodeRangesText(host: HostAccess, p: number): Promise<string> {
  const blocks = await guestText(
    host,
    `echo "block_size $(cat /sys/devices/system/memory/block_size_bytes)"; for m in ${nodeFile(p, 'memory[0-9]*')}; do echo "block \${m##*/memory} $(cat $m/state)"; done`,
  );
  const mtree = String(await host.qmp('human-monitor-command', { 'command-line': 'info mtree -f' }));
  const backend = `mem${p}`;
  const qemuLines = [
    ...new Set(
      mtree
        .split('\n')
        .filter((l) => l.trimEnd().endsWith(`: ${backend}`) || l.includes(`: ${backend} @`))
        .map((l) => l.trim()),
    ),
  ];
  return `### blocks\n${blocks}### qemu-${backend}\n${qemuLines.join('\n')}\n`;
}

/** P's guest-physical ranges from nodeRangesText's sections; a ProbeError when the guest and QEMU disagree. Pure. */
export function nodeRanges(
  s: Record<string, string>,
  p: number,
  step: string,
): { guestRanges: Range[]; qemuRanges: Range[] } {
  const guestRanges = parseMemoryBlocks(section(s, 'blocks', step));
  const qemuRanges = parseMtreeRanges(section(s, `qemu-mem${p}`, step), `mem${p}`);
  if (!guestRanges.length) throw new ProbeError(`node ${p} has no online memory block`);
  if (JSON.stringify(guestRanges) !== JSON.stringify(qemuRanges))
    throw new ProbeError(
      `node ${p}'s memory blocks (${guestRanges.map((r) => `${hex(r.start)}-${hex(r.end)}`).join(' ')}) disagree with QEMU's map of mem${p} (${qemuRanges.map((r) => `${hex(r.start)}-${hex(r.end)}`).join(' ') || 'none'})`,
    );
  return { guestRanges, qemuRanges };
}

/** What x-query-virtio-status says of a device: its queues, and which of them a vhost backend serves. */
export interface VirtioStatus {
  'num-vqs': number;
  'vhost-dev'?: { nvqs: number; 'vq-index': number };
}

/**
 * One queue's ring addresses as QEMU knows them, in x-query-virtio-queue-status's field names. For a
 * queue a vhost backend serves, that command asks the backend for the ring's base
 * (VHOST_USER_GET_VRING_BASE), which stops the ring for good in DPDK's vhost library: the NIC measured
 * next would be dead. Those are read from QEMU's own vhost state (x-query-virtio-vhost-queue-status),
 * which asks nobody; the queues QEMU serves itself (a NIC's control queue) as usual.
 */
export async function queueStatus(
  host: HostAccess,
  path: string,
  queue: number,
  device: VirtioStatus,
): Promise<Record<string, number>> {
  const vhost = device['vhost-dev'];
  if (!vhost || queue < vhost['vq-index'] || queue >= vhost['vq-index'] + vhost.nvqs)
    return (await host.qmp('x-query-virtio-queue-status', { path, queue })) as Record<string, number>;
  const v = (await host.qmp('x-query-virtio-vhost-queue-status', { path, queue })) as Record<string, number>;
  return {
    'vring-desc': v['desc-phys']!,
    'vring-avail': v['avail-phys']!,
    'vring-used': v['used-phys']!,
    'vring-num': v.num!,
    vhost: 1,
  };
}

/** A QMP reply as JSON text, so the raw output can be read back (and kept as a fixture). */
export async function queryRings(host: HostAccess, ids: string[]): Promise<string> {
  const listed = (await host.qmp('x-query-virtio')) as { path: string; name: string }[];
  const out: unknown[] = [];
  for (const id of ids) {
    const path = `/machine/peripheral/${id}/virtio-backend`;
    if (!listed.some((d) => d.path === path))
      throw new ProbeError(`QEMU lists no virtio device ${path} (has ${listed.map((d) => d.path).join(', ')})`);
    const status = (await host.qmp('x-query-virtio-status', { path })) as VirtioStatus;
    for (let queue = 0; queue < status['num-vqs']; queue++) {
      const q = await queueStatus(host, path, queue, status);
      // QEMU pops no element of a queue its vhost backend serves.
      const element =
        !q.vhost && q['vring-desc'] && q['shadow-avail-idx'] !== q['last-avail-idx']
          ? await host.qmp('x-query-virtio-queue-element', { path, queue }).catch(() => null)
          : null;
      out.push({ device: id, queue, status: q, element });
    }
  }
  return JSON.stringify(out);
}

export function parseRings(text: string): { rings: Ring[]; buffers: VirtioRingsObs['buffers'] } {
  let queues: {
    device: string;
    queue: number;
    status: Record<string, number>;
    element: { descs?: { addr: number; len: number }[] } | null;
  }[];
  try {
    queues = JSON.parse(text);
  } catch {
    throw new ProbeError('the virtio queue query did not return JSON');
  }
  const rings: Ring[] = [];
  const buffers: VirtioRingsObs['buffers'] = [];
  for (const q of queues) {
    const s = q.status;
    if (!s['vring-desc']) continue;
    const size = ringSizes(s['vring-num']!);
    for (const part of ['desc', 'avail', 'used'] as const)
      rings.push({ device: q.device, queue: q.queue, part, addr: s[`vring-${part}`]!, size: size[part] });
    for (const d of q.element?.descs ?? [])
      buffers.push({ device: q.device, queue: q.queue, addr: d.addr, len: d.len });
  }
  if (!rings.length) throw new ProbeError('no virtqueue of the devices on P is set up: is their driver bound?');
  return { rings, buffers };
}

export const devicesOnP = (t: Topology, p: number) =>
  t.devices.map((d, i) => ({ ...d, index: i, id: placedDeviceId(i) })).filter((d) => d.node === p);

/** Why a topology cannot test a device check (no virtio device on P), if it cannot. */
export const noDeviceOnP = (t: Topology, { p }: { p: number }): string | undefined =>
  devicesOnP(t, p).length ? undefined : `topology ${t.name} places no virtio device on node ${p}`;

/** The devices on P served by a host process (a vhost-user NIC), with their index and QOM id. */
export const backendDevicesOnP = (t: Topology, p: number) => devicesOnP(t, p).filter((d) => deviceKind(d.kind).backend);

/** Guest shell: the name of the interface with this MAC (numacage gives each backend's NIC its own), or nothing. */
const ifaceWithMac = (mac: string) =>
  `for n in /sys/class/net/*; do [ "$(cat $n/address)" = ${mac} ] && echo \${n##*/}; done; true`;

/**
 * Runs `traffic` with a backend's NIC up and its backend forwarding (it serves the NIC's queues only
 * then); afterwards, also when `traffic` throws, the NIC down first and then the backend stopped, so
 * nothing the guest sends later waits in a ring no one serves.
 */
export async function withNicServed<T>(
  host: HostAccess,
  nic: { index: number; id: string },
  traffic: (iface: string) => Promise<T>,
): Promise<T> {
  const mac = backendMac(nic.index);
  const iface = (await host.exec(ifaceWithMac(mac))).stdout.trim();
  if (!iface) throw new ProbeError(`the guest has no interface with MAC ${mac} (${nic.id})`);
  if (!(await host.backendForward(nic.id, true)))
    throw new ProbeError(`the backend of ${nic.id} (testpmd) did not start forwarding`);
  try {
    const up = await host.exec(`ip link set ${iface} up && sleep 1`);
    if (up.exitCode !== 0) throw new ProbeError(`ip link set ${iface} up: ${up.stderr.trim()}`);
    return await traffic(iface);
  } finally {
    await host.exec(`ip link set ${iface} down`);
    await host.backendForward(nic.id, false);
  }
}

/**
 * From the host: every virtqueue ring (descriptor, avail, used) of every
 * virtio device placed on P must lie in P's guest-physical ranges, after
 * boot and after traffic. P's ranges come from the guest's memory blocks and
 * must agree with QEMU's own memory map of P's backend.
 */
export const virtioRings: InvariantSpec<VirtioRingsObs> = {
  id: 'virtio-rings',
  title: "the rings of a virtio device on P live in P's MAP_SHARED memory",
  expect: expect('fail', 'fail', 'pass', 'pass'),
  // Rings through the DMA API come from dma-direct, which allocates on the device's node on any kernel
  // (stock and lean measured with the vhost-user NIC, 2026-12-03); the vanilla 'fail' is for a device without it.
  expectOn: (t, { p }) => {
    const onP = devicesOnP(t, p);
    return onP.length && onP.every((d) => deviceKind(d.kind).dmaApi) ? 'pass' : undefined;
  },
  disturbs: false,
  unsupported: noDeviceOnP,
  steps: () => [
    {
      name: 'virtio-rings',
      async run(host, { roles: { p }, topology }) {
        const ids = devicesOnP(topology, p).map((d) => d.id);
        const ranges = await nodeRangesText(host, p);
        const afterBoot = await queryRings(host, ids);
        const traffic = await host.tcpTraffic(1 << 20);
        const afterTraffic = await queryRings(host, ids);
        return `${ranges}### after-boot\n${afterBoot}\n${trafficSection(traffic)}### after-traffic\n${afterTraffic}\n`;
      },
    },
  ],
  parse(raw, { roles: { p } }) {
    const s = parseSections(rawOf(raw, 'virtio-rings'));
    const { guestRanges, qemuRanges } = nodeRanges(s, p, 'virtio-rings');
    const boot = parseRings(section(s, 'after-boot', 'virtio-rings'));
    const after = parseRings(section(s, 'after-traffic', 'virtio-rings'));
    return {
      guestRanges,
      qemuRanges,
      afterBoot: boot.rings,
      afterTraffic: after.rings,
      buffers: [...boot.buffers, ...after.buffers],
      traffic: parseTraffic(section(s, 'traffic', 'virtio-rings'), 1 << 20),
    };
  },
  decide(o, { roles: { p }, state }) {
    const boot = ringsOutside(o.afterBoot, o.guestRanges);
    const traffic = ringsOutside(o.afterTraffic, o.guestRanges);
    const problems: string[] = [];
    for (const queue of new Set([...boot.keys(), ...traffic.keys()])) {
      const [b, t] = [boot.get(queue), traffic.get(queue)];
      if (b === t) problems.push(`${queue}: ${b} outside node ${p} (after boot and after traffic)`);
      else
        for (const [when, parts] of [
          ['after boot', b],
          ['after traffic', t],
        ])
          if (parts) problems.push(`${queue}: ${parts} outside node ${p} (${when})`);
    }
    const buffersOnP = o.buffers.filter((b) => inside(o.guestRanges, b.addr, b.len)).length;
    const reserved = state.zones.filter((z) => z.node === p).reduce((sum, z) => sum + z.present - z.managed, 0);
    const passed = problems.length === 0;
    const rings = o.afterBoot.length;
    return {
      passed,
      summary: passed
        ? `all ${rings} rings of the virtio device(s) on node ${p} lie in its memory (${o.guestRanges.map((r) => `${hex(r.start)}-${hex(r.end)}`).join(' ')})`
        : `${new Set([...boot.keys(), ...traffic.keys()]).size} of ${rings / 3} queues have rings outside node ${p}: ${problems[0]}`,
      problems,
      evidence: {
        node: p,
        ranges: o.guestRanges.map((r) => ({ start: hex(r.start), end: hex(r.end) })),
        rings: o.afterBoot.map((r) => ({ ...r, addr: hex(r.addr), onP: inside(o.guestRanges, r.addr, r.size) })),
        buffers: {
          onP: buffersOnP,
          elsewhere: o.buffers.length - buffersOnP,
          addrs: o.buffers.map((b) => hex(b.addr)),
        },
        pBootReservedPages: reserved,
        traffic: o.traffic,
      },
    };
  },
};
