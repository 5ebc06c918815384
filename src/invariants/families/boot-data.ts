import { parseNodeMeminfo } from '../../parsers/sysfs.js';
import { parseZoneinfo, type Zone } from '../../parsers/isolation-parsers.js';
import { ProbeError } from '../errors.js';
import { keyValues, parseSections, section } from '../records.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';
import { privateNodeParams } from '../profile.js';

const PAGE = 4096;
/** sizeof(struct page) on x86-64, whatever the config numacage builds (64 bytes since 2.6). */
const STRUCT_PAGE = 64;
/**
 * The node's own boot data besides its memmap: its pg_data_t and the usemap
 * of its sections. On series v2 they take 3 pages ("NODE_DATA(1) allocated
 * [mem 0x13fffa2c0-0x13fffcfff]", the usemap beside it; 4099 reserved pages
 * on a 1 GiB P, 2026-12-04); a kernel with more NUMA nodes has a larger
 * pg_data_t (its zonelists).
 */
const OWN_DATA_PAGES = 8;
/** Pages of 4 KiB in a huge page of nodeN/meminfo's HugePages_* (x86-64's default size, 2 MiB). */
const HUGE_PAGE_PAGES = 512;

export interface BootDataObs {
  /** The guest's word: node P's pages as /proc/zoneinfo and nodeP/meminfo count them. */
  guest: { present: number; managed: number; usedKb: number; freeHugePages: number };
  /** The host's: pages of P's memfd present in QEMU (written since QEMU started), of all its pages. */
  host: { presentPages: number; memfdPages: number };
}

/** Node p's zones in /proc/zoneinfo; a ProbeError when it lists none. */
export function zonesOfNode(zoneinfo: string, p: number): Zone[] {
  const zones = parseZoneinfo(zoneinfo).filter((z) => z.node === p);
  if (!zones.length) throw new ProbeError(`/proc/zoneinfo has no zone of node ${p}`);
  return zones;
}

/** The DMA pool asked for P on the command line (private_node=P,...,dma=SIZE), in pages; 0 without one. */
export function dmaPoolPages(cmdline: string, p: number): number {
  for (const w of privateNodeParams(cmdline)) {
    if (!w.nodes.includes(p)) continue;
    const m = /,dma=(\d+)([kmg]?)(?:,|$)/i.exec(w.word);
    if (m) return Math.ceil((Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase())) / PAGE);
  }
  return 0;
}

/**
 * Boot-time kernel data on P (finding 3 of docs/private-node.md), read
 * before any other check touches P. The guest's count: P's pages reserved
 * at boot (present minus managed) are its memmap, its own data and a DMA
 * pool asked for on the command line; the rest is data memblock put there,
 * which no per-node counter shows. The host's: the pages of P's memfd
 * written since QEMU started are those, plus the pages the kernel counts as
 * in use (judged by the other rows); more means the guest hides some.
 */
export const bootData: InvariantSpec<BootDataObs> = {
  id: 'boot-data',
  title: "P holds no boot-time kernel data besides its own memmap and pg_data_t (the host's count)",
  expect: expect('fail', 'fail', 'pass', 'pass'),
  disturbs: false,
  unsupported(t, { p }) {
    const node = t.nodes.find((n) => n.id === p);
    if (node?.hotplug) return `node ${p} is hot-plugged in topology ${t.name}: no boot-time data can land on it`;
    if (node?.backend.kind !== 'memfd' || node.backend.hugetlb)
      return `node ${p} is not backed by a memfd of 4 KiB pages in topology ${t.name}: the host cannot count its pages`;
    return undefined;
  },
  steps: ({ roles: { p } }) => [
    {
      name: 'boot-data',
      async run(host) {
        const guest = await host.exec(
          `echo '### meminfo'; cat /sys/devices/system/node/node${p}/meminfo; echo '### zoneinfo'; cat /proc/zoneinfo`,
        );
        if (guest.exitCode !== 0) throw new ProbeError(`reading node ${p}'s counters failed: ${guest.stderr.trim()}`);
        const counted = await host.nodePresentPages(p);
        if ('unavailable' in counted) throw new ProbeError(counted.unavailable);
        return `${guest.stdout}### host\npresent ${counted.present}\npages ${counted.pages}\n`;
      },
    },
  ],
  parse(raw, { roles: { p } }) {
    const s = parseSections(rawOf(raw, 'boot-data'));
    const meminfo = parseNodeMeminfo(section(s, 'meminfo', 'boot-data'));
    const zones = zonesOfNode(section(s, 'zoneinfo', 'boot-data'), p);
    const host = keyValues(section(s, 'host', 'boot-data'));
    if (meminfo.MemUsed === undefined) throw new ProbeError(`node ${p}'s meminfo has no MemUsed`);
    if (host.present === undefined || host.pages === undefined)
      throw new ProbeError(`the host's count printed ${JSON.stringify(host)}`);
    return {
      guest: {
        present: zones.reduce((sum, z) => sum + z.present, 0),
        managed: zones.reduce((sum, z) => sum + z.managed, 0),
        usedKb: meminfo.MemUsed,
        freeHugePages: meminfo.HugePages_Free ?? 0,
      },
      host: { presentPages: host.present, memfdPages: host.pages },
    };
  },
  decide(o, { roles: { p }, state, profile }) {
    const memmap = Math.ceil((o.host.memfdPages * STRUCT_PAGE) / PAGE);
    // Only a private kernel makes a pool of dma=; judged as vanilla, the word is one the kernel ignores.
    const pool = profile.startsWith('private') ? dmaPoolPages(state.cmdline, p) : 0;
    const sanctioned = memmap + OWN_DATA_PAGES + pool;
    const reserved = o.guest.present - o.guest.managed;
    const bootData = reserved - sanctioned;
    // Free huge pages are in use to the page allocator, yet never written: a huge page is cleared when it is faulted.
    const used = Math.ceil(o.guest.usedKb / 4) - o.guest.freeHugePages * HUGE_PAGE_PAGES;
    const unaccounted = o.host.presentPages - (sanctioned + Math.max(bootData, 0) + used);
    const own = `its memmap (${memmap}) and own data (up to ${OWN_DATA_PAGES})${pool ? ` and the DMA pool (${pool})` : ''}`;
    const problems: string[] = [];
    if (bootData > 0) problems.push(`node ${p} has ${reserved} pages reserved at boot: ${bootData} more than ${own}`);
    if (unaccounted > 0)
      problems.push(
        `the host finds ${o.host.presentPages} of node ${p}'s pages written: ${unaccounted} more than the guest accounts for (${own}, ${Math.max(bootData, 0)} of other boot data, ${used} in use)`,
      );
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? `node ${p}: ${reserved} pages reserved at boot, within ${own}; the host finds ${o.host.presentPages} written`
        : problems[0]!,
      problems,
      evidence: {
        node: p,
        ...o,
        memmapPages: memmap,
        ownDataPages: OWN_DATA_PAGES,
        dmaPoolPages: pool,
        reservedPages: reserved,
        bootDataPages: bootData,
        usedPages: used,
        unaccountedPages: unaccounted,
      },
    };
  },
};
