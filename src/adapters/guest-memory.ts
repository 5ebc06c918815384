import { open, readFile } from 'node:fs/promises';
import { backingOf, parseMemfdMappings, type NodeBacking } from '../qemu/memfd-backings.js';
import type { Topology } from '../model/topology.js';
import { PAGE_TAG_MAGIC, type SwapReading, type WitnessReading } from '../invariants/witness.js';

const PAGE = 4096;
const PAGEMAP_PRESENT = 1n << 63n;
/** Pages read from QEMU's memory per read (1 MiB). */
const READ_PAGES = 256;

/** Where QEMU (pid) holds node's RAM, read from /proc/PID/maps; or why the host cannot tell. */
export async function nodeBacking(
  pid: number,
  topology: Topology,
  node: number,
): Promise<NodeBacking | { unavailable: string }> {
  const maps = await readFile(`/proc/${pid}/maps`, 'utf8').catch((err: Error) => err);
  if (maps instanceof Error) return { unavailable: `reading QEMU's /proc/${pid}/maps failed: ${maps.message}` };
  return backingOf(parseMemfdMappings(maps), topology, node);
}

/** Pages of a node's backing present in QEMU (/proc/PID/pagemap): those written since QEMU started. */
export async function countPresentPages(
  pid: number,
  backing: NodeBacking,
): Promise<{ pages: number; present: number }> {
  const pages = (backing.end - backing.start) / PAGE;
  // In chunks (512 KiB of entries, 256 MiB of P): a P of tens of GiB has a pagemap of tens of MiB.
  const chunkPages = 65536;
  const entries = Buffer.alloc(8 * chunkPages);
  const pagemap = await open(`/proc/${pid}/pagemap`, 'r');
  let present = 0;
  try {
    for (let first = 0; first < pages; first += chunkPages) {
      const n = Math.min(chunkPages, pages - first);
      const { bytesRead } = await pagemap.read(entries, 0, 8 * n, (backing.start / PAGE + first) * 8);
      if (bytesRead !== 8 * n) throw new Error(`read ${bytesRead} of ${8 * n} bytes of QEMU's pagemap`);
      for (let i = 0; i < n; i++) if ((entries.readBigUInt64LE(8 * i) & PAGEMAP_PRESENT) !== 0n) present++;
    }
  } finally {
    await pagemap.close();
  }
  return { pages, present };
}

/** The first 16 bytes of every page a witnessed step faults: the magic and the step's nonce (probe.c touch()). */
function pageTag(nonce: bigint): Buffer {
  const tag = Buffer.alloc(16);
  tag.write(PAGE_TAG_MAGIC, 0, 'latin1');
  tag.writeBigUInt64LE(nonce, 8);
  return tag;
}

/** Adds to identities each of the first `pages` pages of chunk that starts with tag, as pid:serial (a number would lose serials once pid passes 2^21). */
function collectTagged(chunk: Buffer, pages: number, tag: Buffer, identities: Set<string>): void {
  for (let k = 0; k < pages; k++) {
    const at = k * PAGE;
    if (chunk.compare(tag, 0, 16, at, at + 16) === 0)
      identities.add(`${chunk.readUInt32LE(at + 16)}:${chunk.readUInt32LE(at + 20)}`);
  }
}

/**
 * Adds to identities every page whose tag lies inside one of the pages of bytes (which starts at a page
 * boundary), not at a page's start: a copy the kernel made within its own pages, such as a compressed
 * object, whose first literals are the page's first bytes. A page itself is no copy. A tag cut by the
 * end of bytes is not seen: the count is a lower bound.
 */
export function collectCopies(bytes: Buffer, tag: Buffer, identities: Set<string>): void {
  for (let at = bytes.indexOf(tag); at !== -1 && at + 24 <= bytes.length; at = bytes.indexOf(tag, at + 16))
    if (at % PAGE !== 0) identities.add(`${bytes.readUInt32LE(at + 16)}:${bytes.readUInt32LE(at + 20)}`);
}

