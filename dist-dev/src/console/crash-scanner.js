import { CONTINUATION, CRASH_PATTERNS, CUT_HERE, END_TRACE, LINUX_BANNER, NOISE } from './crash-patterns.js';
const MAX_BLOCK_LINES = 60;
const TIMESTAMP = /^\[\s*(\d+\.\d+)\]\s?/;
/**
 * Incremental crash detector over the serial console. Pure. Feed it chunks as
 * they arrive: it keeps the unfinished last line, so a header split across
 * two chunks is still caught. A report's block ends at "---[ end trace" /
 * "---[ end Kernel panic", after MAX_BLOCK_LINES, or at flush().
 */
export class CrashScanner {
    partial = '';
    cutHere;
    open;
    banners = 0;
    done = [];
    /** Returns the crashes whose header appeared in this chunk (their block may still grow until it closes). */
    feed(chunk) {
        const text = this.partial + chunk.replace(/\r/g, '');
        const lines = text.split('\n');
        this.partial = lines.pop();
        const found = [];
        for (const line of lines) {
            const c = this.line(line);
            if (c)
                found.push(c);
        }
        return found;
    }
    /** Ends the stream (QEMU exited): the unfinished line is scanned and open blocks close. */
    flush() {
        const found = [];
        if (this.partial) {
            const c = this.line(this.partial);
            if (c)
                found.push(c);
            this.partial = '';
        }
        this.open = undefined;
        return found;
    }
    get crashes() {
        return this.done;
    }
    line(raw) {
        const ts = TIMESTAMP.exec(raw);
        const line = ts ? raw.slice(ts[0].length) : raw;
        const startsReport = CUT_HERE.test(line) || LINUX_BANNER.test(line) || (!CONTINUATION.test(line) && CRASH_PATTERNS.some((p) => p.regex.test(line)));
        if (this.open && !startsReport) {
            this.open.lines.push(raw);
            if (END_TRACE.test(line) || this.open.lines.length >= MAX_BLOCK_LINES)
                this.open = undefined;
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
            if (++this.banners < 2)
                return undefined;
            return this.record({ type: 'reboot', title: 'the guest rebooted (a second Linux version banner)', fatal: true, lines: [raw], ...at(ts) });
        }
        if (NOISE.some((n) => n.test(line)))
            return undefined;
        for (const p of CRASH_PATTERNS) {
            const m = p.regex.exec(line);
            if (!m)
                continue;
            const crash = this.record({ type: p.type, title: p.title(m), fatal: p.fatal, lines: [...cutHere, raw], ...at(ts) });
            this.open = crash;
            return crash;
        }
        return undefined;
    }
    record(c) {
        this.done.push(c);
        return c;
    }
}
function at(ts) {
    return ts ? { atSeconds: Number(ts[1]) } : {};
}
//# sourceMappingURL=crash-scanner.js.map