import type { MemoryBackend, Topology } from '../model/topology.js';
import { posix } from 'node:path';
import { backendMac, deviceKind } from '../topology/device-kinds.js';

export type Accel = 'kvm' | 'tcg';

export interface QemuLaunch {
  topology: Topology;
  accel: Accel;
  /** -cpu model: 'host' under KVM, 'max' under TCG or when KVM rejects host. */
  cpuModel: string;
  kernel: string;
  initrd?: string;
  cmdline: string;
  /** qcow2 overlay of the root image; always on pcie.0. */
  rootDisk: string;
  /** One scratch disk per virtio-blk device placed on a node, in topology order. */
  scratchDisks: string[];
  qmpSocket: string;
  /** Host port on 127.0.0.1 forwarded to the guest's sshd (a plan's slot until boot). */
  sshPort: number | string;
}

/** The serial console goes to QEMU's stdout, where numacage reads it live. */
export const CONSOLE_CHARDEV = 'stdio,id=console,signal=off';

/** The QOM id of the i-th placed device (/machine/peripheral/dev<i>), by which QMP finds it. */
export const placedDeviceId = (index: number) => `dev${index}`;

/**
 * The guest's user network is restricted (restrict=on): it reaches nothing on the host or beyond but
 * these forwards. TCP to TRAFFIC_HOST:9 (discard) and :19 (chargen) goes, per connection, through socat
 * to a unix socket next to the QMP socket, where the traffic step's sink and source listen.
 */
export const TRAFFIC_HOST = '10.0.2.100';
export const TRAFFIC_PORTS = { sink: 9, source: 19 } as const;
export const trafficSocketPath = (qmpSocket: string, end: keyof typeof TRAFFIC_PORTS) =>
  posix.join(posix.dirname(qmpSocket), `traffic-${end}.sock`);
/** QEMU's option syntax: a comma inside a value is written twice. */
const optionValue = (s: string) => s.replaceAll(',', ',,');

/** The vhost-user socket of placed device `id`'s backend: next to the QMP socket (a unix socket path stays under 108 bytes). */
export const vhostSocketPath = (qmpSocket: string, id: string) =>
  posix.join(posix.dirname(qmpSocket), `${id}-vhost.sock`);

/**
 * DPDK testpmd as the vhost-user server on `socket`: no huge pages, no PCI devices, every frame sent
 * back with its MACs swapped. 'forwarding' (a reproducer's) forwards from the start and prints its
 * counters every second; 'on-demand' (a run's) waits at its prompt, forwarding only between `start`
 * and `stop` (its forwarding core polls without pause: the rest of the time it takes no CPU).
 * `filePrefix` names its runtime dir (/var/run/dpdk/<prefix>), which must differ for each testpmd. Pure.
 */
export function vhostBackendArgs(socket: string, filePrefix: string, mode: 'forwarding' | 'on-demand'): string[] {
  return [
    '--no-huge',
    '-m',
    '512',
    '--no-pci',
    '--vdev',
    `net_vhost0,iface=${socket},iommu-support=1`,
    `--file-prefix=${filePrefix}`,
    '-l',
    '0-1',
    '--',
    ...(mode === 'on-demand' ? ['-i'] : []),
    '--port-topology=loop',
    '--forward-mode=macswap',
    '--total-num-mbufs=4096',
    ...(mode === 'forwarding' ? ['--stats-period=1'] : []),
  ];
}

/** The pcie.0 slot of the i-th placed device when it attaches to the root bus (slots 0x10 and up are free). */
export const rootBusSlot = (index: number) => 0x10 + index;

const PXB_FIRST_BUS = 64;
const PXB_BUS_STRIDE = 32;

function backendObject(id: string, memMiB: number, backend: MemoryBackend): string {
  if (backend.kind === 'ram') return `memory-backend-ram,id=${id},size=${memMiB}M`;
  // memfd's share defaults to on, so share=off must be spelled out.
  const huge = backend.hugetlb ? ',hugetlb=on,hugetlbsize=2M' : '';
  return `memory-backend-memfd,id=${id},size=${memMiB}M,share=${backend.share ? 'on' : 'off'}${huge}`;
}

function cpuRanges(cpus: number[]): string {
  const sorted = [...cpus].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    ranges.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return ranges.join(',');
}

