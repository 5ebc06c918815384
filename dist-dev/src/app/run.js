import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chooseAccel } from '../adapters/accel.js';
import { assertQemuInstalled } from '../adapters/qemu-process.js';
import { ensureKernel } from '../adapters/kernel-builder.js';
import { ensureImage, loadRecipe } from '../adapters/image-builder.js';
import { BootFailure } from '../guest/boot-failure.js';
import { checkTopology } from '../invariants/topology.js';
import { renderJson } from '../report/json.js';
import { renderJunit } from '../report/junit.js';
import { renderKtap } from '../report/ktap.js';
import { renderText } from '../report/text.js';
import { bootGuest } from './boot-guest.js';
import { probeKernelFacts, probeTopology } from './probe-guest.js';
import { probeIsolation, uploadProbe } from './probe-isolation.js';
import { ensureProbeBinary } from '../adapters/probe-binary.js';
import { checkInvariant } from '../invariants/invariant.js';
import { ISOLATION_INVARIANTS } from '../invariants/isolation.js';
import { detectProfile, nodeRoles } from '../invariants/profile.js';
import { resolveTopology } from './resolve.js';
/** Seconds a guest gets to answer SSH: TCG is several times slower than KVM, systemd than the minimal init. */
export function defaultBootTimeoutSeconds(accel, init) {
    const tcg = init === 'systemd' ? 240 : 120;
    return accel === 'kvm' ? tcg / 3 : tcg;
}
/** Console silence while booting that counts as a hang (the stock initramfs is quiet for a few seconds at most). */
export function silenceTimeoutSeconds(accel) {
    return accel === 'kvm' ? 20 : 60;
}
function newRunId(topology, now = new Date()) {
    const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    return `${stamp}-${topology}-${Math.random().toString(16).slice(2, 6)}`;
}
const seconds = (since) => Math.round((Date.now() - since) / 100) / 10;
/** Resolves topology, image (building it if needed) and accelerator, and makes the run directory. */
export async function prepareRun(opts) {
    const topology = await resolveTopology(opts.topology);
    const recipe = await loadRecipe(opts.image);
    assertQemuInstalled();
    const timings = {};
    let t = Date.now();
    const image = await ensureImage({ recipe, cacheDir: opts.cacheDir, log: opts.log });
    timings.image = seconds(t);
    let kernel = { kind: 'stock', vmlinuz: image.stockKernel.vmlinuz, initrd: image.stockKernel.initrd, release: image.stockKernel.release };
    if (opts.kernel.kind === 'built') {
        t = Date.now();
        const built = await ensureKernel({ ...opts.kernel, cacheDir: opts.cacheDir, log: opts.log });
        timings.kernel = seconds(t);
        kernel = { kind: 'built', vmlinuz: built.bzImage, release: built.release, config: built.config };
    }
    const probe = opts.invariants.some((id) => id !== 'topology') ? await ensureProbeBinary(opts.cacheDir) : undefined;
    const accel = await chooseAccel(opts.accel, opts.cacheDir, opts.log, kernel.vmlinuz);
    const runId = newRunId(topology.name);
    const runDir = resolve(opts.outDir, runId);
    await mkdir(runDir, { recursive: true });
    opts.log.info({ runDir }, 'run started');
    if (kernel.config)
        await copyFile(kernel.config, join(runDir, 'kernel.config'));
    return { topology, image, kernel, accel, runId, runDir, timings, ...(probe ? { probe } : {}) };
}
export function bootRequest(p, opts) {
    const bootTimeoutMs = (opts.bootTimeoutSeconds ?? defaultBootTimeoutSeconds(p.accel.accel, opts.init)) * 1000;
    return {
        runDir: p.runDir, topology: p.topology, image: p.image, accel: p.accel.accel, cpuModel: p.accel.cpuModel, init: opts.init, log: opts.log,
        append: opts.append, silenceTimeoutMs: Math.min(bootTimeoutMs, silenceTimeoutSeconds(p.accel.accel) * 1000),
        kernel: { vmlinuz: p.kernel.vmlinuz, initrd: p.kernel.initrd },
        bootTimeoutMs,
    };
}
/** image → boot → probe → evaluate → report. Failures of the guest are results; user and host errors throw. */
export async function runPipeline(opts) {
    const t0 = Date.now();
    return executeRun(await prepareRun(opts), opts, t0);
}
/** boot → probe → evaluate → report, for a run whose image and kernel are ready. */
export async function executeRun(prepared, opts, t0 = Date.now()) {
    const { log } = opts;
    const { topology, kernel, accel, runId, runDir, timings } = prepared;
    const boot = bootRequest(prepared, opts);
    const verdict = {
        runId,
        topology: topology.name,
        kernel: { kind: kernel.kind, release: kernel.release, path: kernel.vmlinuz },
        accel: { accel: accel.accel, cpuModel: accel.cpuModel, ...(accel.kvm && !accel.kvm.usable ? { note: `KVM unusable: ${accel.kvm.reason}` } : {}) },
        checks: [],
        crashes: [],
        timings,
        artifacts: {
            console: 'console.log', qemuArgv: 'qemu-argv.txt', reproducer: 'reproduce.sh', probes: 'probe/', json: 'report.json', junit: 'junit.xml', ktap: 'results.ktap',
            ...(kernel.config ? { kernelConfig: 'kernel.config' } : {}),
        },
    };
    let guest;
    try {
        guest = await bootGuest(boot);
        timings['boot-to-ssh'] = Math.round(guest.bootToSshSeconds * 10) / 10;
        const t = Date.now();
        const g = guest;
        const probing = (async () => {
            await probeKernelFacts(g, runDir).catch((err) => log.warn({ err: err.message }, 'could not record uname, cmdline and dmesg'));
            if (opts.invariants.includes('topology'))
                verdict.checks.push(await runTopologyCheck(g, runDir, topology));
            const isolation = opts.invariants.filter((id) => id !== 'topology');
            if (isolation.length)
                await runIsolationChecks(g, prepared, isolation, verdict);
        })();
        // A fatal crash ends the probing at once: the guest is not to be trusted any more.
        probing.catch(() => undefined);
        const crash = await Promise.race([probing.then(() => undefined), guest.crashWatch.fatal]);
        if (crash)
            log.error({ crash: crash.title }, 'the guest kernel crashed; stopping');
        timings.probe = seconds(t);
    }
    catch (err) {
        if (!(err instanceof BootFailure))
            throw err;
        verdict.bootFailure = { reason: err.reason, message: err.message, consoleTail: err.consoleTail };
        if (err.crash)
            verdict.crashes.push({ ...err.crash });
    }
    finally {
        await guest?.close({ keep: opts.keep });
    }
    if (guest) {
        guest.crashWatch.finish();
        verdict.crashes = guest.crashWatch.crashes.map((c) => ({ ...c }));
    }
    timings.total = seconds(t0);
    const text = renderText(verdict, runDir);
    await writeFile(join(runDir, 'report.json'), renderJson(verdict));
    await writeFile(join(runDir, 'junit.xml'), renderJunit(verdict));
    await writeFile(join(runDir, 'results.ktap'), renderKtap(verdict));
    await writeFile(join(runDir, 'summary.txt'), text);
    return { verdict, runDir, text };
}
async function runIsolationChecks(guest, prepared, ids, verdict) {
    const roles = nodeRoles(prepared.topology);
    const byId = new Map(ISOLATION_INVARIANTS.map((inv) => [inv.id, inv]));
    if (!roles) {
        for (const id of ids)
            verdict.checks.push({ id, title: byId.get(id).title, expected: 'n/a', outcome: 'skip', summary: `topology ${prepared.topology.name} has no CPU-less node to test`, problems: [], evidence: {} });
        return;
    }
    await uploadProbe(guest, prepared.probe);
    const runnable = ids.filter((id) => !byId.get(id).unsupported?.(prepared.topology, roles));
    const obs = await probeIsolation(guest, prepared.runDir, roles, new Set(runnable));
    const profile = detectProfile({ nodeStates: obs.nodeStates, zones: obs.zones, cmdline: obs.cmdline, p: roles.p });
    verdict.profile = profile;
    for (const id of ids)
        verdict.checks.push(checkInvariant(byId.get(id), obs, { roles, profile: profile.profile }, prepared.topology));
}
async function runTopologyCheck(guest, runDir, topology) {
    try {
        return checkTopology(topology, await probeTopology(guest, runDir));
    }
    catch (err) {
        return {
            id: 'topology', title: 'the guest sees the topology that was asked for', expected: 'pass', outcome: 'error',
            summary: `probe failed: ${err.message}`, problems: [], evidence: {},
        };
    }
}
//# sourceMappingURL=run.js.map