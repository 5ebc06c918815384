import { execFileSync } from 'node:child_process';
import test from 'ava';
import { buildKernelCmdline, buildQemuArgs, type QemuLaunch } from '../../src/qemu/args.js';
import { renderCommandLine } from '../../src/qemu/reproducer.js';
import { builtinTopology } from '../../src/topology/builtin.js';
import { parseTopology } from '../../src/topology/parse.js';
import { DEVICE_KIND_NAMES, deviceKind } from '../../src/topology/device-kinds.js';
import { golden } from '../helpers/fixtures.js';

function launch(topologyName: string, over: Partial<QemuLaunch> = {}): QemuLaunch {
  return {
    topology: builtinTopology(topologyName)!,
    accel: 'tcg',
    cpuModel: 'max',
    kernel: '/cache/images/K/vmlinuz',
    initrd: '/cache/images/K/initrd.img',
    cmdline: buildKernelCmdline({ init: '/sbin/numacage-init', accel: 'tcg', extra: [] }),
    rootDisk: '/runs/R/root.qcow2',
    scratchDisks: [],
    qmpSocket: '/tmp/numacage-qmp-X/qmp.sock',
    sshPort: 10022,
    ...over,
  };
}

for (const name of [
  'private-virtio',
  'three-node',
  'private-movable',
  'hmat-tiered',
  'private-vhost',
  'private-vhost-ram',
]) {
  test(`argv for ${name} matches the golden file`, (t) => {
    const { actual, expected } = golden(
      renderCommandLine('qemu-system-x86_64', buildQemuArgs(launch(name))) + '\n',
      'qemu-args',
      `${name}.txt`,
    );
    t.is(actual, expected);
  });
}

test('default topology: memfd share=off for node 0, share=on for node 1, virtio-net behind pxb-pcie on node 1', (t) => {
  const args = buildQemuArgs(launch('private-virtio'));
  t.true(args.includes('memory-backend-memfd,id=mem0,size=2048M,share=off'));
  t.true(args.includes('memory-backend-memfd,id=mem1,size=1024M,share=on'));
  t.true(args.includes('node,nodeid=0,cpus=0-1,memdev=mem0'));
  t.true(args.includes('node,nodeid=1,memdev=mem1'));
  t.true(args.includes('pxb-pcie,id=pxb0,bus_nr=64,numa_node=1,bus=pcie.0'));
  t.true(args.includes('virtio-net-pci,id=dev0,netdev=net0,bus=pxb0rp'), 'QMP finds a placed device by its id');
  t.true(args.includes('virtio-blk-pci,drive=root,bus=pcie.0,addr=0x4'));
  // The guest's network reaches the host only through the SSH forward and the traffic forwards.
  t.true(
    args.includes(
      'user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:10022-:22,' +
        'guestfwd=tcp:10.0.2.100:9-cmd:socat - UNIX-CONNECT:/tmp/numacage-qmp-X/traffic-sink.sock,' +
        'guestfwd=tcp:10.0.2.100:19-cmd:socat - UNIX-CONNECT:/tmp/numacage-qmp-X/traffic-source.sock',
    ),
  );
  t.deepEqual(
    args.filter((a) => a.startsWith('dist,')),
    ['dist,src=0,dst=1,val=20'],
  );
});

test('a distance matrix gives one -numa dist per pair of nodes', (t) => {
  const dists = buildQemuArgs(launch('three-node')).filter((a) => a.startsWith('dist,'));
  t.deepEqual(dists, ['dist,src=0,dst=1,val=20', 'dist,src=0,dst=2,val=20', 'dist,src=1,dst=2,val=30']);
});

test('KVM argv uses the accel and cpu model given; no initrd means no -initrd', (t) => {
  const args = buildQemuArgs(launch('private-virtio', { accel: 'kvm', cpuModel: 'host', initrd: undefined }));
  t.is(args[args.indexOf('-machine') + 1], 'q35,accel=kvm');
  t.is(args[args.indexOf('-cpu') + 1], 'host');
  t.false(args.includes('-initrd'));
});

test('non-contiguous CPUs become one cpus= per range', (t) => {
  const topo = parseTopology(
    {
      memory: '2G',
      cpus: 4,
      nodes: [
        { id: 0, mem: '1G', cpus: '0,2', share: false },
        { id: 1, mem: '1G', cpus: '1,3', share: true },
      ],
    },
    'interleaved',
  );
  const args = buildQemuArgs({ ...launch('private-virtio'), topology: topo });
  t.true(args.includes('node,nodeid=0,cpus=0,cpus=2,memdev=mem0'));
});

test('kernel command line: console, root, panic=-1, nokaslr, init and extra words', (t) => {
  t.is(
    buildKernelCmdline({ init: '/sbin/numacage-init', accel: 'kvm', extra: ['private_node=1'] }),
    'console=ttyS0 root=/dev/vda rw panic=-1 nokaslr net.ifnames=0 init=/sbin/numacage-init private_node=1',
  );
  t.false(buildKernelCmdline({ accel: 'kvm', extra: [] }).includes('init='));
});

