import type { ConsoleBuffer } from '../console/console-buffer.js';
import { CrashScanner, type Crash } from '../console/crash-scanner.js';

/** Watches a console from its first byte; `fatal` settles with the first fatal crash. */
export class CrashWatch {
  private readonly scanner = new CrashScanner();
  private resolveFatal!: (c: Crash) => void;
  /** Never rejects; stays pending while the kernel is healthy. */
  readonly fatal = new Promise<Crash>((r) => (this.resolveFatal = r));
  /** Wall-clock time of the latest console output, for the no-output watchdog. */
  lastOutputAt = Date.now();
  private readonly stop: () => void;

  constructor(console: ConsoleBuffer) {
    this.stop = console.watch((chunk) => {
      this.lastOutputAt = Date.now();
      this.report(this.scanner.feed(chunk));
    });
  }

  /** The console ended (QEMU exited): scan the unfinished last line too. */
  finish(): void {
    this.stop();
    this.report(this.scanner.flush());
  }

  get crashes(): Crash[] {
    return this.scanner.crashes;
  }

  private report(found: Crash[]): void {
    const fatal = found.find((c) => c.fatal);
    if (fatal) this.resolveFatal(fatal);
  }
}
