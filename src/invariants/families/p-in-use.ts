import { deviceKind } from '../../topology/device-kinds.js';
import { ProbeError } from '../errors.js';
import { parseSections, section } from '../records.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';
import { zonesOfNode } from './boot-data.js';
import { devicesOnP, inside, nodeRanges, nodeRangesText, parseRings, queryRings } from './devices.js';

const PAGE = 4096;

export interface PInUseObs {
  /** P's zones: pages the page allocator has handed out (managed minus free), and those of them on the per-CPU lists. */
  handedOut: number;
  perCpu: number;
  /** The DMA pool the series reserved on P at boot (its console line), if any: memory the page allocator never manages. */
  pool: { start: number; bytes: number } | null;
  /**
   * Each virtqueue of the devices on P whose rings lie in P, and the pages of the page allocator it holds:
   * none inside the DMA pool; else its span from descriptor table to the end of its used ring, rounded up to
   * a power of two for a device that allocates through the DMA API (dma-direct takes whole orders).
   */
  ringQueues: { device: string; queue: number; pages: number; inPool: boolean }[];
}

/** The series' boot line for P's DMA pool (0012), read with the kernel's state: "private node N: DMA pool for its PCI devices at 0x..., K KiB". */
function parsePool(log: string, p: number): PInUseObs['pool'] {
  const m = new RegExp(`private node ${p}: DMA pool for its PCI devices at (0x[0-9a-f]+), (\\d+) KiB`).exec(log);
  return m ? { start: Number(m[1]), bytes: Number(m[2]) * 1024 } : null;
}

const nextPowerOfTwo = (n: number) => 2 ** Math.ceil(Math.log2(n));

/**
 * The catch-all, after every workload of the suite before it: the pages of
 * P the page allocator has handed out and not got back (its per-CPU lists
 * are free pages) must be exactly the rings of the virtio devices on P, the
 * one kernel use of P's memory (0010), or none for rings in the DMA pool the
 * series reserves at boot (0012-0013). Every other row watches a counter or
 * a placement; this one sees a page whatever took it (an allocation that
 * started on P shows in no numa_miss, a kernel page in none of the four
 * counters of no-kernel-memory).
 */
export const pInUse: InvariantSpec<PInUseObs> = {
  id: 'p-in-use',
  title: "P's pages in use are exactly its devices' rings, after the suite's workloads",
  // Where user pages may be on P by design (vanilla-movable, ,user) the count has no exact expectation.
  expect: expect('fail', 'n/a', 'pass', 'n/a'),
  // Read after the workloads that put pressure on the guest: it runs with them.
  disturbs: true,
  steps: ({ roles: { p }, topology }) => [
    {
      name: 'p-in-use',
      async run(host) {
        const ids = devicesOnP(topology, p).map((d) => d.id);
        const zoneinfo = await host.exec('cat /proc/zoneinfo');
        if (zoneinfo.exitCode !== 0) throw new ProbeError(`cat /proc/zoneinfo failed: ${zoneinfo.stderr.trim()}`);
        const rings = ids.length ? `${await nodeRangesText(host, p)}### rings\n${await queryRings(host, ids)}\n` : '';
        return `### zoneinfo\n${zoneinfo.stdout}${rings}`;
      },
    },
  ],
  parse(raw, { roles: { p }, topology, state }) {
    const s = parseSections(rawOf(raw, 'p-in-use'));
    const zones = zonesOfNode(section(s, 'zoneinfo', 'p-in-use'), p);
    const pool = parsePool(state.privateNodeLog.join('\n'), p);
    const dmaApi = new Set(
      devicesOnP(topology, p)
        .filter((d) => deviceKind(d.kind).dmaApi)
        .map((d) => d.id),
    );
    const ringQueues: PInUseObs['ringQueues'] = [];
    if (s.rings !== undefined) {
      const { guestRanges } = nodeRanges(s, p, 'p-in-use');
      const byQueue = new Map<string, { device: string; queue: number; start: number; end: number }>();
      for (const r of parseRings(s.rings).rings) {
        if (!inside(guestRanges, r.addr, r.size)) continue;
        const key = `${r.device}/${r.queue}`;
        const q = byQueue.get(key) ?? { device: r.device, queue: r.queue, start: r.addr, end: r.addr + r.size };
        byQueue.set(key, { ...q, start: Math.min(q.start, r.addr), end: Math.max(q.end, r.addr + r.size) });
      }
      for (const q of byQueue.values()) {
        const inPool =
          pool !== null && inside([{ start: pool.start, end: pool.start + pool.bytes }], q.start, q.end - q.start);
        const span = Math.ceil((q.end - q.start) / PAGE);
        const pages = inPool ? 0 : dmaApi.has(q.device) ? nextPowerOfTwo(span) : span;
        ringQueues.push({ device: q.device, queue: q.queue, pages, inPool });
      }
    }
    return {
      handedOut: zones.reduce((sum, z) => sum + z.managed - z.free, 0),
      perCpu: zones.reduce((sum, z) => sum + z.perCpu, 0),
      pool,
      ringQueues,
    };
  },
  decide(o, { roles: { p } }) {
    const inUse = o.handedOut - o.perCpu;
    const rings = o.ringQueues.reduce((sum, q) => sum + q.pages, 0);
    const pooled = o.ringQueues.filter((q) => q.inPool).length;
    const ringsText = `the rings of ${o.ringQueues.length} queue(s) on it (${rings} pages${pooled ? `; ${pooled} queue(s) in its DMA pool, which the page allocator does not manage` : ''})`;
    const problems =
      inUse === rings
        ? []
        : [
            `node ${p} has ${inUse} pages in use (${o.handedOut} handed out, ${o.perCpu} of them on per-CPU lists): ${inUse > rings ? `${inUse - rings} more than` : 'fewer than'} ${ringsText}`,
          ];
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed ? `node ${p}: ${inUse} pages in use, exactly ${ringsText}` : problems[0]!,
      problems,
      evidence: { node: p, ...o, inUse, ringPages: rings },
    };
  },
};
