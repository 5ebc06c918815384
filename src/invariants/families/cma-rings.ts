import { KernelLacks, ProbeError } from '../errors.js';
import { keyValues, parseSections, section } from '../records.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';
import { claimOf, endingText, noCmaAreaOn, type Claim } from './cma-user.js';
import { devicesOnP, hex, noDeviceOnP, parseRings, queryRings } from './devices.js';

const PAGE = 4096;

interface CmaRingsObs {
  /** P's gigantic-page CMA area (hugetlb_cma=P:), in PFNs, and its pages handed out before the claim. */
  area: { basePfn: number; count: number; used: number };
  /** The rings of the devices on P, as QEMU has them (guest-physical). */
  rings: { device: string; queue: number; part: string; addr: number; size: number }[];
  /** The claim of the whole area; absent when the area was in use before it. */
  claim?: Claim;
}

/**
 * A device on P keeps its rings on P for its whole life (virtio-rings). Where
 * P has a CMA area of its own, they must lie outside it: pages that never
 * move make every claim of a range that holds them fail, and growing P's
 * 1 GiB HugeTLB pool needs the whole area. From the host, QEMU's ring
 * addresses are held against the area's frames; in the guest, with nothing
 * bound to P, the whole area is claimed (cma_alloc()) and given back.
 */
export const cmaRings: InvariantSpec<CmaRingsObs> = {
  id: 'cma-rings',
  title: "a device's rings on P leave P's CMA area whole",
  // Only ,user gives a private P a CMA area (0041); an ordinary node's area serves anyone's page cache.
  expect: expect('n/a', 'n/a', 'n/a', 'pass'),
  disturbs: true,
  unsupported: (t, roles) => noDeviceOnP(t, roles) ?? noCmaAreaOn(t, roles),
  steps: ({ roles: { p }, topology }) => [
    {
      name: 'cma-rings-queues',
      run: async (host) =>
        `${await queryRings(
          host,
          devicesOnP(topology, p).map((d) => d.id),
        )}\n`,
    },
    { name: 'cma-rings', script: 'cma-rings.sh', env: { P: p }, timeoutMs: 180_000 },
  ],
  parse(raw) {
    const { rings } = parseRings(rawOf(raw, 'cma-rings-queues'));
    const s = parseSections(rawOf(raw, 'cma-rings'));
    if ('none' in s) throw new KernelLacks('the kernel has no CMA areas in debugfs (CONFIG_CMA, CONFIG_CMA_DEBUGFS)');
    const area = keyValues(section(s, 'area', 'cma-rings'));
    if (!area.base_pfn || !area.count || area.used === undefined)
      throw new ProbeError('the area printed no base_pfn, count and used');
    const obs: CmaRingsObs = { area: { basePfn: area.base_pfn, count: area.count, used: area.used }, rings };
    return 'claim' in s ? { ...obs, claim: claimOf(s.claim!, 'the claim of the whole area') } : obs;
  },
  decide(o, { roles: { p } }) {
    if (!o.claim) throw new ProbeError(`node ${p}'s CMA area had ${o.area.used} pages handed out before the claim`);
    const [start, end] = [o.area.basePfn * PAGE, (o.area.basePfn + o.area.count) * PAGE];
    const inArea = o.rings.filter((r) => r.addr < end && r.addr + r.size > start);
    const problems: string[] = [];
    if (inArea.length)
      problems.push(
        `${inArea.length} of the ${o.rings.length} rings of the devices on node ${p} lie in its CMA area (${hex(start)}-${hex(end)}): ${inArea.map((r) => `${r.device} queue ${r.queue} ${r.part} ${hex(r.addr)}`).join(', ')}`,
      );
    if (o.claim.used !== o.area.count)
      problems.push(
        `with nothing bound to node ${p}, a claim of its whole CMA area (${o.area.count} pages) got ${o.claim.used} (${endingText(o.claim)})`,
      );
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? `the ${o.rings.length} rings of the devices on node ${p} lie outside its CMA area (${hex(start)}-${hex(end)}), and the whole area (${o.area.count} pages) was claimed and given back`
        : problems.join('; '),
      problems,
      evidence: {
        area: { ...o.area, start: hex(start), end: hex(end) },
        claim: o.claim,
        ringsInArea: inArea,
        rings: o.rings,
      },
    };
  },
};
