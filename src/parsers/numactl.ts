interface NumactlNode {
  id: number;
  cpus: number[];
  sizeMiB: number;
  freeMiB: number;
}

export interface NumactlHardware {
  nodes: NumactlNode[];
  /** distances[i][j] between the i-th and j-th listed nodes, in node id order. */
  distances: number[][];
  distanceNodeIds: number[];
}

/** Parses `numactl --hardware`. Pure. */
export function parseNumactlHardware(text: string): NumactlHardware {
  const nodes = new Map<number, NumactlNode>();
  const get = (id: number) => {
    let n = nodes.get(id);
    if (!n) nodes.set(id, (n = { id, cpus: [], sizeMiB: 0, freeMiB: 0 }));
    return n;
  };
  const distances: number[][] = [];
  let distanceNodeIds: number[] = [];
  let inDistances = false;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    let m: RegExpExecArray | null;
    if ((m = /^node (\d+) cpus:\s*(.*)$/.exec(line)))
      get(Number(m[1])).cpus = m[2]!.trim() ? m[2]!.trim().split(/\s+/).map(Number) : [];
    else if ((m = /^node (\d+) size: (\d+) MB$/.exec(line))) get(Number(m[1])).sizeMiB = Number(m[2]);
    else if ((m = /^node (\d+) free: (\d+) MB$/.exec(line))) get(Number(m[1])).freeMiB = Number(m[2]);
    else if (/^node distances:/.test(line)) inDistances = true;
    else if (inDistances && (m = /^node\s+([\d\s]+)$/.exec(line)))
      distanceNodeIds = m[1]!.trim().split(/\s+/).map(Number);
    else if (inDistances && (m = /^\s*(\d+):\s+([\d\s]+)$/.exec(line)))
      distances.push(m[2]!.trim().split(/\s+/).map(Number));
  }
  return { nodes: [...nodes.values()].sort((a, b) => a.id - b.id), distances, distanceNodeIds };
}
