export type CrashType =
  | 'panic'
  | 'oops'
  | 'gpf'
  | 'bug'
  | 'warning'
  | 'kasan'
  | 'kfence'
  | 'ubsan'
  | 'soft-lockup'
  | 'rcu-stall'
  | 'hung-task'
  | 'bad-page'
  | 'alloc-failure'
  | 'refcount'
  | 'invalid-opcode'
  | 'divide-error'
  | 'reboot';

export interface CrashPattern {
  type: CrashType;
  /** Matched against one console line with its "[  12.345678] " prefix removed. */
  regex: RegExp;
  title: (m: RegExpExecArray) => string;
  /** Fatal crashes end the run at once; others are recorded and fail it. */
  fatal: boolean;
}

/** Most specific first: the first pattern that matches a line names the crash. */
export const CRASH_PATTERNS: CrashPattern[] = [
  {
    type: 'panic',
    regex: /^Kernel panic - not syncing: ?(.*)$/,
    title: (m) => `Kernel panic - not syncing: ${m[1]}`,
    fatal: true,
  },
  { type: 'kasan', regex: /^BUG: KASAN: (\S+) in (\S+)/, title: (m) => `KASAN: ${m[1]} in ${m[2]}`, fatal: true },
  { type: 'kfence', regex: /^BUG: KFENCE: (.*)$/, title: (m) => `KFENCE: ${m[1]}`, fatal: true },
  {
    type: 'soft-lockup',
    regex: /^(?:watchdog: )?BUG: soft lockup - (CPU#\d+) stuck for \d+s! \[(.*)\]/,
    title: (m) => `soft lockup in ${m[2]}`,
    fatal: true,
  },
  {
    type: 'bad-page',
    regex: /^BUG: Bad page (state|map) in process (\S+)/,
    title: (m) => `Bad page ${m[1]} in ${m[2]}`,
    fatal: true,
  },
  {
    type: 'oops',
    regex: /^BUG: unable to handle (page fault|kernel \S+) for address: (\S+)/,
    title: (m) => `unable to handle ${m[1]} for address ${m[2]}`,
    fatal: true,
  },
  { type: 'bug', regex: /^BUG: (.*)$/, title: (m) => `BUG: ${m[1]}`, fatal: true },
  { type: 'bug', regex: /^kernel BUG at (\S+?)!?$/, title: (m) => `kernel BUG at ${m[1]}`, fatal: true },
  {
    type: 'warning',
    regex: /^WARNING: (?:CPU: \d+ PID: \d+ )?at (\S+) (\S+?)\+/,
    title: (m) => `WARNING in ${m[2]} (${m[1]})`,
    fatal: false,
  },
  { type: 'warning', regex: /^WARNING: (?!CPU: )(.*)$/, title: (m) => `WARNING: ${m[1]}`, fatal: false },
  // 6.12 prints "Oops: general protection fault, ...: 0000 [#1] PREEMPT SMP NOPTI".
  {
    type: 'gpf',
    regex: /^(?:Oops: )?(general protection fault.*?)(?:\s+(?:PREEMPT|SMP)\b.*)?$/,
    title: (m) => m[1]!,
    fatal: true,
  },
  { type: 'oops', regex: /^Oops: (.*)$/, title: (m) => `Oops: ${m[1]}`, fatal: true },
  {
    type: 'oops',
    regex: /^Unable to handle kernel (.*)$/,
    title: (m) => `Unable to handle kernel ${m[1]}`,
    fatal: true,
  },
  { type: 'ubsan', regex: /^UBSAN: (.*)$/, title: (m) => `UBSAN: ${m[1]}`, fatal: false },
  {
    type: 'hung-task',
    regex: /^INFO: task (\S+) blocked for more than (\d+) seconds/,
    title: (m) => `task ${m[1]} blocked for more than ${m[2]} seconds`,
    fatal: false,
  },
  {
    type: 'rcu-stall',
    regex: /^(?:rcu: )?INFO: (rcu_\w+) (?:self-)?detected (?:expedited )?stall/,
    title: (m) => `${m[1]} detected stall`,
    fatal: false,
  },
  {
    type: 'alloc-failure',
    regex: /^(\S+): page allocation failure: order:(\d+)/,
    title: (m) => `page allocation failure: order:${m[2]} in ${m[1]}`,
    fatal: false,
  },
  { type: 'refcount', regex: /^refcount_t: (\S+)/, title: (m) => `refcount_t: ${m[1]}`, fatal: false },
  { type: 'invalid-opcode', regex: /^invalid opcode: (.*)$/, title: (m) => `invalid opcode: ${m[1]}`, fatal: true },
  { type: 'divide-error', regex: /^divide error: (.*)$/, title: (m) => `divide error: ${m[1]}`, fatal: true },
];

/** Lines that look alarming but are known noise. */
export const NOISE = [/^ODEBUG:/, /^INFO: lockdep is turned off/];

/** A line inside an open report that belongs to it although it looks like a header ("Oops: Oops: 0000 [#1]" after "BUG: unable to handle"). */
export const CONTINUATION = /^Oops: (?!general protection fault)/;

export const CUT_HERE = /^-+\[ cut here \]-+$/;
export const END_TRACE = /^-+\[ end (trace|Kernel panic)/;
export const LINUX_BANNER = /^Linux version \S+/;

/**
 * A kernel report numacage's own probe provokes by design. To press a node
 * the probe offlines its free memory blocks; offlining migrates what still
 * sits in a block with GFP_USER|__GFP_RETRY_MAYFAIL and no __GFP_NOWARN
 * (mm/memory_hotplug.c, do_migrate_range), so a migration target the other
 * nodes cannot give prints a page allocation failure; the offline then fails
 * with EBUSY, which the probe expects. Seen in CI on private-movable when no
 * node could take a block's pages. And cpuset-private puts a task in a cpuset
 * of P alone where the kernel accepts one: where P has only ZONE_MOVABLE
 * (vanilla-movable), the task's pipe write finds no zone for an unmovable
 * page and the kernel says so; the check fails on the accepted cpuset and
 * keeps the line as its evidence. And cma-user claims P's CMA area through
 * its debugfs alloc file, whose cma_alloc() passes no __GFP_NOWARN: where a
 * kernel keeps the claim's migration targets on a full P, their allocation
 * fails and says so, and the claim fails, as the check wants it to. The shell
 * writes that file, so the report names bash. Reported apart, never failing
 * the run.
 */
export function provokedByProbe(c: { type: CrashType; title: string; lines: string[] }): boolean {
  if (c.type !== 'alloc-failure') return false;
  if (c.lines.some((l) => /\bcma_alloc_write\b/.test(l))) return true;
  return (
    / in numacage-probe$/.test(c.title) &&
    (c.lines.some((l) => /\boffline_pages\b/.test(l)) || /\bcpuset=numacage-cpuset-private,/.test(c.lines[0] ?? ''))
  );
}

/**
 * A kernel report that is the emulator's doing, not the kernel's. Under TCG
 * the guest now and then takes a single-step #DB in kernel mode with no
 * kprobe or debugger behind it: exc_debug_kernel() then WARNs on DR_STEP,
 * and its own comment (arch/x86/kernel/traps.c) names QEMU as the known way
 * to get there. Seen in CI on Debian's stock kernel, in __alloc_skb under
 * sshd's TCP traffic, with EFLAGS reserved bits set (7ce0b002), which no
 * real CPU pushes. Under KVM the same WARNING still fails the run.
 */
function emulatorArtifact(c: { type: CrashType; title: string }, accel: string): boolean {
  return (
    accel === 'tcg' &&
    c.type === 'warning' &&
    /^WARNING in exc_debug_kernel \(arch\/x86\/kernel\/traps\.c:\d+\)$/.test(c.title)
  );
}

/** Why a kernel report does not fail the run (the probe provoked it, or the emulator did), or undefined when it does. */
export function setApart(
  c: { type: CrashType; title: string; lines: string[] },
  accel: string,
): 'probe' | 'emulator' | undefined {
  if (provokedByProbe(c)) return 'probe';
  if (emulatorArtifact(c, accel)) return 'emulator';
  return undefined;
}
