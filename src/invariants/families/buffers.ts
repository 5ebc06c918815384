import { ProbeError } from '../errors.js';
import { parseSections, section } from '../records.js';
import { GUEST_PROBE_PATH } from '../shell.js';
import { expect, rawOf, type HostAccess, type InvariantSpec } from '../spec.js';
import {
  backendDevicesOnP,
  devicesOnP,
  hex,
  inside,
  nodeRanges,
  noDeviceOnP,
  nodeRangesText,
  queueStatus,
  type Range,
  type VirtioStatus,
  withNicServed,
} from './devices.js';

const VRING_DESC_F_NEXT = 1;
const VRING_DESC_F_INDIRECT = 4;
/** An indirect table longer than this is not read (virtio_net's are a few entries; a bogus length is a probe error). */
const MAX_INDIRECT_BYTES = 64 << 10;

/** One queue as QEMU sees it, with its rings' bytes read from guest memory (base64, so the raw output is a fixture). */
interface QueueDump {
  device: string;
  queue: number;
  num: number;
  desc: number;
  avail: number;
  used: number;
  descTable: string;
  availRing: string;
  usedRing: string;
  /** Indirect tables of the in-flight chains, by their guest-physical address. */
  indirect: Record<string, string>;
}

interface Descriptor {
  addr: number;
  len: number;
  flags: number;
  next: number;
}

const readDescs = (bytes: Buffer): Descriptor[] =>
  Array.from({ length: Math.floor(bytes.length / 16) }, (_, i) => ({
    addr: Number(bytes.readBigUInt64LE(i * 16)),
    len: bytes.readUInt32LE(i * 16 + 8),
    flags: bytes.readUInt16LE(i * 16 + 12),
    next: bytes.readUInt16LE(i * 16 + 14),
  }));

/** The heads the device owns now: avail entries from the used index up to the avail index. Pure. */
function inFlightHeads(num: number, availRing: Buffer, usedRing: Buffer): number[] {
  const availIdx = availRing.readUInt16LE(2);
  const usedIdx = usedRing.readUInt16LE(2);
  // The used ring is read first and both indexes only grow, so the avail index is never behind; a device
  // that moved on between the two reads can leave it more than a ring ahead: the last `num` entries are judged.
  const count = Math.min((availIdx - usedIdx) & 0xffff, num);
  const first = (availIdx - count) & 0xffff;
  return Array.from({ length: count }, (_, i) => availRing.readUInt16LE(4 + 2 * ((first + i) % num)));
}

/** Every descriptor of the chains starting at heads, indirect tables followed (read from `indirect`). Pure. */
function chainDescs(
  table: Descriptor[],
  heads: number[],
  /** Reads an indirect table; without it the chains' own descriptors only (an indirect one not followed). */
  indirect?: (addr: number) => Descriptor[],
): { desc: Descriptor; via: string }[] {
  const out: { desc: Descriptor; via: string }[] = [];
  const walk = (descs: Descriptor[], start: number, via: string) => {
    for (let i = start, hops = 0; hops <= descs.length; hops++) {
      const d = descs[i];
      if (!d) throw new ProbeError(`descriptor ${i} of a chain is outside its table (${descs.length} entries)`);
      if (d.flags & VRING_DESC_F_INDIRECT) {
        out.push({ desc: d, via: `${via}: indirect table` });
        if (indirect) walk(indirect(d.addr), 0, `${via} -> indirect ${hex(d.addr)}`);
      } else out.push({ desc: d, via });
      if (!(d.flags & VRING_DESC_F_NEXT)) return;
      i = d.next;
    }
    throw new ProbeError(`a descriptor chain loops (${via})`);
  };
  for (const head of heads) walk(table, head, `head ${head}`);
  return out;
}

async function dumpQueues(host: HostAccess, ids: string[]): Promise<QueueDump[]> {
  const out: QueueDump[] = [];
  for (const id of ids) {
    const path = `/machine/peripheral/${id}/virtio-backend`;
    const status = (await host.qmp('x-query-virtio-status', { path })) as VirtioStatus;
    for (let queue = 0; queue < status['num-vqs']; queue++) {
      const q = await queueStatus(host, path, queue, status);
      const num = q['vring-num']!;
      if (!q['vring-desc'] || !num) continue;
      // One QMP command at a time: QEMU's monitor takes one connection at once.
      // Used before avail: a backend that keeps running between the reads can only make avail look further ahead.
      const usedRing = await host.readPhysical(q['vring-used']!, 4 + 8 * num);
      const availRing = await host.readPhysical(q['vring-avail']!, 4 + 2 * num);
      const descTable = await host.readPhysical(q['vring-desc']!, 16 * num);
      // The owned chains' own descriptors (indirect tables not yet read): each indirect one names a table to read.
      const indirect: Record<string, string> = {};
      for (const { desc } of chainDescs(readDescs(descTable), inFlightHeads(num, availRing, usedRing)))
        if (desc.flags & VRING_DESC_F_INDIRECT && desc.len <= MAX_INDIRECT_BYTES)
          indirect[hex(desc.addr)] = (await host.readPhysical(desc.addr, desc.len)).toString('base64');
      out.push({
        device: id,
        queue,
        num,
        desc: q['vring-desc']!,
        avail: q['vring-avail']!,
        used: q['vring-used']!,
        descTable: descTable.toString('base64'),
        availRing: availRing.toString('base64'),
        usedRing: usedRing.toString('base64'),
        indirect,
      });
    }
  }
  return out;
}

