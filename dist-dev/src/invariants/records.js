import { ProbeError } from './spec.js';
/** The probe's JSON lines; anything else is ignored (a line cut short by an OOM kill, shell output). Pure. */
export function parseRecords(text) {
    const out = [];
    for (const line of text.split('\n')) {
        if (!line.startsWith('{'))
            continue;
        try {
            const r = JSON.parse(line);
            if (typeof r.probe === 'string' && typeof r.call === 'string')
                out.push(r);
        }
        catch {
            // Not a whole record.
        }
    }
    return out;
}
/** `### name` headed sections of a step's output → name → text. Pure. */
export function parseSections(text) {
    const out = {};
    let name;
    for (const line of text.split('\n')) {
        const head = /^### (\S+)$/.exec(line);
        if (head)
            out[(name = head[1])] = '';
        else if (name !== undefined)
            out[name] += `${line}\n`;
    }
    return out;
}
export function section(sections, name, step) {
    const text = sections[name];
    if (text === undefined)
        throw new ProbeError(`step ${step} printed no "${name}" section`);
    return text;
}
/** The records of one probe call; a ProbeError when there are fewer than `atLeast`. A "fatal" record means the probe gave up. */
export function recordsOf(records, probe, call, atLeast = 1) {
    const fatal = records.find((r) => r.fatal === true);
    if (fatal)
        throw new ProbeError(`the probe failed: ${fatal.call} gave ${String(fatal.errno)}`);
    const found = records.filter((r) => r.probe === probe && r.call === call);
    if (found.length < atLeast)
        throw new ProbeError(`the probe printed ${found.length} "${probe} ${call}" record(s), expected ${atLeast}`);
    return found;
}
export function num(r, key) {
    const v = r[key];
    if (typeof v !== 'number' || !Number.isFinite(v))
        throw new ProbeError(`probe record ${String(r.probe ?? '')} has no number "${key}" (${JSON.stringify(v)})`);
    return v;
}
/** errno name or null (success). */
export function errnoOf(r, key = 'errno') {
    const v = r[key];
    if (v === null)
        return null;
    if (typeof v !== 'string')
        throw new ProbeError(`probe record ${String(r.probe ?? '')} has no errno "${key}"`);
    return v;
}
/** Where every page of a range is; a placement that does not add up, or has an unreadable page, is a ProbeError. */
export class Placement {
    byNode;
    total;
    constructor(byNode, total) {
        this.byNode = byNode;
        this.total = total;
    }
    static of(raw, pages, what) {
        if (!raw || typeof raw !== 'object')
            throw new ProbeError(`${what}: no placement`);
        const byNode = new Map();
        const unreadable = [];
        let sum = 0;
        for (const [key, count] of Object.entries(raw)) {
            if (typeof count !== 'number' || count < 0)
                throw new ProbeError(`${what}: placement ${key} is ${JSON.stringify(count)}`);
            sum += count;
            if (/^\d+$/.test(key))
                byNode.set(Number(key), count);
            else if (count > 0)
                unreadable.push(`${count} ${key}`);
        }
        if (unreadable.length)
            throw new ProbeError(`${what}: the node of ${unreadable.join(', ')} page(s) could not be read`);
        if (pages <= 0 || sum !== pages)
            throw new ProbeError(`${what}: placement counts ${sum} pages of ${pages}`);
        return new Placement(byNode, sum);
    }
    on(node) {
        return this.byNode.get(node) ?? 0;
    }
    offNode(node) {
        return this.total - this.on(node);
    }
    toJSON() {
        return Object.fromEntries([...this.byNode].map(([n, c]) => [String(n), c]));
    }
}
/** The placement of a record (`placement`) and, where printed, before the call (`before.placement`). */
export function placements(r, what) {
    const pages = num(r, 'pages');
    const before = r.before?.placement;
    return { after: Placement.of(r.placement, pages, what), pages, ...(before !== undefined ? { before: Placement.of(before, pages, `${what} (before)`) } : {}) };
}
/** Probe calls whose errno is judged must run without root's CAP_SYS_NICE. */
export function assertUnprivileged(r, what) {
    if (num(r, 'uid') === 0)
        throw new ProbeError(`${what} ran as root, which bypasses the permission checks under test`);
}
//# sourceMappingURL=records.js.map