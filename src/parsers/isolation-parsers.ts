import { parseCpuList } from '../topology/parse.js';

export interface Zone {
  node: number;
  zone: string;
  present: number;
  managed: number;
  /** Free pages in the buddy lists ("pages free"). */
  free: number;
  /** Pages on the per-CPU lists (the pagesets' counts): allocated from the buddy lists, yet free. */
  perCpu: number;
}

/** /proc/zoneinfo → one entry per (node, zone). Pure. */
export function parseZoneinfo(text: string): Zone[] {
  const zones: Zone[] = [];
  let cur: Zone | undefined;
  for (const line of text.split('\n')) {
    const head = /^Node (\d+), zone\s+(\S+)/.exec(line);
    if (head) {
      cur = { node: Number(head[1]), zone: head[2]!, present: 0, managed: 0, free: 0, perCpu: 0 };
      zones.push(cur);
      continue;
    }
    if (!cur) continue;
    const m = /^\s+(present|managed)\s+(\d+)$/.exec(line);
    if (m) cur[m[1] as 'present' | 'managed'] = Number(m[2]);
    const free = /^\s+pages free\s+(\d+)$/.exec(line);
    if (free) cur.free = Number(free[1]);
    const count = /^\s+count:\s+(\d+)$/.exec(line);
    if (count) cur.perCpu += Number(count[1]);
  }
  return zones;
}

/** `has_normal_memory 0` lines → file name → node list. Pure. */
export function parseNodeStates(text: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s*(.*)$/.exec(line.trim());
    if (m && m[1]) out[m[1]] = parseCpuList(m[2]!.trim()) ?? [];
  }
  return out;
}

export interface MemoryTiers {
  demotionEnabled: boolean;
  tiers: { name: string; nodes: number[] }[];
}

/** The tiers section of guest/scripts/demotion.sh: "demotion_enabled V", then "memory_tierN NODES" lines. Pure. */
export function parseMemoryTiers(text: string): MemoryTiers {
  const tiers: MemoryTiers['tiers'] = [];
  let demotionEnabled = false;
  for (const line of text.split('\n')) {
    const [name, rest = ''] = line.trim().split(/\s+(.*)/);
    if (name === 'demotion_enabled') demotionEnabled = /^(true|1|Y)/i.test(rest);
    else if (name?.startsWith('memory_tier')) tiers.push({ name, nodes: parseCpuList(rest.trim()) ?? [] });
  }
  return { demotionEnabled, tiers };
}

/** /sys/devices/system/node/nodeN/numastat → counter → value. Pure. */
export function parseNumastat(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+) (\d+)$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}