interface BufferRef {
  device: string;
  queue: number;
  addr: number;
  len: number;
  via: string;
}

interface BuffersObs {
  ranges: Range[];
  /** Every buffer and indirect table the devices on P owned at the samples (during traffic and after). */
  buffers: BufferRef[];
  samples: number;
}

function parseDumps(text: string, step: string): BufferRef[] {
  let dumps: QueueDump[];
  try {
    dumps = JSON.parse(text) as QueueDump[];
  } catch {
    throw new ProbeError(`step ${step}: the queue dump is not JSON`);
  }
  const refs: BufferRef[] = [];
  for (const q of dumps) {
    const b64 = (s: string) => Buffer.from(s, 'base64');
    const heads = inFlightHeads(q.num, b64(q.availRing), b64(q.usedRing));
    const indirect = (addr: number) => {
      const t = q.indirect[hex(addr)];
      if (t === undefined)
        throw new ProbeError(`${q.device} queue ${q.queue}: indirect table ${hex(addr)} was not read`);
      return readDescs(b64(t));
    };
    for (const { desc, via } of chainDescs(readDescs(b64(q.descTable)), heads, indirect))
      refs.push({ device: q.device, queue: q.queue, addr: desc.addr, len: desc.len, via });
  }
  return refs;
}

/**
 * From the host, during traffic and after it: every buffer a virtio device on
 * P owns (the descriptor chains between its used and avail indexes, read from
 * guest memory, indirect tables followed) must lie in P's guest-physical
 * ranges, the indirect tables too. What the device reads or writes is what
 * the descriptors name: a buffer on C is memory a device that shares only P
 * cannot reach.
 */
export const buffersOnP: InvariantSpec<BuffersObs> = {
  id: 'buffers-on-p',
  title: 'every buffer a device on P reads or writes lies in P',
  expect: expect('fail', 'fail', 'pass', 'pass'),
  disturbs: false,
  unsupported: noDeviceOnP,
  steps: ({ topology, roles: { p } }) => [
    {
      name: 'buffers-on-p',
      runsProbe: backendDevicesOnP(topology, p).length > 0,
      async run(host, { roles: { p }, topology }) {
        const ids = devicesOnP(topology, p).map((d) => d.id);
        const ranges = await nodeRangesText(host, p);
        const dump = async () => JSON.stringify(await dumpQueues(host, ids));
        // Traffic through a NIC with a host backend keeps its transmit queue busy while the rings are read.
        const nic = backendDevicesOnP(topology, p)[0];
        const [during, after] = nic
          ? await withNicServed(host, nic, async (iface) => {
              await host.exec(`(${GUEST_PROBE_PATH} net-echo ${iface} 2048 3 > /tmp/buffers-on-p.echo 2>&1 &)`);
              await new Promise((r) => setTimeout(r, 300));
              const during = await dump();
              await host.exec('for i in $(seq 60); do grep -q done /tmp/buffers-on-p.echo && break; sleep 0.5; done', {
                timeoutMs: 60_000,
              });
              return [during, await dump()];
            })
          : ['[]', await dump()];
        return `${ranges}### during\n${during}\n### after\n${after}\n`;
      },
    },
  ],
  parse(raw, { roles: { p } }) {
    const s = parseSections(rawOf(raw, 'buffers-on-p'));
    const { guestRanges } = nodeRanges(s, p, 'buffers-on-p');
    const buffers = [
      ...parseDumps(section(s, 'during', 'buffers-on-p'), 'buffers-on-p'),
      ...parseDumps(section(s, 'after', 'buffers-on-p'), 'buffers-on-p'),
    ];
    if (!buffers.length)
      throw new ProbeError('the devices on P owned no buffer at either sample: is their driver bound?');
    return { ranges: guestRanges, buffers, samples: 2 };
  },
  decide(o, { roles: { p } }) {
    const outside = o.buffers.filter((b) => !inside(o.ranges, b.addr, Math.max(b.len, 1)));
    const byQueue = new Map<string, BufferRef[]>();
    for (const b of outside) {
      const key = `${b.device} queue ${b.queue}`;
      byQueue.set(key, [...(byQueue.get(key) ?? []), b]);
    }
    const problems = [...byQueue].map(
      ([queue, bs]) =>
        `${queue}: ${bs.length} buffer(s) outside node ${p}, first ${hex(bs[0]!.addr)} (${bs[0]!.len} bytes, ${bs[0]!.via})`,
    );
    const passed = problems.length === 0;
    const ranges = o.ranges.map((r) => `${hex(r.start)}-${hex(r.end)}`).join(' ');
    return {
      passed,
      summary: passed
        ? `all ${o.buffers.length} buffers the devices on node ${p} owned lie in its memory (${ranges})`
        : `${outside.length} of ${o.buffers.length} buffers the devices on node ${p} owned lie outside it: ${problems[0]}`,
      problems,
      evidence: {
        node: p,
        ranges,
        owned: o.buffers.length,
        outside: outside.length,
        buffers: o.buffers
          .slice(0, 64)
          .map((b) => ({ ...b, addr: hex(b.addr), onP: inside(o.ranges, b.addr, Math.max(b.len, 1)) })),
      },
    };
  },
};