test('under TCG the lockup and RCU stall thresholds are raised, before the extra words so that a user can lower them again', (t) => {
  const words = buildKernelCmdline({ accel: 'tcg', extra: ['watchdog_thresh=10'] }).split(' ');
  t.true(words.includes('watchdog_thresh=55') && words.includes('rcupdate.rcu_cpu_stall_timeout=100'));
  // The kernel takes the last watchdog_thresh= it is given.
  t.true(words.lastIndexOf('watchdog_thresh=10') > words.indexOf('watchdog_thresh=55'));
  t.false(buildKernelCmdline({ accel: 'kvm', extra: [] }).includes('watchdog_thresh'));
});

test('a hot-plugged node: boot RAM in -m, slots and maxmem, a memory-less -numa node and a pc-dimm on it', (t) => {
  const args = buildQemuArgs(launch('private-movable'));
  t.is(args[args.indexOf('-m') + 1], '2048M,slots=1,maxmem=3072M');
  t.true(args.includes('node,nodeid=1'));
  t.true(args.includes('pc-dimm,id=dimm1,memdev=mem1,node=1'));
});

test('HMAT: hmat=on, an initiator on every node, latency and bandwidth per target', (t) => {
  const args = buildQemuArgs(launch('hmat-tiered'));
  t.is(args[args.indexOf('-machine') + 1], 'q35,accel=tcg,hmat=on');
  t.true(args.includes('node,nodeid=1,memdev=mem1,initiator=0'));
  t.true(args.includes('hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-latency,latency=200'));
});

test('a virtio-blk placed on a node gets its scratch disk behind its own pxb-pcie; the reproducer makes that disk', async (t) => {
  const topo = parseTopology(
    {
      memory: '3G',
      cpus: 2,
      nodes: [
        { id: 0, mem: '2G', cpus: '0-1', share: false },
        { id: 1, mem: '1G', share: true },
      ],
      devices: [
        { kind: 'virtio-net', node: 1 },
        { kind: 'virtio-blk', node: 1 },
      ],
    },
    'blk.json',
  );
  const args = buildQemuArgs({ ...launch('private-virtio'), topology: topo, scratchDisks: ['/runs/R/scratch0.qcow2'] });
  t.true(args.includes('pxb-pcie,id=pxb1,bus_nr=96,numa_node=1,bus=pcie.0'));
  t.true(args.includes('file=/runs/R/scratch0.qcow2,if=none,id=scratch0,format=qcow2'));
  t.true(args.includes('virtio-blk-pci,id=dev1,drive=scratch0,bus=pxb1rp'));
  const { renderReproducer } = await import('../../src/qemu/reproducer.js');
  const script = renderReproducer({
    binary: 'qemu-system-x86_64',
    args,
    baseImage: '/c/rootfs.ext4',
    overlay: '/runs/R/root.qcow2',
    scratchDisks: ['/runs/R/scratch0.qcow2'],
    qmpSocket: '/tmp/q/qmp.sock',
    sshPort: 1,
    privateKey: '/c/id',
  });
  t.regex(script, /qemu-img create -q -f qcow2 \/runs\/R\/scratch0\.qcow2 256M/);
  t.regex(script, /-chardev stdio,id=console,signal=off,mux=on/);
});

test('every kind of the device table sits behind its own pxb-pcie on its node (or on pcie.0 where it attaches there), with its own arguments', (t) => {
  for (const kind of DEVICE_KIND_NAMES) {
    const topo = parseTopology(
      {
        memory: '3G',
        cpus: 2,
        nodes: [
          { id: 0, mem: '2G', cpus: '0-1', share: false },
          { id: 1, mem: '1G', share: true },
        ],
        devices: [{ kind, node: 1 }],
      },
      `${kind}.json`,
    );
    const args = buildQemuArgs({
      ...launch('private-virtio'),
      topology: topo,
      scratchDisks: ['/runs/R/scratch0.qcow2'],
    });
    const device = args.find((a) => a.includes('id=dev0,'));
    if (deviceKind(kind).attach === 'pxb') {
      t.true(args.includes('pxb-pcie,id=pxb0,bus_nr=64,numa_node=1,bus=pcie.0'), kind);
      t.regex(device ?? '', /,bus=pxb0rp$/, kind);
    } else {
      t.false(
        args.some((a) => a.startsWith('pxb-pcie')),
        kind,
      );
      t.regex(device ?? '', /,bus=pcie\.0,addr=0x10[,$]/, kind);
    }
    t.false(
      args.some((a) => a.includes('undefined')),
      kind,
    );
  }
});

test('a topology holds at most one virtio-net: it is the NIC that carries SSH', (t) => {
  const err = t.throws(() =>
    parseTopology(
      {
        memory: '2G',
        cpus: 1,
        nodes: [{ id: 0, mem: '2G', cpus: '0', share: false }],
        devices: [
          { kind: 'virtio-net', node: 0 },
          { kind: 'virtio-net', node: 0 },
        ],
      },
      'two-nics.json',
    ),
  );
  t.regex(err!.message, /2 virtio-net devices: a topology places at most 1/);
});

