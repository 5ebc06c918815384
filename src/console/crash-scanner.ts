import {
  CONTINUATION,
  CRASH_PATTERNS,
  CUT_HERE,
  END_TRACE,
  LINUX_BANNER,
  NOISE,
  type CrashType,
} from './crash-patterns.js';

export interface Crash {
  type: CrashType;
  title: string;
  fatal: boolean;
  /** The whole report: from "cut here" or the header line to the end marker (or MAX_BLOCK_LINES). */
  lines: string[];
  /** Kernel time of the header line (seconds since boot), when the console has timestamps. */
  atSeconds?: number;
}

const MAX_BLOCK_LINES = 60;
const TIMESTAMP = /^\[\s*(\d+\.\d+)\]\s?/;

/**
 * Incremental crash detector over the serial console. Pure. Feed it chunks as
 * they arrive: it keeps the unfinished last line, so a header split across
 * two chunks is still caught. A report's block ends at "---[ end trace" /
 * "---[ end Kernel panic", after MAX_BLOCK_LINES, or at flush().
 */
export class CrashScanner {
  private partial = '';
  private cutHere: string[] | undefined;
  private open: Crash | undefined;
  private banners = 0;
  private readonly done: Crash[] = [];

  /** Returns the crashes whose header appeared in this chunk (their block may still grow until it closes). */
  feed(chunk: string): Crash[] {
    const text = this.partial + chunk.replace(/\r/g, '');
    const lines = text.split('\n');
    this.partial = lines.pop()!;
    const found: Crash[] = [];
    for (const line of lines) {
      const c = this.line(line);
      if (c) found.push(c);
    }
    return found;
  }

  /** Ends the stream (QEMU exited): the unfinished line is scanned and open blocks close. */
  flush(): Crash[] {
    const found: Crash[] = [];
    if (this.partial) {
      const c = this.line(this.partial);
      if (c) found.push(c);
      this.partial = '';
    }
    this.open = undefined;
    return found;
  }

  get crashes(): Crash[] {
    return this.done;
  }

  private line(raw: string): Crash | undefined {
    const ts = TIMESTAMP.exec(raw);
    const line = ts ? raw.slice(ts[0].length) : raw;
    const startsReport =
      CUT_HERE.test(line) ||
      LINUX_BANNER.test(line) ||
      (!CONTINUATION.test(line) && CRASH_PATTERNS.some((p) => p.regex.test(line)));
    if (this.open && !startsReport) {
      this.open.lines.push(raw);
      if (END_TRACE.test(line) || this.open.lines.length >= MAX_BLOCK_LINES) this.open = undefined;
      return undefined;
    }
    // A new report header closes the open block: reports without an end marker (alloc failure, hung task) end there.
    this.open = undefined;
    if (CUT_HERE.test(line)) {
      this.cutHere = [raw];
      return undefined;
    }
    const cutHere = this.cutHere ?? [];
    this.cutHere = undefined;
    if (LINUX_BANNER.test(line)) {
      if (++this.banners < 2) return undefined;
      return this.record({
        type: 'reboot',
        title: 'the guest rebooted (a second Linux version banner)',
        fatal: true,
        lines: [raw],
        ...at(ts),
      });
    }
    if (NOISE.some((n) => n.test(line))) return undefined;
    for (const p of CRASH_PATTERNS) {
      const m = p.regex.exec(line);
      if (!m) continue;
      const crash = this.record({
        type: p.type,
        title: p.title(m),
        fatal: p.fatal,
        lines: [...cutHere, raw],
        ...at(ts),
      });
      this.open = crash;
      return crash;
    }
    return undefined;
  }

  private record(c: Crash): Crash {
    this.done.push(c);
    return c;
  }
}

function at(ts: RegExpExecArray | null): { atSeconds?: number } {
  return ts ? { atSeconds: Number(ts[1]) } : {};
}
