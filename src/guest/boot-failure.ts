import type { Crash } from '../console/crash-scanner.js';

export type BootFailureReason = 'kernel-panic' | 'kernel-crash' | 'qemu-exited' | 'ssh-timeout' | 'boot-hang';

/** The guest never became reachable: a result of the run (exit 1), with the console tail as evidence. */
export class BootFailure extends Error {
  constructor(
    readonly reason: BootFailureReason,
    message: string,
    readonly consoleTail: string[],
    readonly crash?: Crash,
  ) {
    super(message);
    this.name = 'BootFailure';
  }
}
