import { readJsonFile } from '../adapters/json-file.js';
import { ConfigError } from '../model/errors.js';
import type { Topology } from '../model/topology.js';
import { builtinTopology, builtinTopologyNames } from '../topology/builtin.js';
import { parseTopology } from '../topology/parse.js';

/** A built-in topology name, or a path to a topology JSON file. */
export async function resolveTopology(nameOrPath: string): Promise<Topology> {
  const builtin = builtinTopology(nameOrPath);
  if (builtin) return builtin;
  if (!nameOrPath.includes('/') && !nameOrPath.endsWith('.json'))
    throw new ConfigError(
      `unknown topology "${nameOrPath}"`,
      `use a built-in (${builtinTopologyNames().join(', ')}) or a path to a topology .json file`,
    );
  return parseTopology(readJsonFile(nameOrPath, 'topology file'), nameOrPath);
}
