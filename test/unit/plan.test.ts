import test from 'ava';
import { accelFromVerdict, type KvmVerdict } from '../../src/adapters/accel.js';
import { materialise, planRun, SLOTS, type HostFacts } from '../../src/plan/run-plan.js';
import { renderCommandLine } from '../../src/qemu/reproducer.js';
import { builtinTopology } from '../../src/topology/builtin.js';
import { parseTopology } from '../../src/topology/parse.js';
import { golden } from '../helpers/fixtures.js';

const facts: HostFacts = {
  image: { recipe: 'debian-bookworm', key: 'K', note: 'cached' },
  kernel: {
    kind: 'stock',
    vmlinuz: '/cache/images/K/vmlinuz',
    initrd: '/cache/images/K/initrd.img',
    note: 'stock kernel',
  },
  accel: { accel: 'tcg', cpuModel: 'max', note: 'TCG' },
};
const at = { runDir: '/runs/R', qmpDir: '/tmp/numacage-qmp-X', sshPort: 10022 };

for (const name of ['private-virtio', 'three-node', 'private-movable', 'hmat-tiered']) {
  // The same argv as qemu-args/<name>.txt (buildQemuArgs alone) plus the topology's own cmdline words.
  test(`the planned argv for ${name}, materialised, matches the golden file`, (t) => {
    const plan = planRun(
      { topology: builtinTopology(name)!, init: 'minimal', append: [], checks: [], steps: [], uploads: [] },
      facts,
    );
    const { actual, expected } = golden(
      renderCommandLine('qemu-system-x86_64', materialise(plan.argv, at)) + '\n',
      'qemu-args',
      `planned-${name}.txt`,
    );
    t.is(actual, expected);
  });
}

test('a placed virtio-blk gets its scratch disk in the plan (never file=undefined); slots are all filled at boot', (t) => {
  const topology = parseTopology(
    {
      memory: '3G',
      cpus: 2,
      nodes: [
        { id: 0, mem: '2G', cpus: '0-1', share: false },
        { id: 1, mem: '1G', cpus: '', share: true },
      ],
      devices: [
        { kind: 'virtio-net', node: 1 },
        { kind: 'virtio-blk', node: 1 },
      ],
    },
    'blk.json',
  );
  const plan = planRun(
    { topology, init: 'minimal', append: ['loglevel=7'], checks: ['topology'], steps: [], uploads: [] },
    facts,
  );
  t.deepEqual(plan.scratchDisks, [`${SLOTS.runDir}/scratch0.qcow2`]);
  const argv = materialise(plan.argv, at);
  t.true(argv.includes('file=/runs/R/scratch0.qcow2,if=none,id=scratch0,format=qcow2'));
  t.false(
    argv.some((a) => /undefined|\{run-dir\}|\{qmp-dir\}|\{ssh-port\}/.test(a)),
    argv.join(' '),
  );
  t.regex(plan.cmdline, /init=\/sbin\/numacage-init loglevel=7$/);
  t.is(plan.bootTimeoutMs, 120_000);
  t.is(plan.silenceTimeoutMs, 60_000);
});

test('plan and run pick the accelerator from the same verdict alike; KVM asked for but unusable is said in the plan', (t) => {
  const usable: KvmVerdict = { usable: true, reason: 'ok', cpuModel: 'qemu64', bootId: 'b', test: 'kernel' };
  const unusable: KvmVerdict = {
    usable: false,
    reason: '-cpu host: hangs',
    cpuModel: 'max',
    bootId: 'b',
    test: 'kernel',
  };
  t.like(accelFromVerdict('auto', usable), { accel: 'kvm', cpuModel: 'qemu64' });
  t.like(
    accelFromVerdict('kvm', usable),
    { accel: 'kvm', cpuModel: 'qemu64' },
    'never -cpu host where the test chose another model',
  );
  t.like(accelFromVerdict('auto', unusable), {
    accel: 'tcg',
    cpuModel: 'max',
    note: 'TCG (KVM unusable: -cpu host: hangs)',
  });
  t.regex(accelFromVerdict('kvm', unusable).note, /run stops with exit 3/);
  t.like(accelFromVerdict('tcg', usable), { accel: 'tcg', cpuModel: 'max' });
  t.regex(accelFromVerdict('auto', undefined).note, /unless the KVM test boot passes at run time/);
});
