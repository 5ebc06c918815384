import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { dir } from 'tmp-promise';
import { numacage, onlyRunDir, processesNamed, qemuProcessesMentioning } from '../helpers/cli.js';

// A host device that shares only P (docs/devices.md): a vhost-user NIC served by DPDK testpmd outside QEMU.
// Its matrices run one guest at a time (--jobs 1): npm test runs this file beside another, and three TCG
// guests on 2 cores stalled one in RCU at boot (2026-12-04).
const ONE_AT_A_TIME = ['--jobs', '1'];

interface Cell {
  verdict: {
    topology: string;
    kernel: { label?: string; kind: string };
    checks: { id: string; outcome: string; evidence: Record<string, unknown> }[];
  };
  runDir: string;
}

function cells(out: string): Map<string, Cell> {
  const matrixDir = onlyRunDir(out);
  const matrix = JSON.parse(readFileSync(join(matrixDir, 'matrix.json'), 'utf8')) as { runs: Cell[] };
  return new Map(
    matrix.runs.map((c) => [
      `${c.verdict.topology}/${c.verdict.kernel.label ?? c.verdict.kernel.kind}`,
      { ...c, runDir: join(matrixDir, c.runDir) },
    ]),
  );
}

const check = (c: Cell, id: string) => c.verdict.checks.find((x) => x.id === id)!;
const deviceIo = (c: Cell) => check(c, 'device-io');
const backendRx = (c: Cell) => (deviceIo(c).evidence.backend as { rx: number }).rx;

/** Nothing of the backends outlives the run: no testpmd, no DPDK runtime dir of numacage's. */
function assertBackendsGone(t: import('ava').ExecutionContext): void {
  t.deepEqual(processesNamed('dpdk-testpmd'), [], 'no testpmd left');
  t.deepEqual(
    existsSync('/var/run/dpdk') ? readdirSync('/var/run/dpdk').filter((d) => d.startsWith('numacage-')) : [],
    [],
    'no DPDK runtime dir left',
  );
}

test.serial(
  "the seed's topology, every check: the stock kernel's NIC gets nothing back; the series with its DMA pool on P (dma=16M) echoes every frame, every buffer on P",
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const r = await numacage([
      'run',
      ...['--topology', 'private-vhost', '--kernel', 'stock,built:private-node'],
      ...['--expect', 'vanilla,private', '--append', 'private_node=1,dma=16M', '--suite', 'all', '--out', out.path],
      ...ONE_AT_A_TIME,
    ]);
    t.is(r.exitCode, 0, r.all);
    const got = cells(out.path);
    const stock = got.get('private-vhost/stock')!;
    const series = got.get('private-vhost/built:private-node')!;
    // The stock kernel allocates the rings on the device's node, so the backend finds descriptors, but the buffers they point at are on C.
    t.is(deviceIo(stock).outcome, 'xfail', JSON.stringify({ ...stock.verdict, checks: undefined }).slice(0, 2000));
    t.is((deviceIo(stock).evidence.echo as { echoed: number }).echoed, 0);
    t.is(check(stock, 'buffers-on-p').outcome, 'xfail');
    t.true((check(stock, 'buffers-on-p').evidence.outside as number) > 0);
    t.is(deviceIo(series).outcome, 'pass');
    t.is((deviceIo(series).evidence.echo as { echoed: number }).echoed, 4096);
    t.true(backendRx(series) >= 4096, `the backend took ${backendRx(series)} frames`);
    t.is(check(series, 'buffers-on-p').outcome, 'pass');
    t.is(check(series, 'buffers-on-p').evidence.outside, 0);
    t.regex(
      readFileSync(join(series.runDir, 'console.log'), 'utf8'),
      /virtio-pci 0000:00:10\.0: DMA through the bounce pool of private node 1/,
    );
    for (const c of [stock, series]) {
      t.is(c.verdict.checks.length, 46, 'the 44 rows and the device checks, each as its column expects (exit 0)');
      t.is(check(c, 'topology').outcome, 'pass', 'the NIC is on node 1');
      // Read before device-io, the rings' addresses must not have stopped the backend's rings.
      t.is(check(c, 'virtio-rings').outcome, 'pass', "ACCESS_PLATFORM: dma-direct puts the rings on the NIC's node");
      t.regex(readFileSync(join(c.runDir, 'dev0-backend.log'), 'utf8'), /NIC statistics for port 0/);
    }
    t.deepEqual(qemuProcessesMentioning(out.path), []);
    assertBackendsGone(t);
    await out.cleanup();
  },
);

test.serial(
  'the series without dma= (what it did before its DMA pool: at most the rings on P) fails both checks, with the buffers it left on C counted',
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const r = await numacage([
      'run',
      ...['--topology', 'private-vhost', '--kernel', 'built:private-node', '--append', 'private_node=1'],
      ...['--suite', 'device', '--out', out.path],
    ]);
    t.is(r.exitCode, 1, r.all);
    const runDir = onlyRunDir(out.path);
    const series: Cell = {
      verdict: JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8')) as Cell['verdict'],
      runDir,
    };
    t.is(check(series, 'topology').outcome, 'pass');
    t.is(deviceIo(series).outcome, 'fail');
    t.is((deviceIo(series).evidence.echo as { echoed: number }).echoed, 0);
    t.is(check(series, 'buffers-on-p').outcome, 'fail');
    t.true((check(series, 'buffers-on-p').evidence.outside as number) > 0);
    assertBackendsGone(t);
    await out.cleanup();
  },
);

test.serial(
  'the control (every node shared) echoes all 4096 frames intact; with C as memory-backend-ram the backend gets P alone and nothing works',
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const r = await numacage([
      'run',
      ...['--topology', 'vhost-shared,private-vhost-ram', '--kernel', 'built', '--suite', 'device', '--out', out.path],
      ...ONE_AT_A_TIME,
    ]);
    t.is(r.exitCode, 0, r.all);
    const got = cells(out.path);
    const control = got.get('vhost-shared/built')!;
    t.is(deviceIo(control).outcome, 'pass');
    t.is((deviceIo(control).evidence.echo as { echoed: number }).echoed, 4096);
    t.true(backendRx(control) >= 4096);
    t.is(check(control, 'buffers-on-p').outcome, 'xfail', 'working is not the same as keeping to P');
    const ram = got.get('private-vhost-ram/built')!;
    t.is(deviceIo(ram).outcome, 'xfail');
    t.is(backendRx(ram), 0);
    // QEMU handed the backend one region: P's, at 4 GiB.
    const log = readFileSync(join(ram.runDir, 'dev0-backend.log'), 'utf8');
    t.deepEqual(
      [...new Set([...log.matchAll(/guest physical addr: (0x[0-9a-f]+)/g)].map((m) => m[1]))],
      ['0x100000000'],
    );
    assertBackendsGone(t);
    await out.cleanup();
  },
);