/**
 * x86 Linux counts QEMU's hot-plug CPU slots (disabled MADT entries) only under a hypervisor it
 * recognises (acpi_is_processor_usable()), and TCG is none. Under TCG a topology with a slot
 * therefore boots as VMware's guest: no CPUID hypervisor bit, a DMI serial that names VMware, and
 * QEMU's VMware backdoor port (q35's vmport, on by default), which answers the kernel's version
 * query. The guest kernel needs CONFIG_DMI (guest-base.config has it).
 */
const VMWARE_SERIAL = 'VMware-numacage';
/** TCG's translation buffer for such a guest, in MiB: the most QEMU 7.2 takes on an x86_64 host. */
const TCG_TB_MIB = 2048;

const bootsAsVmware = (t: Topology, accel: Accel) => accel === 'tcg' && t.nodes.some((n) => n.hotplugCpus?.length);

/** The -cpu value: the model, without the CPUID hypervisor bit for VMware's guest. Pure. */
export const cpuArgument = (t: Topology, accel: Accel, cpuModel: string) =>
  bootsAsVmware(t, accel) ? `${cpuModel},-hypervisor` : cpuModel;

/** The QEMU argv (without the binary) for a guest with the given topology. Pure. */
export function buildQemuArgs(l: QemuLaunch): string[] {
  const t = l.topology;
  const hotplugged = t.nodes.filter((n) => n.hotplug);
  const bootMiB = t.nodes.filter((n) => !n.hotplug).reduce((sum, n) => sum + n.memMiB, 0);
  const dimms = hotplugged.filter((n) => n.hotplug === 'pc-dimm').length;
  const memory = hotplugged.length
    ? `${bootMiB}M,slots=${Math.max(dimms, 1)},maxmem=${t.memoryMiB}M`
    : `${t.memoryMiB}M`;
  const hmat = t.nodes.some((n) => n.hmat);
  const initiators = t.nodes.filter((n) => n.cpus.length).map((n) => n.id);
  const maxCpus = t.cpus + t.nodes.reduce((sum, n) => sum + (n.hotplugCpus?.length ?? 0), 0);
  const vmware = bootsAsVmware(t, l.accel);
  const args = [
    '-name',
    `numacage-${t.name}`,
    '-machine',
    `q35${vmware ? '' : `,accel=${l.accel}`}${hmat ? ',hmat=on' : ''}`,
    // The largest translation buffer: QEMU 7.2 aborts on a vCPU hot-added once the buffer is full
    // (-machine accel= and -accel exclude each other).
    ...(vmware ? ['-accel', `tcg,tb-size=${TCG_TB_MIB}`] : []),
    '-cpu',
    cpuArgument(t, l.accel, l.cpuModel),
    ...(vmware ? ['-smbios', `type=1,serial=${VMWARE_SERIAL}`] : []),
    // CPUs of different nodes must not share a package (QEMU's default puts them all in one, and the
    // kernel warns about an LLC that spans nodes); a hot-plug slot is a socket of its own.
    '-smp',
    maxCpus > t.cpus
      ? `${t.cpus},maxcpus=${maxCpus},sockets=${maxCpus}`
      : initiators.length > 1
        ? `${t.cpus},sockets=${t.cpus}`
        : String(t.cpus),
    '-m',
    memory,
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-no-reboot',
  ];
  for (const node of t.nodes) {
    const mem = `mem${node.id}`;
    args.push('-object', backendObject(mem, node.memMiB, node.backend));
    // QEMU takes one cpus= per contiguous range.
    const all = [...node.cpus, ...(node.hotplugCpus ?? [])];
    const cpus = all.length
      ? cpuRanges(all)
          .split(',')
          .map((r) => `,cpus=${r}`)
          .join('')
      : '';
    const memdev = node.hotplug ? '' : `,memdev=${mem}`;
    const initiator = hmat ? `,initiator=${node.cpus.length ? node.id : initiators[0]}` : '';
    args.push('-numa', `node,nodeid=${node.id}${cpus}${memdev}${initiator}`);
  }
  // Validation keeps distances symmetric, and QEMU fills in the reverse direction.
  for (const d of t.distances) if (d.src < d.dst) args.push('-numa', `dist,src=${d.src},dst=${d.dst},val=${d.value}`);
  for (const initiator of hmat ? initiators : []) {
    for (const target of t.nodes) {
      const lb = `hmat-lb,initiator=${initiator},target=${target.id},hierarchy=memory`;
      args.push('-numa', `${lb},data-type=access-latency,latency=${target.hmat!.latencyNs}`);
      args.push('-numa', `${lb},data-type=access-bandwidth,bandwidth=${target.hmat!.bandwidthMBs}M`);
    }
  }
  for (const node of hotplugged) {
    args.push(
      '-device',
      node.hotplug === 'pc-dimm'
        ? `pc-dimm,id=dimm${node.id},memdev=mem${node.id},node=${node.id}`
        : `virtio-mem-pci,id=vmem${node.id},memdev=mem${node.id},node=${node.id},requested-size=${node.memMiB}M,bus=pcie.0`,
    );
  }
  args.push('-kernel', l.kernel);
  if (l.initrd) args.push('-initrd', l.initrd);
  args.push('-append', l.cmdline);
  args.push('-drive', `file=${l.rootDisk},if=none,id=root,format=qcow2,discard=unmap`);
  args.push('-device', 'virtio-blk-pci,drive=root,bus=pcie.0,addr=0x4');
  const forwards = (Object.keys(TRAFFIC_PORTS) as (keyof typeof TRAFFIC_PORTS)[]).map(
    (end) =>
      `guestfwd=tcp:${TRAFFIC_HOST}:${TRAFFIC_PORTS[end]}-cmd:socat - UNIX-CONNECT:${optionValue(trafficSocketPath(l.qmpSocket, end))}`,
  );
  args.push('-netdev', ['user,id=net0,restrict=on', `hostfwd=tcp:127.0.0.1:${l.sshPort}-:22`, ...forwards].join(','));

  let scratch = 0;
  t.devices.forEach((dev, i) => {
    const id = placedDeviceId(i);
    const kind = deviceKind(dev.kind);
    let bus = 'pcie.0';
    if (kind.attach === 'pxb') {
      const pxb = `pxb${i}`;
      bus = `${pxb}rp`;
      args.push(
        '-device',
        `pxb-pcie,id=${pxb},bus_nr=${PXB_FIRST_BUS + i * PXB_BUS_STRIDE},numa_node=${dev.node},bus=pcie.0`,
      );
      args.push('-device', `pcie-root-port,id=${bus},bus=${pxb},chassis=${i + 1}`);
    }
    const disk = kind.scratchDisk ? { file: l.scratchDisks[scratch]!, id: `scratch${scratch++}` } : undefined;
    args.push(
      ...kind.qemuArgs({
        id,
        bus,
        ...(kind.attach === 'root-bus' ? { addr: `0x${rootBusSlot(i).toString(16)}` } : {}),
        ...(disk ? { disk } : {}),
        ...(kind.backend ? { socket: vhostSocketPath(l.qmpSocket, id), mac: backendMac(i) } : {}),
      }),
    );
  });
  if (!t.devices.some((d) => d.kind === 'virtio-net'))
    args.push('-device', 'virtio-net-pci,netdev=net0,bus=pcie.0,addr=0x5');

  args.push('-chardev', CONSOLE_CHARDEV, '-serial', 'chardev:console');
  args.push('-qmp', `unix:${l.qmpSocket},server=on,wait=off`);
  return args;
}

