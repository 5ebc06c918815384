import { basename, isAbsolute, posix, resolve } from 'node:path';
import { ConfigError } from '../model/errors.js';
import type { CheckResult, CrashReport, SubtestResult } from '../model/verdict.js';
import { parseTap } from './tap.js';
import { parseKselftestNames, type KselftestName, type KselftestProgram } from './kselftest.js';

/** A command run in the guest after the invariants: a check in every report (exit 0 = pass). */
export interface TestStep {
  /** exec-1, exec-2... or kselftest:mm/ksm_functional_tests. */
  id: string;
  /** What the report shows: the command as typed, or the kselftest's name. */
  title: string;
  command: string;
  /** The guest user it runs as (root, or the image's unprivileged user). */
  user: string;
  timeoutMs: number;
  /** kselftest's KSFT_SKIP (4): that exit code is a skip, not a failure. */
  skipExitCode?: number;
}

/** A host file or directory copied into the guest before the steps run. */
export interface Upload {
  local: string;
  guest: string;
  /** The guest user who owns it (the steps' user). */
  owner: string;
}

export interface StepOptions {
  exec: string[];
  /** COLLECTION/PROGRAM names of kselftests built from the kernel's tree. */
  kselftests: string[];
  uploads: string[];
  as: 'root' | 'user';
  stepTimeoutSeconds: number;
}

export const DEFAULT_STEP_TIMEOUT_SECONDS = 300;

/** Where a step starts (sshd's default: the user's home), and where uploads go unless told. */
const guestHome = (user: string) => (user === 'root' ? '/root' : `/home/${user}`);

/** --as root|user → the guest user: "user" is the image's first unprivileged user. */
/** The guest user `--as` names: root, or the image's first unprivileged user. */
export function stepUser(as: StepOptions['as'], imageUsers: string[]): string {
  if (as === 'root') return 'root';
  const user = imageUsers[0];
  if (!user)
    throw new ConfigError(
      '--as user: the image recipe declares no unprivileged user',
      'add one to "users" in the recipe, or use --as root',
    );
  return user;
}

function execSteps(o: StepOptions, user: string): TestStep[] {
  return o.exec.map((command, i) => ({
    id: `exec-${i + 1}`,
    title: command,
    command,
    user,
    timeoutMs: o.stepTimeoutSeconds * 1000,
  }));
}

/** LOCAL[:GUEST] → an upload; GUEST defaults to the step user's home, relative GUEST paths are under it. */
export function parseUpload(spec: string, user: string, cwd = process.cwd()): Upload {
  const at = spec.lastIndexOf(':');
  const [local, guest] = at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [spec, ''];
  if (!local)
    throw new ConfigError(`--upload ${spec}: no local path`, 'write --upload LOCAL or --upload LOCAL:GUEST_PATH');
  const home = guestHome(user);
  const dest = !guest ? posix.join(home, basename(local)) : guest.startsWith('/') ? guest : posix.join(home, guest);
  return { local: isAbsolute(local) ? local : resolve(cwd, local), guest: dest, owner: user };
}

export interface StepRun {
  exitCode: number | null;
  signal?: string;
  timedOut: boolean;
  stdout: string;
  durationMs: number;
}

const count = (subtests: SubtestResult[]) => {
  const by = new Map<string, number>();
  for (const s of subtests) by.set(s.outcome, (by.get(s.outcome) ?? 0) + 1);
  return [...by].map(([o, n]) => `${n} ${o}`).join(', ');
};

/**
 * A finished step's result. The exit code decides (0 pass, the skip code a
 * skip); test points that failed in TAP output, and kernel reports printed
 * while it ran, fail it whatever its exit code. Pure.
 */
