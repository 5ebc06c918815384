import { pino, type Logger } from 'pino';
import { inert } from './report/markup.js';

export type { Logger };

const LEVEL_TAGS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: '', 40: 'warn', 50: 'error', 60: 'fatal' };
// progress: the typed event the task list reads (model/progress.ts); the message says the same to a person.
const OMIT = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'progress']);

/** Renders one pino JSON line as "12:03:04 message key=value" for a terminal. */
function prettyLine(json: string): string {
  const rec = JSON.parse(json) as Record<string, unknown>;
  const time = new Date(rec.time as number).toISOString().slice(11, 19);
  const tag = LEVEL_TAGS[rec.level as number] ?? '';
  const extra = Object.entries(rec)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${inert(`${time} ${tag ? `${tag.toUpperCase()} ` : ''}${rec.msg ?? ''}${extra ? `  ${extra}` : ''}`)}\n`;
}

/** Takes the log records while a live task list shows the run (matrix/progress.ts). */
export interface LogFeed {
  feed(record: Record<string, unknown> & { level: number }): void;
}

let feed: LogFeed | undefined;
const terminalLoggers = new WeakSet<Logger>();

/**
 * Whether this logger may give way to a live task list: it writes readable
 * lines to a terminal, stdout is a terminal too (the list is drawn there),
 * and --verbose did not ask for every line.
 */
export const wantsTaskList = (log: Logger): boolean => terminalLoggers.has(log) && process.stdout.isTTY === true;

/** While attached, records go to the feed; only warnings and errors are still printed. Returns the detach. */
export function attachFeed(f: LogFeed): () => void {
  feed = f;
  return () => {
    feed = undefined;
  };
}

/** Readable lines (on a terminal and in a CI log alike), JSON lines only when asked (--json). Logs go to stderr. */
export function createLogger(opts: { json?: boolean; verbose?: boolean } = {}): Logger {
  const level = opts.verbose ? 'debug' : 'info';
  if (opts.json) return pino({ level, base: undefined }, pino.destination({ fd: 2, sync: true }));
  if (opts.verbose)
    return pino({ level, base: undefined }, { write: (line: string) => process.stderr.write(prettyLine(line)) });
  // Debug records (a kernel build's object count every second) feed the task list; the terminal shows info and up.
  const log = pino(
    { level: 'debug', base: undefined },
    {
      write: (line: string) => {
        const rec = JSON.parse(line) as Record<string, unknown> & { level: number };
        if (feed) feed.feed(rec);
        if (rec.level >= (feed ? 40 : 30)) process.stderr.write(prettyLine(line));
      },
    },
  );
  terminalLoggers.add(log);
  return log;
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
