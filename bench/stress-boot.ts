/**
 * Boot stress: N boots to SSH per arm, crash signatures counted. Kept out of
 * CI: about 200 boots per arm are needed to see a ~1% rate (the rare
 * `Oops: int3` of Debian's stock kernel under multi-threaded TCG).
 *
 *   node dist/bench/stress-boot.js [--boots 200] [--kernel stock|built] [--arms mttcg,single] [--log FILE]
 *
 * mttcg:  the plan as numacage runs it (-machine q35,accel=tcg: one host thread per vCPU).
 * single: the same plan with -accel tcg,thread=single (one host thread for all vCPUs).
 * Arms alternate boot by boot, so drifts in host load hit both alike. Each boot
 * is a line of JSON in the log; Ctrl-C prints the summary of what ran so far.
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootGuest } from '../src/guest/boot.js';
import { bootRequest, prepareRun, type PreparedRun } from '../src/run/run.js';
import { BootFailure, isTcgPatchingArtifact } from '../src/guest/boot-failure.js';
import { silentLogger } from '../src/log.js';
import { LEAN_KERNEL, oneGuestOptions } from './one-guest.js';
import type { RunPlan } from '../src/plan/run-plan.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const boots = Number(flag('boots', '200'));
const kernelKind = flag('kernel', 'stock');
const arms = flag('arms', 'mttcg,single').split(',');
const outDir = mkdtempSync(join(tmpdir(), 'numacage-bench-'));
const logFile = flag('log', join(outDir, 'boots.jsonl'));

/** The plan with all vCPUs on one host thread: the mitigation under test. */
function singleThreaded(plan: RunPlan): RunPlan {
  const argv = plan.argv.flatMap((a) =>
    /^q35,accel=tcg/.test(a) ? [a.replace(',accel=tcg', ''), '-accel', 'tcg,thread=single'] : [a],
  );
  return { ...plan, argv };
}

interface Boot {
  arm: string;
  ok: boolean;
  seconds: number;
  signature?: string;
  artifact?: boolean;
}

const results: Boot[] = [];

async function once(prepared: PreparedRun, arm: string, i: number): Promise<Boot> {
  const runDir = join(outDir, `${arm}-${i}`);
  await mkdir(runDir);
  const plan = arm === 'single' ? singleThreaded(prepared.plan) : prepared.plan;
  const started = Date.now();
  try {
    const guest = await bootGuest({ ...bootRequest(prepared, silentLogger()), runDir, plan });
    const seconds = guest.bootToSshSeconds;
    await guest.close();
    rmSync(runDir, { recursive: true, force: true });
    return { arm, ok: true, seconds };
  } catch (err) {
    if (!(err instanceof BootFailure)) throw err;
    // The failed boot's run dir (console.log) stays for a look.
    return {
      arm,
      ok: false,
      seconds: (Date.now() - started) / 1000,
      signature: `${err.reason}${err.crash ? `: ${err.crash.title}` : ''}`,
      artifact: isTcgPatchingArtifact(err, 'tcg'),
    };
  }
}

const quantile = (xs: number[], q: number) =>
  xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]! : NaN;

function summary(): string {
  const lines = [
    `${kernelKind} kernel, private-virtio, minimal init, TCG; boots alternate between arms; log ${logFile}`,
  ];
  for (const arm of arms) {
    const mine = results.filter((r) => r.arm === arm);
    const ok = mine.filter((r) => r.ok).map((r) => r.seconds);
    const failed = mine.filter((r) => !r.ok);
    const bySignature = new Map<string, number>();
    for (const f of failed) bySignature.set(f.signature!, (bySignature.get(f.signature!) ?? 0) + 1);
    // With no failure in n boots, 3/n bounds the rate at 95% (the rule of three).
    const rate = failed.length
      ? `${((100 * failed.length) / mine.length).toFixed(1)}%`
      : `0 (< ${(300 / Math.max(mine.length, 1)).toFixed(1)}% at 95%)`;
    lines.push(
      `${arm.padEnd(7)} ${String(mine.length).padStart(4)} boots  failed ${failed.length} = ${rate}  boot-to-SSH median ${quantile(ok, 0.5).toFixed(1)} s, p90 ${quantile(ok, 0.9).toFixed(1)} s` +
        (failed.length ? `\n        ${[...bySignature].map(([s, n]) => `${n} x ${s}`).join('\n        ')}` : ''),
    );
  }
  return `${lines.join('\n')}\n`;
}

process.on('SIGINT', () => {
  process.stdout.write(`interrupted\n${summary()}`);
  process.exit(130);
});

const prepared = await prepareRun(
  oneGuestOptions(outDir, kernelKind === 'built' ? LEAN_KERNEL : { kind: 'stock' }, { accel: 'tcg' }),
);
for (let i = 0; i < boots; i++)
  for (const arm of arms) {
    const r = await once(prepared, arm, i);
    results.push(r);
    appendFileSync(logFile, `${JSON.stringify({ i, ...r })}\n`);
  }
process.stdout.write(summary());
