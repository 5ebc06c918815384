/**
 * The devices a topology can place on a node, one record per kind: a new
 * kind is one record here (the compiler then asks for each field) plus its
 * golden QEMU argv test. A device sits behind its own pxb-pcie host bridge
 * on its node (qemu/args.ts makes the bridge and the root port), so the
 * guest learns its node from ACPI (_PXM), or, where QEMU cannot serve it
 * there, on pcie.0 with its node given by the guest (see vhost-user-net).
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
  /** 'pxb': behind a pxb-pcie on its node; 'root-bus': on pcie.0, its node written by the guest before its driver binds. */
  attach: 'pxb' | 'root-bus';
  /** A host process outside QEMU that serves the device: numacage starts one per device before QEMU. */
  backend?: 'vhost-user';
  /** It offers VIRTIO_F_ACCESS_PLATFORM: the guest maps its rings and buffers through the DMA API. */
  dmaApi?: true;
  /**
   * Its QEMU arguments on `bus` (at `addr` on pcie.0), as device `id`; `disk` is its scratch disk (file,
   * drive id), when it takes one; `socket` and `mac`: its backend's vhost-user socket and its MAC. Pure.
   */
  qemuArgs(p: {
    id: string;
    bus: string;
    addr?: string;
    disk?: { file: string; id: string };
    socket?: string;
    mac?: string;
  }): string[];
}

/** The MAC of the i-th placed device that has a backend: the guest finds its interface by it. */
export const backendMac = (index: number) => `52:54:00:6e:63:${index.toString(16).padStart(2, '0')}`;

/**
 * Why a vhost-user NIC sits on pcie.0 with legacy interrupts (QEMU 7.2, Debian 12, seen under TCG):
 * with MSI-X, QEMU segfaults when the driver starts the device (vhost-user turns off guest notifier
 * masking, and virtio-pci then takes the KVM irqfd path without KVM); behind a pxb-pcie, INTx never
 * reaches the guest (the expander bus's ACPI _PRT routes through PIIX-style links that q35 does not
 * drive). So: pcie.0, vectors=0, and the guest writes its node before the driver binds.
 */
const VHOST_USER_NET_WORKAROUND = 'vectors=0';

/**
 * The backend reaches only the guest memory QEMU shares with it, and the device says so: with
 * VIRTIO_F_ACCESS_PLATFORM (iommu_platform=on, modern virtio only) the guest's virtio core maps every
 * ring and buffer through the DMA API, where a kernel can bounce them into memory the device sees
 * (the series' DMA pool on P). There is no vIOMMU: dma-direct stays in charge.
 */
const DEVICE_SEES_PART_OF_RAM = 'iommu_platform=on,disable-legacy=on';

export const DEVICE_KINDS = {
  'virtio-net': {
    describe: 'the guest NIC (QEMU user networking: it carries SSH)',
    pciClass: 0x0200,
    max: 1,
    scratchDisk: false,
    attach: 'pxb',
    qemuArgs: ({ id, bus }) => ['-device', `virtio-net-pci,id=${id},netdev=net0,bus=${bus}`],
  },
  'vhost-user-net': {
    describe:
      'a NIC served by a host process outside QEMU (DPDK testpmd, vhost-user): it sees only the guest memory QEMU shares with it',
    pciClass: 0x0200,
    scratchDisk: false,
    attach: 'root-bus',
    backend: 'vhost-user',
    dmaApi: true,
    qemuArgs: ({ id, bus, addr, socket, mac }) => [
      '-chardev',
      `socket,id=${id}-chr,path=${socket!}`,
      '-netdev',
      `vhost-user,id=${id}-net,chardev=${id}-chr`,
      '-device',
      `virtio-net-pci,id=${id},netdev=${id}-net,bus=${bus},addr=${addr!},mac=${mac!},${VHOST_USER_NET_WORKAROUND},${DEVICE_SEES_PART_OF_RAM}`,
    ],
  },
  'virtio-blk': {
    describe: 'a scratch disk (an empty qcow2 in the run dir)',
    pciClass: 0x0100,
    scratchDisk: true,
    attach: 'pxb',
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