/**
 * Under TCG the guest's clock is the host's, so a vCPU the host does not run for a while looks to the
 * guest like a CPU that did not schedule: with two cores shared by several guests, both vCPUs of a
 * stock guest reported "soft lockup - stuck for 26s" in clear_page at the same instant (CI,
 * 2026-12-06). syzkaller's thresholds for its VMs: a soft lockup after 110 s, an RCU stall after
 * 100 s. A real hang still ends the step (its timeout) or shows as a lockup, only later.
 */
const TCG_STALL_THRESHOLDS = ['watchdog_thresh=55', 'rcupdate.rcu_cpu_stall_timeout=100'];

/** The guest kernel command line; the topology's and the user's words come last, so they win. Pure. */
export function buildKernelCmdline(opts: { init?: string; accel: Accel; extra: string[] }): string {
  // panic=-1 reboots at once on a panic, and -no-reboot turns that into QEMU exiting.
  // nokaslr keeps the kernel image on the boot node, so where memory lands is reproducible.
  const words = ['console=ttyS0', 'root=/dev/vda', 'rw', 'panic=-1', 'nokaslr', 'net.ifnames=0'];
  if (opts.accel === 'tcg') words.push(...TCG_STALL_THRESHOLDS);
  if (opts.init) words.push(`init=${opts.init}`);
  return [...words, ...opts.extra].join(' ');
}
