import { parseNodeStates, parseZoneinfo } from '../probes/isolation-parsers.js';
import { parseSections, section } from './records.js';
export const KERNEL_STATE_STEP = {
    name: 'kernel-state',
    script: [
        'echo "### release"; uname -r',
        'echo "### cmdline"; cat /proc/cmdline',
        'echo "### node-states"; cd /sys/devices/system/node && for f in has_* possible online; do echo "$f $(cat $f)"; done',
        'echo "### zoneinfo"; cat /proc/zoneinfo',
        'echo "### private-node-log"; dmesg | grep -i "private.node" || true',
    ].join('\n'),
};
/** Parses the kernel-state step's output. Pure. */
export function parseKernelState(text) {
    const s = parseSections(text);
    const get = (name) => section(s, name, KERNEL_STATE_STEP.name);
    return {
        release: get('release').trim(),
        cmdline: get('cmdline').trim(),
        nodeStates: parseNodeStates(get('node-states')),
        zones: parseZoneinfo(get('zoneinfo')),
        privateNodeLog: get('private-node-log').split('\n').map((l) => l.trim()).filter(Boolean),
    };
}
//# sourceMappingURL=kernel-state.js.map