test('reproduce.sh: a newline in a path stays inside its word ($-quoted), in the comment and in the commands', async (t) => {
  const { renderReproducer } = await import('../../src/qemu/reproducer.js');
  const odd = "/c/a\nrm -rf ~ 'x'\t\\";
  const script = renderReproducer({
    binary: 'qemu-system-x86_64',
    args: ['-kernel', odd],
    baseImage: odd,
    overlay: '/runs/R/root.qcow2',
    scratchDisks: [],
    qmpSocket: '/tmp/q/qmp.sock',
    sshPort: 1,
    privateKey: odd,
  });
  t.false(
    script.split('\n').some((l) => l.startsWith('rm -rf')),
    script,
  );
  // bash reads the word back as the path it was.
  const word = /-b (\$'[^\n]*?') /.exec(script)![1]!;
  t.is(execFileSync('bash', ['-c', `printf %s ${word}`], { encoding: 'utf8' }), odd);
});

test('a vhost-user NIC: its backend socket next to the QMP socket, its MAC, on pcie.0 with legacy interrupts (QEMU 7.2), modern with ACCESS_PLATFORM', (t) => {
  const args = buildQemuArgs(launch('private-vhost'));
  t.true(args.includes('socket,id=dev0-chr,path=/tmp/numacage-qmp-X/dev0-vhost.sock'));
  t.true(args.includes('vhost-user,id=dev0-net,chardev=dev0-chr'));
  t.true(
    args.includes(
      'virtio-net-pci,id=dev0,netdev=dev0-net,bus=pcie.0,addr=0x10,mac=52:54:00:6e:63:00,vectors=0,iommu_platform=on,disable-legacy=on',
    ),
  );
  t.true(args.includes('memory-backend-memfd,id=mem0,size=2048M,share=off'), 'C stays MAP_PRIVATE');
  t.true(buildQemuArgs(launch('private-vhost-ram')).includes('memory-backend-ram,id=mem0,size=2048M'));
});

test("reproduce.sh of a vhost-user topology starts the NIC's backend first, waits for its socket, and is valid bash", async (t) => {
  const { renderReproducer } = await import('../../src/qemu/reproducer.js');
  const reproducerOf = (topology: string, qmpSocket: string) =>
    renderReproducer({
      binary: 'qemu-system-x86_64',
      args: buildQemuArgs(launch(topology)),
      baseImage: '/c/rootfs.ext4',
      overlay: '/runs/R/root.qcow2',
      scratchDisks: [],
      qmpSocket,
      sshPort: 1,
      privateKey: '/c/id',
    });
  const script = reproducerOf('private-vhost', '/tmp/numacage-qmp-X/qmp.sock');
  const backend = script.indexOf('setpriv --pdeathsig KILL -- nice -n 19 dpdk-testpmd');
  t.true(backend > 0 && backend < script.indexOf('exec qemu-system-x86_64'), 'the backend before QEMU');
  t.regex(script, /net_vhost0,iface=\/tmp\/numacage-qmp-X\/dev0-vhost\.sock,iommu-support=1/);
  t.regex(script, /until \[ -S \/tmp\/numacage-qmp-X\/dev0-vhost\.sock \]; do sleep 0\.2; done/);
  t.notThrows(() => execFileSync('bash', ['-n'], { input: script }));
  const plain = reproducerOf('private-virtio', '/tmp/q/qmp.sock');
  t.notRegex(plain, /testpmd/);
});

test('a hot-plug CPU slot raises maxcpus, is a socket of its own, and is named in its node', (t) => {
  const topo = parseTopology(
    {
      memory: '3G',
      cpus: 2,
      nodes: [
        { id: 0, mem: '2G', cpus: '0-1', share: false },
        { id: 1, mem: '1G', cpus: '', hotplugCpus: '2', share: true },
      ],
    },
    'slot',
  );
  const args = buildQemuArgs({ ...launch('private-virtio'), topology: topo });
  t.is(args[args.indexOf('-smp') + 1], '2,maxcpus=3,sockets=3');
  t.true(args.includes('node,nodeid=1,cpus=2,memdev=mem1'));
  // Under TCG the guest counts the slot only as VMware's guest; under KVM it sees KVM.
  t.is(args[args.indexOf('-cpu') + 1], 'max,-hypervisor');
  t.is(args[args.indexOf('-machine') + 1], 'q35');
  t.is(args[args.indexOf('-accel') + 1], 'tcg,tb-size=2048');
  t.is(args[args.indexOf('-smbios') + 1], 'type=1,serial=VMware-numacage');
  const kvm = buildQemuArgs({ ...launch('private-virtio', { accel: 'kvm', cpuModel: 'host' }), topology: topo });
  t.is(kvm[kvm.indexOf('-cpu') + 1], 'host');
  t.is(kvm[kvm.indexOf('-machine') + 1], 'q35,accel=kvm');
  t.false(kvm.includes('-smbios'));
});

test('a topology without a CPU slot keeps the hypervisor bit under TCG', (t) => {
  const args = buildQemuArgs(launch('private-virtio'));
  t.is(args[args.indexOf('-cpu') + 1], 'max');
  t.false(args.includes('-smbios'));
  t.false(args.includes('-accel'));
});
