import { z } from 'zod';
import { SCHEMA_KEY, says } from '../schema/parse.js';
import { DEVICE_KIND_NAMES } from './device-kinds.js';

// JSON Schema patterns carry no flags, so the case-insensitive units are spelled out.
const SIZE_PATTERN = /^\s*(\d+)\s*([MGmg])?[iI]?[bB]?\s*$/;
const CPU_LIST_PATTERN = /^(\s*\d+(\s*-\s*\d+)?\s*(,\s*\d+(\s*-\s*\d+)?\s*)*)?$/;

/** "2G", "512M", "1536" (MiB) → MiB. */
export function parseSizeMiB(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = SIZE_PATTERN.exec(value);
  if (!m) return undefined;
  const mib = Number(m[1]) * ((m[2] ?? 'M').toUpperCase() === 'G' ? 1024 : 1);
  return mib > 0 && Number.isSafeInteger(mib) ? mib : undefined;
}

/** "0-1,3" → [0,1,3]; "" or [] → []. */
export function parseCpuList(value: unknown): number[] | undefined {
  if (Array.isArray(value)) return value.every((v) => Number.isInteger(v) && v >= 0) ? (value as number[]) : undefined;
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return [];
  if (typeof value !== 'string' || !CPU_LIST_PATTERN.test(value)) return undefined;
  const cpus: number[] = [];
  for (const part of value.split(',')) {
    const [lo, hi = lo] = part.split('-').map((x) => Number(x.trim())) as [number, number?];
    // A range is spelled out CPU by CPU: keep it to what a guest can have.
    if (hi! < lo || hi! - lo > 4096) return undefined;
    for (let c = lo; c <= hi!; c++) cpus.push(c);
  }
  return cpus;
}

const sizeMessage = 'must be a size such as "1G", "512M" or a number of MiB, above 0';
const size = z
  .union(
    [
      z.number(says(sizeMessage)).int(says(sizeMessage)).positive(says(sizeMessage)),
      z.string(says(sizeMessage)).regex(SIZE_PATTERN, says(sizeMessage)),
    ],
    says(sizeMessage),
  )
  .transform((v, ctx) => parseSizeMiB(v) ?? (ctx.addIssue({ code: 'custom', message: sizeMessage }), z.NEVER));

const cpuListMessage = 'must be a CPU list such as "0-1,3", "" for a CPU-less node, or a list of CPU numbers';
const cpuList = z
  .union(
    [
      z.string(says(cpuListMessage)).regex(CPU_LIST_PATTERN, says(cpuListMessage)),
      z.array(
        z.number(says(cpuListMessage)).int(says(cpuListMessage)).min(0, says(cpuListMessage)),
        says(cpuListMessage),
      ),
    ],
    says(cpuListMessage),
  )
  .transform((v, ctx) => parseCpuList(v) ?? (ctx.addIssue({ code: 'custom', message: cpuListMessage }), z.NEVER));

const nodeIdMessage = 'must be a node number, 0 to 1023';
const positiveInt = (message: string) => z.number(says(message)).int(says(message)).positive(says(message));

const node = z
  .strictObject(
    {
      id: z
        .number(says(nodeIdMessage))
        .int(says(nodeIdMessage))
        .min(0, says(nodeIdMessage))
        .max(1023, says(nodeIdMessage)),
      mem: size.meta({ description: "the node's memory" }),
      cpus: cpuList.optional().meta({ description: 'CPUs of the node: "0-1,3", or "" for a CPU-less node' }),
      hotplugCpus: cpuList.optional().meta({
        description:
          'CPU slots of the node that start absent: numbered after the "cpus" CPUs (-smp maxcpus), hot-added by the cpu-hotplug check',
      }),
      backend: z
        .enum(['memfd', 'ram'], says('must be "memfd" or "ram"'))
        .optional()
        .meta({ description: 'memory backend (default memfd)' }),
      share: z
        .boolean(says('must be true (MAP_SHARED) or false (MAP_PRIVATE)'))
        .optional()
        .meta({ description: 'memfd only, required: false = MAP_PRIVATE, true = MAP_SHARED' }),
      hugetlb: z
        .boolean(says('must be true or false'))
        .optional()
        .meta({ description: 'memfd backed by 2 MiB huge pages' }),
      hotplug: z
        .enum(['pc-dimm', 'virtio-mem'], says('must be "pc-dimm" or "virtio-mem"'))
        .optional()
        .meta({ description: 'cold-plug the memory as a device (no CPUs, a multiple of 128 MiB)' }),
      hmat: z
        .strictObject(
          {
            latencyNs: positiveInt('must be a whole number of ns above 0'),
            bandwidthMBs: positiveInt('must be a whole number of MB/s above 0'),
          },
          says('must be { "latencyNs": >0, "bandwidthMBs": >0 }'),
        )
        .optional()
        .meta({ description: 'HMAT figures seen from the CPU nodes; all nodes or none' }),
    },
    says('must be an object { "id", "mem", "cpus", "backend", "share" }'),
  )
  .superRefine((n, ctx) => {
    if ((n.backend ?? 'memfd') === 'memfd' && n.share === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['share'],
        message: 'must be true (MAP_SHARED) or false (MAP_PRIVATE) for a memfd backend',
      });
  });

const distanceRow = z.array(
  z.number(says('must be a whole number')).int(says('must be a whole number')),
  says('must be a row of whole numbers'),
);

/** A topology file (docs/topology.md) as written; semantic checks across fields are in validate.ts. */
export const TopologyFile = z
  .strictObject(
    {
      ...SCHEMA_KEY,
      name: z.string(says('must be a string')).optional(),
      description: z.string(says('must be a string')).optional(),
      memory: size.meta({ description: 'total guest RAM; must equal the sum of the nodes' }),
      cpus: positiveInt('must be a whole number of CPUs, 1 to 1024')
        .max(1024, says('must be a whole number of CPUs, 1 to 1024'))
        .meta({ description: 'number of vCPUs' }),
      nodes: z.array(node, says('must be a non-empty list of nodes')).min(1, says('must be a non-empty list of nodes')),
      distances: z
        .array(distanceRow, says('must be a square matrix of whole numbers, one row per node'))
        .optional()
        .meta({ description: 'square matrix; diagonal 10, others 11-254, symmetric' }),
      devices: z
        .array(
          z.strictObject(
            {
              kind: z.enum(DEVICE_KIND_NAMES, says(`must be ${DEVICE_KIND_NAMES.map((k) => `"${k}"`).join(' or ')}`)),
              node: z
                .number(says(nodeIdMessage))
                .int(says(nodeIdMessage))
                .min(0, says(nodeIdMessage))
                .max(1023, says(nodeIdMessage)),
            },
            says('must be an object { "kind", "node" }'),
          ),
          says('must be a list of { "kind", "node" }'),
        )
        .optional()
        .meta({ description: 'devices placed on a node, each behind its own pxb-pcie host bridge' }),
      cmdline: z
        .array(z.string(says('must be a string')), says('must be a list of strings'))
        .optional()
        .meta({ description: 'extra guest kernel command-line words' }),
    },
    says('the file must hold a JSON object'),
  )
  .meta({
    title: 'numacage topology',
    description: 'A guest NUMA topology for numacage --topology (docs/topology.md)',
  });
