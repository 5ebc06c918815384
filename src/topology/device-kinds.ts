/**
 * The devices a topology can place on a node, one record per kind: a new
 * kind is one record here (the compiler then asks for each field) plus its
 * golden QEMU argv test. Each device sits behind its own pxb-pcie host
 * bridge on its node (qemu/args.ts makes the bridge and the root port).
 */
export interface DeviceKindSpec {
  /** For `plan`, the docs and the schema's description. */
  describe: string;
  /** The PCI class (class code >> 8) the guest shows the device with: the topology check finds it by it. */
  pciClass: number;
  /** How many a topology may hold, when limited. */
  max?: number;
  /** Whether the device takes a scratch disk of its own (the plan makes one per such device, in order). */
  scratchDisk: boolean;
  /** Its QEMU arguments behind root port `bus`, as device `id`; `disk` is its scratch disk (file, drive id), when it takes one. Pure. */
  qemuArgs(p: { id: string; bus: string; disk?: { file: string; id: string } }): string[];
}

export const DEVICE_KINDS = {
  'virtio-net': {
    describe: 'the guest NIC (QEMU user networking: it carries SSH)',
    pciClass: 0x0200,
    max: 1,
    scratchDisk: false,
    qemuArgs: ({ id, bus }) => ['-device', `virtio-net-pci,id=${id},netdev=net0,bus=${bus}`],
  },
  'virtio-blk': {
    describe: 'a scratch disk (an empty qcow2 in the run dir)',
    pciClass: 0x0100,
    scratchDisk: true,
    qemuArgs: ({ id, bus, disk }) => [
      '-drive',
      `file=${disk!.file},if=none,id=${disk!.id},format=qcow2`,
      '-device',
      `virtio-blk-pci,id=${id},drive=${disk!.id},bus=${bus}`,
    ],
  },
} satisfies Record<string, DeviceKindSpec>;

export type DeviceKind = keyof typeof DEVICE_KINDS;
export const DEVICE_KIND_NAMES = Object.keys(DEVICE_KINDS) as [DeviceKind, ...DeviceKind[]];
export const deviceKind = (kind: DeviceKind): DeviceKindSpec => DEVICE_KINDS[kind];