export function judgeStep(step: TestStep, run: StepRun, crashes: CrashReport[], outputPath: string): CheckResult {
  const tap = parseTap(run.stdout);
  const subtests = tap?.subtests ?? [];
  const failedPoints = subtests.filter((s) => s.outcome === 'fail' || s.outcome === 'error' || s.outcome === 'xpass');
  const problems: string[] = [];
  const how = run.timedOut
    ? `did not finish within ${step.timeoutMs / 1000} s (killed)`
    : run.exitCode === null
      ? `killed by ${run.signal ?? 'a signal'}`
      : `exit ${run.exitCode}`;
  if (run.timedOut || run.exitCode === null || (run.exitCode !== 0 && run.exitCode !== step.skipExitCode))
    problems.push(how);
  for (const s of failedPoints)
    problems.push(`test ${s.id} ${s.name}: ${s.outcome}${s.reason ? ` (${s.reason})` : ''}`);
  if (tap?.planned !== undefined && subtests.length < tap.planned && !run.timedOut)
    problems.push(`${subtests.length} of ${tap.planned} planned test points ran`);
  for (const c of crashes)
    problems.push(
      `the kernel reported ${c.title}${c.atSeconds !== undefined ? ` at ${c.atSeconds.toFixed(1)} s` : ''} while this step ran`,
    );
  const skipped = !problems.length && run.exitCode === step.skipExitCode;
  const points = subtests.length ? `; ${subtests.length} test points: ${count(subtests)}` : '';
  const skipReason = skipped
    ? (tap?.comments.find((c) => /SKIP/i.test(c)) ?? subtests.find((s) => s.outcome === 'skip')?.reason)
    : undefined;
  return {
    id: step.id,
    title: step.title,
    command: step.command,
    expected: 'pass',
    outcome: problems.length ? 'fail' : skipped ? 'skip' : 'pass',
    summary: `${how}${points}${skipReason ? `; ${skipReason.replace(/^#\s*/, '')}` : ''} (${(run.durationMs / 1000).toFixed(1)} s)`,
    problems,
    evidence: {
      exitCode: run.exitCode,
      ...(run.signal ? { signal: run.signal } : {}),
      timedOut: run.timedOut,
      user: step.user,
      output: outputPath,
      ...(crashes.length ? { crashes: crashes.map((c) => c.title) } : {}),
    },
    ...(subtests.length ? { subtests } : {}),
  };
}

/** A step that did not run to its end: not reached, its upload failed, the guest was lost, or the kernel died under it. */
export function stepNotRun(step: TestStep, outcome: 'error' | 'not-run' | 'fail', summary: string): CheckResult {
  return {
    id: step.id,
    title: step.title,
    command: step.command,
    expected: 'pass',
    outcome,
    summary,
    problems: outcome === 'fail' ? [summary] : [],
    evidence: { user: step.user },
  };
}

/** The run's test steps and uploads from its options and the image's users: kselftests first, then --exec steps. */
export function resolveSteps(
  o: StepOptions | undefined,
  imageUsers: string[],
): { steps: TestStep[]; uploads: Upload[] } {
  if (!o) return { steps: [], uploads: [] };
  const kselftests = kselftestSteps(parseKselftestNames(o.kselftests));
  if (!o.exec.length && o.uploads.length)
    throw new ConfigError(
      '--upload without --exec: nothing would use the files',
      "add --exec COMMAND (run in the user's home, where uploads land)",
    );
  const user = o.exec.length ? stepUser(o.as, imageUsers) : 'root';
  return {
    steps: [...kselftests.steps, ...execSteps(o, user)],
    uploads: [...kselftests.uploads, ...o.uploads.map((u) => parseUpload(u, user))],
  };
}

/** Where the plan puts a kselftest binary until it is built: `{kselftests}/mm/ksm_functional_tests`. */
export const KSELFTESTS_SLOT = '{kselftests}';
const KSELFTEST_GUEST_DIR = '/root/kselftest';
/** kselftest.h's KSFT_SKIP. */
const KSFT_SKIP = 4;

/**
 * A kselftest runs as root from its own directory under its own name (some
 * re-exec themselves as ./NAME), with its collection's timeout once built.
 */
export function kselftestSteps(names: KselftestName[]): { steps: TestStep[]; uploads: Upload[] } {
  return {
    steps: names.map((n) => ({
      id: `kselftest:${n.collection}/${n.program}`,
      title: `kselftest ${n.collection}/${n.program}`,
      command: `cd ${KSELFTEST_GUEST_DIR}/${n.collection} && ./${n.program}`,
      user: 'root',
      timeoutMs: 0,
      skipExitCode: KSFT_SKIP,
    })),
    uploads: names.map((n) => ({
      local: `${KSELFTESTS_SLOT}/${n.collection}/${n.program}`,
      guest: `${KSELFTEST_GUEST_DIR}/${n.collection}/${n.program}`,
      owner: 'root',
    })),
  };
}

/** The plan's kselftest steps and uploads with the built programs' paths and their collections' timeouts. Pure. */
export function withKselftests<P extends { steps: TestStep[]; uploads: Upload[] }>(
  plan: P,
  programs: KselftestProgram[],
): P {
  const built = (collection: string, program: string) =>
    programs.find((p) => p.collection === collection && p.program === program);
  return {
    ...plan,
    steps: plan.steps.map((s) => {
      const m = /^kselftest:(.+)\/([^/]+)$/.exec(s.id);
      const p = m && built(m[1]!, m[2]!);
      return p ? { ...s, timeoutMs: p.timeoutSeconds * 1000 } : s;
    }),
    uploads: plan.uploads.map((u) => {
      if (!u.local.startsWith(`${KSELFTESTS_SLOT}/`)) return u;
      const rel = u.local.slice(KSELFTESTS_SLOT.length + 1);
      const p = programs.find((x) => `${x.collection}/${x.program}` === rel);
      return p ? { ...u, local: p.path } : u;
    }),
  };
}

const WANTS_MORE = /\b(cpus?|nodes?|numa)\b/i;

/**
 * When a step (or some of its test points) skipped for want of CPUs or
 * nodes, a note saying what the topology gave and how to give more. Pure.
 */
export function lackNote(r: CheckResult, topology: { cpus: number; nodes: number }): string | undefined {
  const reasons = [
    ...(r.subtests ?? []).filter((s) => s.outcome === 'skip').map((s) => s.reason ?? s.name),
    ...(r.outcome === 'skip' ? [r.summary] : []),
  ];
  const why = reasons.find((x) => WANTS_MORE.test(x));
  return why
    ? `skipped for want of CPUs or nodes ("${why}"): this topology has ${topology.cpus} CPUs on ${topology.nodes} nodes; a topology file with more "cpus" or nodes gives them (docs/topology.md)`
    : undefined;
}
