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
  /** Each virtqueue of the devices on P whose rings lie in P: its pages, from its descriptor table to the end of its used ring. */
  ringQueues: { device: string; queue: number; pages: number }[];
}

/**
 * The catch-all, after every workload of the suite before it: the pages of
 * P the page allocator has handed out and not got back (its per-CPU lists
 * are free pages) must be exactly the rings of the virtio devices on P, the
 * one kernel use of P's memory (0010). Every other row watches a counter or
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
  unsupported: (t, { p }) =>
    devicesOnP(t, p).some((d) => deviceKind(d.kind).dmaApi)
      ? `a device on node ${p} allocates its rings through the DMA API (dma-direct's order rounding or a DMA pool): not counted yet`
      : undefined,
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
  parse(raw, { roles: { p } }) {
    const s = parseSections(rawOf(raw, 'p-in-use'));
    const zones = zonesOfNode(section(s, 'zoneinfo', 'p-in-use'), p);
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
      for (const q of byQueue.values())
        ringQueues.push({ device: q.device, queue: q.queue, pages: Math.ceil((q.end - q.start) / PAGE) });
    }
    return {
      handedOut: zones.reduce((sum, z) => sum + z.managed - z.free, 0),
      perCpu: zones.reduce((sum, z) => sum + z.perCpu, 0),
      ringQueues,
    };
  },
  decide(o, { roles: { p } }) {
    const inUse = o.handedOut - o.perCpu;
    const rings = o.ringQueues.reduce((sum, q) => sum + q.pages, 0);
    const ringsText = `the rings of ${o.ringQueues.length} queue(s) on it (${rings} pages)`;
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