/**
 * Counts the distinct pages tagged with nonce (guest/probe/probe.c touch())
 * in a node's backing: its present pages (/proc/PID/pagemap, so that nothing
 * is faulted in) read through /proc/PID/mem. Needs ptrace rights over QEMU
 * (numacage started it; root). With `copies`, also the pages whose tag lies
 * inside those pages, not at a page's start (collectCopies).
 */
export async function countTaggedPages(
  pid: number,
  backing: NodeBacking,
  nonce: bigint,
  opts: { copies?: boolean } = {},
): Promise<WitnessReading> {
  const started = Date.now();
  const tag = pageTag(nonce);
  const pagemap = await open(`/proc/${pid}/pagemap`, 'r');
  const mem = await open(`/proc/${pid}/mem`, 'r').catch(async (err: Error) => {
    await pagemap.close();
    throw err;
  });
  const identities = new Set<string>();
  const copies = new Set<string>();
  let present = 0;
  /** A read that comes back short means QEMU is gone (exited, not yet reaped): no reading, not zero pages. */
  const readFully = async (f: typeof mem, buf: Buffer, length: number, position: number) => {
    const { bytesRead } = await f.read(buf, 0, length, position);
    if (bytesRead !== length) throw new Error(`read ${bytesRead} of ${length} bytes at ${position.toString(16)}`);
  };
  try {
    const pages = (backing.end - backing.start) / PAGE;
    const entries = Buffer.alloc(8 * READ_PAGES);
    const chunk = Buffer.alloc(PAGE * READ_PAGES);
    for (let first = 0; first < pages; first += READ_PAGES) {
      const n = Math.min(READ_PAGES, pages - first);
      const address = backing.start + first * PAGE;
      await readFully(pagemap, entries, 8 * n, (address / PAGE) * 8);
      const isPresent = (i: number) => (entries.readBigUInt64LE(8 * i) & PAGEMAP_PRESENT) !== 0n;
      // Only runs of present pages are read: reading a hole of a shared memfd would allocate it.
      for (let i = 0; i < n;) {
        if (!isPresent(i)) {
          i++;
          continue;
        }
        let j = i;
        while (j < n && isPresent(j)) j++;
        await readFully(mem, chunk, PAGE * (j - i), address + i * PAGE);
        collectTagged(chunk, j - i, tag, identities);
        if (opts.copies) collectCopies(chunk.subarray(0, PAGE * (j - i)), tag, copies);
        present += j - i;
        i = j;
      }
    }
  } finally {
    await pagemap.close();
    await mem.close();
  }
  return {
    node: backing.node,
    pages: identities.size,
    ...(opts.copies ? { copies: copies.size } : {}),
    presentPages: present,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
}

/**
 * Counts the distinct pages tagged with nonce in scratch disks' image files:
 * what the guest has written there (its swap), whatever it says. A qcow2
 * image keeps every guest block at its offset within a data cluster, so a
 * page the guest wrote at a 4 KiB boundary lies at one in the file; a page
 * written twice, or in two disks, counts once. QEMU writes through the
 * host's page cache, so a write the guest has seen complete is in what
 * this reads.
 */
export async function countTaggedPagesInFiles(paths: string[], nonce: bigint): Promise<SwapReading> {
  const started = Date.now();
  const tag = pageTag(nonce);
  const identities = new Set<string>();
  const chunk = Buffer.alloc(PAGE * READ_PAGES);
  for (const path of paths) {
    const file = await open(path, 'r');
    try {
      for (let position = 0; ; position += chunk.length) {
        const { bytesRead } = await file.read(chunk, 0, chunk.length, position);
        collectTagged(chunk, Math.floor(bytesRead / PAGE), tag, identities);
        if (bytesRead < chunk.length) break;
      }
    } finally {
      await file.close();
    }
  }
  const byPid: Record<string, number> = {};
  for (const identity of identities) {
    const pid = identity.slice(0, identity.indexOf(':'));
    byPid[pid] = (byPid[pid] ?? 0) + 1;
  }
  return { pages: identities.size, byPid, seconds: Math.round((Date.now() - started) / 100) / 10 };
}
