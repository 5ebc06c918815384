/**
 * A stable name for a kernel report, to compare runs and bisect on: its type
 * and the first meaningful frames of its stack ("warning: do_mbind <
 * kernel_mbind < __x64_sys_mbind"). Addresses, offsets, PIDs, CPUs and
 * timestamps never enter it, so the same bug gives the same signature on
 * every boot and every build. Pure.
 */

const TIMESTAMP = /^\[\s*\d+\.\d+\]\s?/;
/** " func+0x12/0x40" or " ? func+0x12/0x40 [module]" in a Call Trace; "RIP: 0010:func+0x.." for the faulting function. */
const FRAME = /^\s*(\?\s+)?([A-Za-z_][\w.]*)\+0x[0-9a-f]+\/0x[0-9a-f]+/;
const RIP = /RIP: \d{4}:([A-Za-z_][\w.]*)\+0x[0-9a-f]+\/0x[0-9a-f]+/;
const WARNING_AT = /WARNING: .* at (\S+:\d+) ([A-Za-z_][\w.]*)\+0x/;

/** Frames of the reporting machinery itself, never the bug's place. */
const NOISE = new Set([
  'dump_stack',
  'dump_stack_lvl',
  'show_stack',
  'panic',
  'vpanic',
  '__warn',
  'warn_slowpath_fmt',
  'report_bug',
  'handle_bug',
  'exc_invalid_op',
  'asm_exc_invalid_op',
  'do_error_trap',
  'die',
  '__die',
  'die_addr',
  'oops_end',
  'exc_general_protection',
  'asm_exc_general_protection',
  'page_fault_oops',
  'kernelmode_fixup_or_oops',
  '__bad_area_nosemaphore',
  'bad_area_nosemaphore',
  'do_user_addr_fault',
  'exc_page_fault',
  'asm_exc_page_fault',
  'kasan_report',
  'print_report',
  'print_address_description',
  'warn_alloc',
  'dump_header',
  'bad_page',
  'nmi_cpu_backtrace',
  '__alloc_pages_slowpath',
  'do_syscall_64',
  'entry_SYSCALL_64_after_hwframe',
  'x64_sys_call',
  'ret_from_fork',
  'ret_from_fork_asm',
  'kthread',
]);

const SIGNATURE_FRAMES = 3;

/** The stack's function names in order, reliable frames only (those marked "?" are guesses of the unwinder). */
export function stackFrames(lines: string[]): string[] {
  const frames: string[] = [];
  let inTrace = false;
  for (const raw of lines) {
    const line = raw.replace(TIMESTAMP, '');
    if (/Call Trace:/.test(line)) inTrace = true;
    else if (inTrace) {
      const m = FRAME.exec(line);
      if (m && !m[1]) frames.push(m[2]!.replace(/\.(constprop|isra|part|cold)\.\d+$/, ''));
    }
  }
  return frames;
}

export function crashSignature(crash: { type: string; title: string; lines: string[] }): string {
  const text = crash.lines.map((l) => l.replace(TIMESTAMP, ''));
  const rip = text.map((l) => RIP.exec(l)?.[1]).find(Boolean);
  const warnAt = WARNING_AT.exec(crash.title) ?? text.map((l) => WARNING_AT.exec(l)).find(Boolean);
  const frames = [...(warnAt ? [warnAt[2]!] : rip ? [rip] : []), ...stackFrames(crash.lines)].filter(
    (f) => !NOISE.has(f),
  );
  const unique = frames.filter((f, i) => frames.indexOf(f) === i).slice(0, SIGNATURE_FRAMES);
  if (unique.length) return `${crash.type}: ${unique.join(' < ')}`;
  // No stack (a stall, a bare BUG line): the title without its numbers.
  return `${crash.type}: ${crash.title
    .replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+/gi, '')
    .replace(/0x[0-9a-f]+|\b\d+\b/gi, 'N')
    .replace(/\[[^\]]*\]/g, '')
    .trim()}`;
}
