import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { progressEvent } from '../model/progress.js';
import { join, posix } from 'node:path';
import { outputBytes } from '../adapters/runner.js';
import { sleep } from '../adapters/qemu-process.js';
import { SshTransportError } from '../guest/ssh.js';
import type { Logger } from '../log.js';
import { ConfigError } from '../model/errors.js';
import type { CheckResult } from '../model/verdict.js';
import { shellQuote } from '../invariants/shell.js';
import { judgeStep, KSELFTESTS_SLOT, lackNote, stepNotRun, type Upload } from '../steps/steps.js';
import type { Topology } from '../model/topology.js';
import type { Guest } from '../guest/boot.js';
import { message, qemuGone } from './checks.js';
import type { CheckProgress } from './check-progress.js';

/** The console trails a syscall's WARNING by a moment (a serial line at TCG speed); wait before closing a step's window. */
const CONSOLE_SETTLE_MS = 300;
const UPLOAD_TIMEOUT_MS = 120_000;

/** Refuses an upload whose local side is missing before anything boots (kselftests are built later). */
export async function assertUploadsExist(uploads: Upload[]): Promise<void> {
  for (const u of uploads.filter((x) => !x.local.startsWith(KSELFTESTS_SLOT)))
    await stat(u.local).catch(() => {
      throw new ConfigError(
        `--upload ${u.local}: no such file or directory`,
        'give an existing file or directory (LOCAL[:GUEST_PATH])',
      );
    });
}

/** Copies a file (mode kept) or a directory (through tar) into the guest, owned by user. */
async function upload(guest: Guest, u: Upload): Promise<void> {
  const st = await stat(u.local);
  const dest = shellQuote(u.guest);
  const owner = shellQuote(`${u.owner}:${u.owner}`);
  const script = st.isDirectory()
    ? `mkdir -p ${dest} && tar -xf - -C ${dest} && chown -R ${owner} ${dest}`
    : `mkdir -p ${shellQuote(posix.dirname(u.guest))} && cat > ${dest} && chmod ${(st.mode & 0o7777).toString(8)} ${dest} && chown ${owner} ${dest}`;
  const input = st.isDirectory() ? await outputBytes('tar', ['-C', u.local, '-cf', '-', '.']) : await readFile(u.local);
  const r = await guest.exec(script, { input, timeoutMs: UPLOAD_TIMEOUT_MS });
  if (r.exitCode !== 0) throw new Error(`${u.local} → ${u.guest}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
}

const safeName = (id: string) => id.replace(/[^A-Za-z0-9._-]+/g, '_');

/**
 * Uploads the files, then runs each test step in order as a check: its
 * output goes to <runDir>/steps/<id>.out (and .err), the console reports
 * printed while it ran are blamed on it. Like runChecks, nothing a step does
 * escapes as an exception; a lost guest ends the steps (the run reports why).
 */
export async function runSteps(
  guest: Guest,
  uploads: Upload[],
  opts: { runDir: string; topology: Topology; log: Logger },
  progress: CheckProgress,
): Promise<void> {
  const { runDir, log } = opts;
  const steps = progress.steps;
  if (!steps.length) return;
  const push = (r: CheckResult) => {
    progress.results.push(r);
    log.info(
      {
        step: r.id,
        outcome: r.outcome,
        seconds: r.durationSeconds,
        ...progressEvent({ stage: 'checks', state: 'done', id: r.id, outcome: r.outcome }),
      },
      `${r.id}: ${r.outcome}`,
    );
  };
  try {
    for (const u of uploads) await upload(guest, u);
  } catch (err) {
    if (err instanceof SshTransportError && (await qemuGone(guest))) return;
    for (const s of steps) push(stepNotRun(s, 'error', `uploading failed: ${message(err)}`));
    return;
  }
  await mkdir(join(runDir, 'steps'), { recursive: true });
  for (const step of steps) {
    const before = guest.crashWatch.crashes.length;
    progress.begin(step.id, before);
    log.info(
      { step: step.id, user: step.user, ...progressEvent({ stage: 'checks', state: 'started', id: step.id }) },
      `running ${step.title}`,
    );
    const out = join('steps', `${safeName(step.id)}.out`);
    try {
      const r = await guest.exec(step.command, { user: step.user, timeoutMs: step.timeoutMs });
      await writeFile(join(runDir, out), r.stdout);
      if (r.stderr) await writeFile(join(runDir, 'steps', `${safeName(step.id)}.err`), r.stderr);
      await sleep(CONSOLE_SETTLE_MS);
      const result = judgeStep(step, r, guest.crashWatch.crashes.slice(before), out);
      const note = lackNote(result, { cpus: opts.topology.cpus, nodes: opts.topology.nodes.length });
      if (note) log.warn({ step: step.id }, note);
      push({
        ...result,
        ...(note ? { summary: `${result.summary}; ${note}` } : {}),
        durationSeconds: Math.round(r.durationMs / 100) / 10,
      });
    } catch (err) {
      if (err instanceof SshTransportError && (await qemuGone(guest))) return;
      push(
        stepNotRun(
          step,
          'error',
          `the step could not run: ${err instanceof SshTransportError ? 'the SSH connection to the guest failed: ' : ''}${message(err)}`,
        ),
      );
    }
  }
  progress.current = undefined;
}
