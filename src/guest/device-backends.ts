import { join } from 'node:path';
import type { Logger } from '../log.js';
import { InfraError } from '../model/errors.js';
import type { Topology } from '../model/topology.js';
import { placedDeviceId, rootBusSlot, vhostSocketPath } from '../qemu/args.js';
import { deviceKind } from '../topology/device-kinds.js';
import { startVhostBackend, type VhostBackend } from '../adapters/vhost-backend.js';
import type { ExecResult } from './ssh.js';

let started = 0;

/** The host processes that serve a guest's devices, by placed device id (dev0, dev1...). */
export type DeviceBackends = Map<string, VhostBackend>;

/**
 * One backend per device that has one, each logging to <runDir>/<id>-backend.log, with its socket
 * where the QEMU argv expects it. Started before QEMU, which connects to them as it starts.
 */
export async function startDeviceBackends(
  topology: Topology,
  qmpSocket: string,
  runDir: string,
  log: Logger,
): Promise<DeviceBackends> {
  const backends: DeviceBackends = new Map();
  try {
    for (const [i, dev] of topology.devices.entries()) {
      if (deviceKind(dev.kind).backend !== 'vhost-user') continue;
      const id = placedDeviceId(i);
      backends.set(
        id,
        await startVhostBackend({
          socket: vhostSocketPath(qmpSocket, id),
          // DPDK's runtime dir (/var/run/dpdk/<prefix>) must differ for each testpmd, also across guests of one run.
          filePrefix: `numacage-${process.pid}-${started++}`,
          logPath: join(runDir, `${id}-backend.log`),
          log,
        }),
      );
    }
  } catch (err) {
    await stopDeviceBackends(backends);
    throw err;
  }
  return backends;
}

export async function stopDeviceBackends(backends: DeviceBackends): Promise<void> {
  await Promise.all([...backends.values()].map((b) => b.stop()));
}

/**
 * The guest command that gives each device on pcie.0 the node its topology places it on: unbind
 * its driver, write the node into sysfs (the kernel logs a [Firmware Bug] line and taints itself
 * with I), bind again, so that its driver allocates as a device of that node would. Undefined when
 * no device needs it. Pure.
 */
export function deviceNodeCommand(topology: Topology): string | undefined {
  const lines = topology.devices.flatMap((dev, i) => {
    if (deviceKind(dev.kind).attach !== 'root-bus') return [];
    const pci = `0000:00:${rootBusSlot(i).toString(16).padStart(2, '0')}.0`;
    const d = `/sys/bus/pci/devices/${pci}`;
    return [
      `drv=$(basename "$(readlink ${d}/driver)")`,
      `echo ${pci} > /sys/bus/pci/drivers/$drv/unbind`,
      `echo ${dev.node} > ${d}/numa_node`,
      `echo ${pci} > /sys/bus/pci/drivers/$drv/bind`,
      `test "$(cat ${d}/numa_node)" = ${dev.node}`,
    ];
  });
  return lines.length ? ['set -e', ...lines].join('\n') : undefined;
}

/** Runs deviceNodeCommand in the guest; an InfraError naming what the guest said when it fails. */
export async function giveDevicesTheirNodes(
  topology: Topology,
  exec: (command: string) => Promise<ExecResult>,
): Promise<void> {
  const command = deviceNodeCommand(topology);
  if (!command) return;
  const r = await exec(command);
  if (r.exitCode !== 0)
    throw new InfraError(
      `the guest could not move its pcie.0 devices to their nodes (exit ${r.exitCode ?? r.signal}): ${r.stderr.trim()}`,
      'the guest kernel needs CONFIG_NUMA and a virtio-pci driver it can unbind; see docs/devices.md',
    );
}
