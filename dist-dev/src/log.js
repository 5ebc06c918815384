import { pino } from 'pino';
const LEVEL_TAGS = { 10: 'trace', 20: 'debug', 30: '', 40: 'warn', 50: 'error', 60: 'fatal' };
const OMIT = new Set(['level', 'time', 'pid', 'hostname', 'msg']);
/** Renders one pino JSON line as "12:03:04 message key=value" for a terminal. */
export function prettyLine(json) {
    const rec = JSON.parse(json);
    const time = new Date(rec.time).toISOString().slice(11, 19);
    const tag = LEVEL_TAGS[rec.level] ?? '';
    const extra = Object.entries(rec)
        .filter(([k]) => !OMIT.has(k))
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
    return `${time} ${tag ? `${tag.toUpperCase()} ` : ''}${rec.msg ?? ''}${extra ? `  ${extra}` : ''}\n`;
}
/** JSON lines when asked or when stderr is not a terminal; readable lines otherwise. Logs go to stderr. */
export function createLogger(opts = {}) {
    const level = opts.verbose ? 'debug' : 'info';
    const json = opts.json ?? !process.stderr.isTTY;
    if (json)
        return pino({ level, base: undefined }, pino.destination({ fd: 2, sync: true }));
    return pino({ level, base: undefined }, { write: (line) => process.stderr.write(prettyLine(line)) });
}
export function silentLogger() {
    return pino({ level: 'silent' });
}
//# sourceMappingURL=log.js.map