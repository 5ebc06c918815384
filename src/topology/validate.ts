import type { Topology } from '../model/topology.js';
import { DEVICE_KINDS, type DeviceKind, type DeviceKindSpec } from './device-kinds.js';

/** Every problem with a topology, worded for the user; empty when it is sound. */
export function validateTopology(t: Topology): string[] {
  const problems: string[] = [];
  const ids = t.nodes.map((n) => n.id);
  const dup = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (dup.length) problems.push(`node id ${[...new Set(dup)].join(', ')} is declared more than once`);
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  if (sorted.some((id, i) => id !== i))
    problems.push(`node ids must be 0..${t.nodes.length - 1} without gaps (got ${ids.join(', ')})`);

  const total = t.nodes.reduce((sum, n) => sum + n.memMiB, 0);
  if (total !== t.memoryMiB)
    problems.push(`node memory adds up to ${total} MiB but "memory" is ${t.memoryMiB} MiB: make them equal`);

  const owner = new Map<number, number>();
  for (const n of t.nodes) {
    for (const cpu of n.cpus) {
      if (cpu >= t.cpus) problems.push(`node ${n.id} lists CPU ${cpu}, but the guest has CPUs 0-${t.cpus - 1}`);
      const prev = owner.get(cpu);
      if (prev !== undefined) problems.push(`CPU ${cpu} is given to both node ${prev} and node ${n.id}`);
      owner.set(cpu, n.id);
    }
  }
  const slots = t.nodes.flatMap((n) => (n.hotplugCpus ?? []).map((cpu) => ({ cpu, node: n.id })));
  for (const { cpu, node } of slots) {
    const prev = owner.get(cpu);
    if (prev !== undefined) problems.push(`CPU ${cpu} is given to both node ${prev} and node ${node}`);
    owner.set(cpu, node);
  }
  const maxCpus = t.cpus + slots.length;
  const misnumbered = slots.filter(({ cpu }) => cpu < t.cpus || cpu >= maxCpus).map(({ cpu }) => cpu);
  if (misnumbered.length)
    problems.push(
      `hot-plug CPU ${misnumbered.join(', ')}: number the slots after the boot CPUs, ${t.cpus}-${maxCpus - 1}`,
    );
  const unplaced = [...Array(t.cpus).keys()].filter((c) => !owner.has(c));
  if (unplaced.length) problems.push(`CPU ${unplaced.join(', ')} belongs to no node: give every CPU a node`);
  if (!t.nodes.some((n) => n.cpus.length > 0)) problems.push('no node has a CPU');

  const known = new Set(ids);
  const dist = new Map<string, number>();
  for (const d of t.distances) {
    if (!known.has(d.src) || !known.has(d.dst)) {
      problems.push(`distance ${d.src}->${d.dst} names a node that does not exist`);
      continue;
    }
    dist.set(`${d.src},${d.dst}`, d.value);
    if (d.src === d.dst && d.value !== 10)
      problems.push(`distance ${d.src}->${d.dst} must be 10 (a node's distance to itself)`);
    if (d.src !== d.dst && (d.value <= 10 || d.value > 254))
      problems.push(`distance ${d.src}->${d.dst} is ${d.value}: must be 11..254`);
  }
  if (t.distances.length > 0 && t.distances.length !== t.nodes.length ** 2)
    problems.push(`distances must be a ${t.nodes.length}x${t.nodes.length} matrix`);
  for (const [key, value] of dist) {
    const [s, d] = key.split(',');
    const back = dist.get(`${d},${s}`);
    if (back !== undefined && back !== value)
      problems.push(`distances are not symmetric: ${s}->${d} is ${value} but ${d}->${s} is ${back}`);
  }

  for (const n of t.nodes) {
    if (n.hotplug && (n.cpus.length || n.hotplugCpus?.length))
      problems.push(`node ${n.id} is hot-plugged memory and cannot have CPUs`);
    if (n.hotplug && n.memMiB % 128 !== 0)
      problems.push(`node ${n.id} is hot-plugged: its memory must be a multiple of 128 MiB (a Linux memory block)`);
  }
  if (t.nodes.length && t.nodes.every((n) => n.hotplug))
    problems.push('every node is hot-plugged: the guest needs boot memory on at least one node');
  const withHmat = t.nodes.filter((n) => n.hmat).length;
  if (withHmat && withHmat !== t.nodes.length) problems.push('give "hmat" figures for every node or for none');

  for (const dev of t.devices)
    if (!known.has(dev.node)) problems.push(`device ${dev.kind} is placed on node ${dev.node}, which does not exist`);
  for (const [kind, spec] of Object.entries(DEVICE_KINDS) as [DeviceKind, DeviceKindSpec][]) {
    const placed = t.devices.filter((d) => d.kind === kind).length;
    if (spec.max !== undefined && placed > spec.max)
      problems.push(`${placed} ${kind} devices: a topology places at most ${spec.max} (${spec.describe})`);
  }
  return problems;
}
