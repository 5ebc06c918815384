import type { Topology } from './topology.js';

/** not-run: the guest crashed (or the run stopped) before this check got its turn. */
export const OUTCOMES = ['pass', 'fail', 'xfail', 'xpass', 'skip', 'error', 'not-run'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Which outcomes are as expected (the run may still hold). A Record, so that a new outcome is a compile error until placed here. */
const AS_EXPECTED: Record<Outcome, boolean> = {
  pass: true,
  xfail: true,
  skip: true,
  fail: false,
  xpass: false,
  error: false,
  'not-run': false,
};
export const asExpected = (outcome: Outcome): boolean => AS_EXPECTED[outcome];
export type Expectation = 'pass' | 'fail' | 'n/a';

export interface CheckResult {
  id: string;
  title: string;
  expected: Expectation;
  outcome: Outcome;
  /** One line for the terminal. */
  summary: string;
  /** What was wrong, one line per problem; empty on a pass. */
  problems: string[];
  /** The numbers that decided the outcome. */
  evidence: Record<string, unknown>;
  /** Seconds from the check's first guest command to its verdict. */
  durationSeconds?: number;
  /** A test step's guest command (steps only). */
  command?: string;
  /** The test points of a test step that printed TAP or KTAP (kselftests do). */
  subtests?: SubtestResult[];
  /** Where the check's pages were, for the report's charts: one chart per set of pages. */
  placements?: PlacementChart[];
}

/** One set of pages and where they were, snapshot by snapshot (before, after): node id -> pages. */
export interface PlacementChart {
  label: string;
  maps: { key: string; pages: Record<string, number> }[];
}

/** A chart of one set of pages: its snapshots in order, named. */
export const chart = (label: string, maps: Record<string, Record<string, number>>): PlacementChart => ({
  label,
  maps: Object.entries(maps).map(([key, pages]) => ({ key, pages })),
});

export interface SubtestResult {
  /** The test point's number in its output. */
  id: number;
  name: string;
  outcome: Exclude<Outcome, 'not-run'>;
  /** A skip's or an expected failure's reason. */
  reason?: string;
}

export interface CrashReport {
  type: string;
  title: string;
  fatal: boolean;
  atSeconds?: number;
  lines: string[];
  /** The check or test step that was running when the kernel printed it. */
  during?: string;
  /** Type and first meaningful frames, stable across boots and builds (console/crash-signature.ts). */
  signature?: string;
  /** The report with its frames decoded to file:line (a kernel built with debug info). */
  decoded?: string[];
}

export interface BootFailureReport {
  reason: string;
  message: string;
  consoleTail: string[];
}

export interface Verdict {
  runId: string;
  /** The matrix cell this run is: topology/kernel, #guest when a pair runs several guests (src/matrix/cells.ts). */
  cell?: string;
  topology: string;
  /** The resolved topology the guest booted with (absent in reports from before it was recorded). */
  topologySpec?: Topology;
  /** label: how --kernel named it when several kernels ran (built:private-node). */
  kernel: { kind: 'stock' | 'built'; release: string; path: string; label?: string };
  accel: { accel: string; cpuModel: string; note?: string };
  /** The kind of kernel that booted, detected from what it advertises (isolation suites only). */
  /** The profile the kernel shows, and why (evidence). */
  profile?: { profile: string; reason: string };
  /** The profile the checks were judged by: declared with --expect, or inferred from the request. */
  expectedProfile?: { profile: string; why: string };
  checks: CheckResult[];
  bootFailure?: BootFailureReport;
  /** Boots, or whole runs, tried again after a known emulator artifact (the n-th lost attempt's console is console-n.log). */
  bootRetries?: BootFailureReport[];
  /** The run ended before its checks did: QEMU exited under it (the checks left are not-run). */
  stopped?: { reason: 'qemu-exited'; message: string };
  /** Kernel reports the probe provokes by design (memory offlining under pressure): shown, not failing the run. */
  probeProvoked?: CrashReport[];
  /** Kernel reports that TCG itself causes (src/console/crash-patterns.ts emulatorArtifact): shown, not failing the run. */
  emulatorArtifacts?: CrashReport[];
  /** Kernel trouble seen on the console (oops, WARNING, panic...): any of them fails the run. */
  crashes: CrashReport[];
  /** Seconds per stage (image, boot-to-ssh, probe, total). */
  timings: Record<string, number>;
  artifacts: Record<string, string>;
}

/** The kernel is not what the run asked for: it shows another profile than the one the checks were judged by. */
export const profileMismatched = (v: Verdict): boolean =>
  !!v.expectedProfile && !!v.profile && v.expectedProfile.profile !== v.profile.profile;

/** A run holds when the guest came up, the kernel is what was asked for, and no check failed unexpectedly or broke. */
export function verdictHolds(v: Verdict): boolean {
  return (
    !v.bootFailure &&
    !v.stopped &&
    !profileMismatched(v) &&
    v.crashes.length === 0 &&
    v.checks.every((c) => asExpected(c.outcome))
  );
}

/** Maps a raw pass/fail against the expectation for the booted kernel. */
export function judge(passed: boolean, expected: Expectation): Outcome {
  if (expected === 'n/a') return 'skip';
  if (expected === 'fail') return passed ? 'xpass' : 'xfail';
  return passed ? 'pass' : 'fail';
}
