import { basename } from 'node:path';
import type { ConfigError } from '../model/errors.js';
import type { Topology } from '../model/topology.js';
import { configError, issueLines } from '../schema/parse.js';
import { TopologyFile } from './schema.js';
import { validateTopology } from './validate.js';

export { parseCpuList, parseSizeMiB } from './schema.js';

/**
 * Turns a topology file's parsed JSON into a Topology, or throws one
 * ConfigError naming every problem found: by JSON path in the file, then
 * across fields (sizes, CPUs, distances, devices).
 */
export function parseTopology(raw: unknown, source: string): Topology {
  const parsed = TopologyFile.safeParse(raw);
  if (!parsed.success) throw topologyError(source, issueLines(parsed.error));
  const f = parsed.data;
  const topology: Topology = {
    name: f.name ?? basename(source, '.json'),
    description: f.description ?? '',
    memoryMiB: f.memory,
    cpus: f.cpus,
    nodes: f.nodes.map((n) => ({
      id: n.id,
      memMiB: n.mem,
      cpus: n.cpus ?? [],
      ...(n.hotplugCpus?.length ? { hotplugCpus: n.hotplugCpus } : {}),
      backend:
        n.backend === 'ram'
          ? { kind: 'ram' }
          : { kind: 'memfd', share: n.share!, ...(n.hugetlb ? { hugetlb: true } : {}) },
      ...(n.hotplug ? { hotplug: n.hotplug } : {}),
      ...(n.hmat ? { hmat: n.hmat } : {}),
    })),
    distances: (f.distances ?? []).flatMap((row, src) => row.map((value, dst) => ({ src, dst, value }))),
    devices: f.devices ?? [],
    cmdline: f.cmdline ?? [],
  };
  const rows = f.distances ?? [];
  const problems = rows.flatMap((row, src) =>
    row.length === rows.length ? [] : [`distances[${src}]: has ${row.length} entries, expected ${rows.length}`],
  );
  problems.push(...validateTopology(topology));
  if (problems.length > 0) throw topologyError(source, problems);
  return topology;
}

function topologyError(source: string, problems: string[]): ConfigError {
  return configError(
    `topology ${source}`,
    problems,
    'fix the topology file (format: docs/topology.md, schema: docs/schemas/topology.schema.json) or pick a built-in with --topology',
  );
}
