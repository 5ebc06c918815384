/** Most specific first: the first pattern that matches a line names the crash. */
export const CRASH_PATTERNS = [
    { type: 'panic', regex: /^Kernel panic - not syncing: ?(.*)$/, title: (m) => `Kernel panic - not syncing: ${m[1]}`, fatal: true },
    { type: 'kasan', regex: /^BUG: KASAN: (\S+) in (\S+)/, title: (m) => `KASAN: ${m[1]} in ${m[2]}`, fatal: true },
    { type: 'kfence', regex: /^BUG: KFENCE: (.*)$/, title: (m) => `KFENCE: ${m[1]}`, fatal: true },
    { type: 'soft-lockup', regex: /^(?:watchdog: )?BUG: soft lockup - (CPU#\d+) stuck for \d+s! \[(.*)\]/, title: (m) => `soft lockup in ${m[2]}`, fatal: true },
    { type: 'bad-page', regex: /^BUG: Bad page (state|map) in process (\S+)/, title: (m) => `Bad page ${m[1]} in ${m[2]}`, fatal: true },
    { type: 'oops', regex: /^BUG: unable to handle (page fault|kernel \S+) for address: (\S+)/, title: (m) => `unable to handle ${m[1]} for address ${m[2]}`, fatal: true },
    { type: 'bug', regex: /^BUG: (.*)$/, title: (m) => `BUG: ${m[1]}`, fatal: true },
    { type: 'bug', regex: /^kernel BUG at (\S+?)!?$/, title: (m) => `kernel BUG at ${m[1]}`, fatal: true },
    { type: 'warning', regex: /^WARNING: (?:CPU: \d+ PID: \d+ )?at (\S+) (\S+?)\+/, title: (m) => `WARNING in ${m[2]} (${m[1]})`, fatal: false },
    { type: 'warning', regex: /^WARNING: (?!CPU: )(.*)$/, title: (m) => `WARNING: ${m[1]}`, fatal: false },
    // 6.12 prints "Oops: general protection fault, ...: 0000 [#1] PREEMPT SMP NOPTI".
    { type: 'gpf', regex: /^(?:Oops: )?(general protection fault.*?)(?:\s+(?:PREEMPT|SMP)\b.*)?$/, title: (m) => m[1], fatal: true },
    { type: 'oops', regex: /^Oops: (.*)$/, title: (m) => `Oops: ${m[1]}`, fatal: true },
    { type: 'oops', regex: /^Unable to handle kernel (.*)$/, title: (m) => `Unable to handle kernel ${m[1]}`, fatal: true },
    { type: 'ubsan', regex: /^UBSAN: (.*)$/, title: (m) => `UBSAN: ${m[1]}`, fatal: false },
    { type: 'hung-task', regex: /^INFO: task (\S+) blocked for more than (\d+) seconds/, title: (m) => `task ${m[1]} blocked for more than ${m[2]} seconds`, fatal: false },
    { type: 'rcu-stall', regex: /^(?:rcu: )?INFO: (rcu_\w+) (?:self-)?detected (?:expedited )?stall/, title: (m) => `${m[1]} detected stall`, fatal: false },
    { type: 'alloc-failure', regex: /^(\S+): page allocation failure: order:(\d+)/, title: (m) => `page allocation failure: order:${m[2]} in ${m[1]}`, fatal: false },
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
//# sourceMappingURL=crash-patterns.js.map