import { ConfigError } from '../model/errors.js';
import { validateTopology } from './validate.js';
const DEVICE_KINDS = ['virtio-net', 'virtio-blk'];
/** "2G", "512M", "1536" (MiB) → MiB. */
export function parseSizeMiB(value) {
    if (typeof value === 'number')
        return Number.isInteger(value) && value > 0 ? value : undefined;
    if (typeof value !== 'string')
        return undefined;
    const m = /^\s*(\d+)\s*([MG])?i?B?\s*$/i.exec(value);
    if (!m)
        return undefined;
    const n = Number(m[1]);
    const unit = (m[2] ?? 'M').toUpperCase();
    const mib = unit === 'G' ? n * 1024 : n;
    return mib > 0 ? mib : undefined;
}
/** "0-1,3" → [0,1,3]; "" or [] → []. */
export function parseCpuList(value) {
    if (Array.isArray(value))
        return value.every((v) => Number.isInteger(v) && v >= 0) ? value : undefined;
    if (value === undefined || value === null || value === '')
        return [];
    if (typeof value !== 'string')
        return undefined;
    const cpus = [];
    for (const part of value.split(',')) {
        const m = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(part);
        if (!m)
            return undefined;
        const lo = Number(m[1]);
        const hi = m[2] === undefined ? lo : Number(m[2]);
        if (hi < lo)
            return undefined;
        for (let c = lo; c <= hi; c++)
            cpus.push(c);
    }
    return cpus;
}
/**
 * Turns a topology file's parsed JSON into a Topology, or throws one
 * ConfigError naming every problem found (in the file and in the result).
 */
export function parseTopology(raw, source) {
    const problems = [];
    const obj = (typeof raw === 'object' && raw !== null ? raw : {});
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
        problems.push('the file must hold a JSON object');
    const memoryMiB = parseSizeMiB(obj.memory);
    if (memoryMiB === undefined)
        problems.push(`"memory" must be a size such as "3G" or "3072M" (got ${JSON.stringify(obj.memory)})`);
    const cpus = obj.cpus;
    if (!Number.isInteger(cpus) || cpus < 1)
        problems.push(`"cpus" must be a positive integer (got ${JSON.stringify(cpus)})`);
    const nodes = [];
    if (!Array.isArray(obj.nodes) || obj.nodes.length === 0)
        problems.push('"nodes" must be a non-empty list');
    else
        obj.nodes.forEach((n, i) => {
            const node = parseNode(n, `nodes[${i}]`, problems);
            if (node)
                nodes.push(node);
        });
    const distances = parseDistances(obj.distances, problems);
    const devices = [];
    if (obj.devices !== undefined && !Array.isArray(obj.devices))
        problems.push('"devices" must be a list');
    for (const [i, d] of (Array.isArray(obj.devices) ? obj.devices : []).entries()) {
        const dev = d;
        if (!DEVICE_KINDS.includes(dev.kind))
            problems.push(`devices[${i}].kind must be one of ${DEVICE_KINDS.join(', ')} (got ${JSON.stringify(dev.kind)})`);
        else if (!Number.isInteger(dev.node))
            problems.push(`devices[${i}].node must be a node id`);
        else
            devices.push({ kind: dev.kind, node: dev.node });
    }
    const cmdline = obj.cmdline ?? [];
    if (!Array.isArray(cmdline) || !cmdline.every((w) => typeof w === 'string'))
        problems.push('"cmdline" must be a list of strings');
    const topology = {
        name: typeof obj.name === 'string' ? obj.name : source,
        description: typeof obj.description === 'string' ? obj.description : '',
        memoryMiB: memoryMiB ?? 0,
        cpus: cpus ?? 0,
        nodes,
        distances,
        devices,
        cmdline: Array.isArray(cmdline) ? cmdline : [],
    };
    if (problems.length === 0)
        problems.push(...validateTopology(topology));
    if (problems.length > 0)
        throw topologyError(source, problems);
    return topology;
}
export function topologyError(source, problems) {
    return new ConfigError(`topology ${source} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`, 'fix the topology file (format: docs/topology.md) or pick a built-in with --topology');
}
function parseNode(raw, where, problems) {
    const n = (raw ?? {});
    const before = problems.length;
    if (!Number.isInteger(n.id) || n.id < 0)
        problems.push(`${where}.id must be a node number >= 0`);
    const memMiB = parseSizeMiB(n.mem);
    if (memMiB === undefined)
        problems.push(`${where}.mem must be a size such as "1G" (got ${JSON.stringify(n.mem)})`);
    const cpus = parseCpuList(n.cpus);
    if (cpus === undefined)
        problems.push(`${where}.cpus must be a CPU list such as "0-1" or "" (got ${JSON.stringify(n.cpus)})`);
    let backend;
    const kind = n.backend ?? 'memfd';
    if (kind === 'memfd') {
        if (typeof n.share !== 'boolean')
            problems.push(`${where}.share must be true (MAP_SHARED) or false (MAP_PRIVATE) for a memfd backend`);
        else
            backend = { kind: 'memfd', share: n.share, ...(n.hugetlb === true ? { hugetlb: true } : {}) };
    }
    else if (kind === 'ram')
        backend = { kind: 'ram' };
    else
        problems.push(`${where}.backend must be "memfd" or "ram" (got ${JSON.stringify(kind)})`);
    if (n.hotplug !== undefined && n.hotplug !== 'pc-dimm' && n.hotplug !== 'virtio-mem')
        problems.push(`${where}.hotplug must be "pc-dimm" or "virtio-mem" (got ${JSON.stringify(n.hotplug)})`);
    let hmat;
    if (n.hmat !== undefined) {
        const h = n.hmat;
        if (!Number.isInteger(h.latencyNs) || h.latencyNs <= 0 || !Number.isInteger(h.bandwidthMBs) || h.bandwidthMBs <= 0)
            problems.push(`${where}.hmat must be { "latencyNs": >0, "bandwidthMBs": >0 }`);
        else
            hmat = { latencyNs: h.latencyNs, bandwidthMBs: h.bandwidthMBs };
    }
    if (problems.length > before || !backend)
        return undefined;
    return {
        id: n.id, memMiB: memMiB, cpus: cpus, backend,
        ...(n.hotplug ? { hotplug: n.hotplug } : {}),
        ...(hmat ? { hmat } : {}),
    };
}
function parseDistances(raw, problems) {
    if (raw === undefined)
        return [];
    if (!Array.isArray(raw) || !raw.every((row) => Array.isArray(row) && row.every((v) => Number.isInteger(v)))) {
        problems.push('"distances" must be a square matrix of integers, one row per node');
        return [];
    }
    const matrix = raw;
    const out = [];
    matrix.forEach((row, src) => {
        if (row.length !== matrix.length)
            problems.push(`distances row ${src} has ${row.length} entries, expected ${matrix.length}`);
        row.forEach((value, dst) => out.push({ src, dst, value }));
    });
    return out;
}
//# sourceMappingURL=parse.js.map