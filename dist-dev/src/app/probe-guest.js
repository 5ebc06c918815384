import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseNumactlHardware } from '../probes/numactl.js';
import { PCI_DEVICES_COMMAND, SYSFS_NODES_COMMAND, parsePciDevices, parseSysfsNodes } from '../probes/sysfs.js';
export async function saveProbeOutput(runDir, name, r) {
    await mkdir(join(runDir, 'probe'), { recursive: true });
    const trailer = [r.stderr ? `# stderr:\n${r.stderr}` : '', r.exitCode !== 0 ? `# exit: ${r.timedOut ? 'killed after the timeout' : r.signal ? `signal ${r.signal}` : r.exitCode}` : ''].filter(Boolean).join('\n');
    await writeFile(join(runDir, 'probe', `${name}.txt`), r.stdout + (trailer ? `\n${trailer}\n` : ''));
}
/** Raw outputs are kept in <runDir>/probe/<name>.txt; a failing command is an error with its stderr. */
export async function capture(guest, runDir, name, command, user = 'root') {
    const r = await guest.exec(command, { timeoutMs: 60_000, user });
    await saveProbeOutput(runDir, name, r);
    if (r.timedOut)
        throw new Error(`probe ${name} timed out: ${command}`);
    if (r.exitCode !== 0)
        throw new Error(`probe ${name} exited ${r.exitCode}: ${r.stderr.trim() || command}`);
    return r.stdout;
}
/** Kept as artifacts for the reader (and the reproducer): which kernel booted, with what command line, and its log. */
export async function probeKernelFacts(guest, runDir) {
    const release = await capture(guest, runDir, 'uname', 'uname -r');
    await capture(guest, runDir, 'dmesg', 'dmesg');
    return { release: release.trim() };
}
export async function probeTopology(guest, runDir) {
    const numactl = await capture(guest, runDir, 'numactl-hardware', 'numactl --hardware');
    const nodes = await capture(guest, runDir, 'sysfs-nodes', SYSFS_NODES_COMMAND);
    const pci = await capture(guest, runDir, 'pci-devices', PCI_DEVICES_COMMAND);
    return { numactl: parseNumactlHardware(numactl), sysfsNodes: parseSysfsNodes(nodes), pci: parsePciDevices(pci) };
}
//# sourceMappingURL=probe-guest.js.map