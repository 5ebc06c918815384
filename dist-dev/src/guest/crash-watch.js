import { CrashScanner } from '../console/crash-scanner.js';
/** Watches a console from its first byte; `fatal` settles with the first fatal crash. */
export class CrashWatch {
    scanner = new CrashScanner();
    resolveFatal;
    /** Never rejects; stays pending while the kernel is healthy. */
    fatal = new Promise((r) => (this.resolveFatal = r));
    /** Wall-clock time of the latest console output, for the no-output watchdog. */
    lastOutputAt = Date.now();
    stop;
    constructor(console) {
        this.stop = console.watch((chunk) => {
            this.lastOutputAt = Date.now();
            this.report(this.scanner.feed(chunk));
        });
    }
    /** The console ended (QEMU exited): scan the unfinished last line too. */
    finish() {
        this.stop();
        this.report(this.scanner.flush());
    }
    get crashes() {
        return this.scanner.crashes;
    }
    report(found) {
        const fatal = found.find((c) => c.fatal);
        if (fatal)
            this.resolveFatal(fatal);
    }
}
//# sourceMappingURL=crash-watch.js.map