import { parseNumastat } from '../probes/isolation-parsers.js';
import { parseNodeMeminfo } from '../probes/sysfs.js';
import { num, parseRecords, parseSections, Placement, recordsOf, section } from './records.js';
import { exitStatus, GUEST_PROBE_PATH, KILLED, nodeFile, PROBE_USER } from './shell.js';
import { ProbeError } from './spec.js';
const STEP_MIB = 32;
const hugePool = (node) => nodeFile(node, 'hugepages/hugepages-2048kB/nr_hugepages');
/**
 * A shell script that fills memory until it is answered: it protects sshd and
 * itself from the OOM killer, grows the pressed node's HugeTLB pool (no page
 * is zeroed, so it takes a moment) to leave keepMiB free, runs the probe's
 * fill as the unprivileged user with oom_score_adj 1000 for free + margin
 * MiB, and prints the OOM killer's lines logged after its own marker. The
 * pool is emptied again at the end.
 */
export function fillScript(plan) {
    const { press, keepMiB, marginMiB, bindTo, watch } = plan;
    const freeMiB = (n) => `$(awk '/MemFree/ {print int($4/1024)}' ${nodeFile(n, 'meminfo')})`;
    return [
        `echo "### before"; cat ${nodeFile(watch, 'numastat')}; grep -E 'AnonPages|MemFree' ${nodeFile(watch, 'meminfo')}`,
        'for pid in $(pgrep -x sshd) $$; do echo -1000 > /proc/$pid/oom_score_adj; done',
        `pool=${hugePool(press)}; pages=0`,
        `if [ -w $pool ]; then pages=$(( (${freeMiB(press)} - ${keepMiB}) / 2 )); [ $pages -gt 0 ] && { echo $pages > $pool 2>/dev/null || true; }; pages=$(cat $pool); fi`,
        `free=${freeMiB(press)}; asked=$(( (free + ${marginMiB}) / ${STEP_MIB} * ${STEP_MIB} + ${STEP_MIB} ))`,
        'marker="numacage-fill-$$-$(date +%s%N)"; echo "$marker" > /dev/kmsg',
        `echo "### fill"; echo "pressed ${press} pool_pages $pages free_mib $free asked_mib $asked"`,
        `(echo 1000 > /proc/self/oom_score_adj; exec setpriv --reuid=${PROBE_USER} --regid=${PROBE_USER} --init-groups ${GUEST_PROBE_PATH} fill $asked ${STEP_MIB}${bindTo !== undefined ? ` ${bindTo}` : ''}); echo "# exit $?"`,
        `echo "### oom"; dmesg | sed -n "/$marker/,\\$p" | grep -E 'invoked oom-killer|Killed process|oom-kill:' || true`,
        `echo "### after"; cat ${nodeFile(watch, 'numastat')}; grep -E 'AnonPages|MemFree' ${nodeFile(watch, 'meminfo')}`,
        '[ -w $pool ] && echo 0 > $pool',
        'true',
    ].join('\n');
}
/**
 * Reads a fill and proves it ran: a start record, steps whose placements add
 * up, and an ending that is either the done record or a SIGKILL with the OOM
 * killer's line naming the fill's pid. Anything else is a ProbeError. Pure.
 */
export function parseFill(text, what) {
    const s = parseSections(text);
    const fillText = section(s, 'fill', what);
    const head = /pressed (\d+) pool_pages (\d+) free_mib (-?\d+) asked_mib (\d+)/.exec(fillText);
    if (!head)
        throw new ProbeError(`${what}: the fill script did not say what it asked for`);
    const records = parseRecords(fillText);
    const status = exitStatus(fillText, what);
    if (status !== 0 && status !== KILLED) {
        const fatal = records.find((r) => r.fatal === true);
        throw new ProbeError(`${what}: the fill exited ${status} on its own${fatal ? ` (${fatal.call} gave ${String(fatal.errno)})` : ''}${status === 126 || status === 127 ? ' (could not be run)' : ''}`);
    }
    const [start] = recordsOf(records, 'fill', 'start');
    const pid = num(start, 'pid');
    const askedMiB = Number(head[4]);
    if (num(start, 'mib') !== askedMiB)
        throw new ProbeError(`${what}: the fill started for ${num(start, 'mib')} MiB, the script asked ${askedMiB}`);
    const steps = recordsOf(records, 'fill', 'fault');
    const pagesByNode = {};
    steps.forEach((r, i) => {
        for (const [node, count] of Placement.of(r.placement, num(r, 'pages'), `${what} step ${i + 1}`).byNode)
            pagesByNode[node] = (pagesByNode[node] ?? 0) + count;
    });
    const reachedMiB = num(steps.at(-1), 'mib');
    const oomLines = section(s, 'oom', what).split('\n').filter(Boolean);
    let ending;
    if (status === 0) {
        if (!records.some((r) => r.call === 'done') || reachedMiB < askedMiB)
            throw new ProbeError(`${what}: the fill exited 0 after ${reachedMiB} of ${askedMiB} MiB without finishing`);
        ending = 'completed';
    }
    else {
        if (!oomLines.some((l) => new RegExp(`Killed process ${pid}\\b`).test(l)))
            throw new ProbeError(`${what}: the fill (pid ${pid}) died of SIGKILL after ${reachedMiB} MiB, but the OOM killer did not name it in dmesg`);
        ending = 'oom-killed';
    }
    const anon = (name) => parseNodeMeminfo(section(s, name, what)).AnonPages;
    const before = anon('before');
    const after = anon('after');
    if (before === undefined || after === undefined)
        throw new ProbeError(`${what}: no AnonPages in node meminfo`);
    return {
        askedMiB, reachedMiB, freeMiB: Number(head[3]), poolPages: Number(head[2]), ending, pagesByNode, oomLines,
        numastatBefore: parseNumastat(section(s, 'before', what)), numastatAfter: parseNumastat(section(s, 'after', what)),
        anonPagesKiB: { before, after },
    };
}
//# sourceMappingURL=fill.js.map