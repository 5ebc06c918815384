/** Exit codes: 0 all checks hold, 1 a check failed or the guest broke, 2 the user must fix something, 3 host trouble, 4 kernel build failed. */
export const ExitCode = { ok: 0, failed: 1, config: 2, infra: 3, build: 4, interrupted: 130 } as const;

export abstract class NumacageError extends Error {
  abstract readonly exitCode: number;
  /** What the user should do about it, printed after the message. */
  readonly hint?: string;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = new.target.name;
    this.hint = hint;
  }
}

/** Something the user must fix: a bad option, file, topology, patch or kconfig fragment. */
export class ConfigError extends NumacageError {
  readonly exitCode = ExitCode.config;
}

/** Host trouble: a missing tool, no disk space, QEMU that will not start. */
export class InfraError extends NumacageError {
  readonly exitCode = ExitCode.infra;
}

/** The kernel did not compile. */
export class BuildError extends NumacageError {
  readonly exitCode = ExitCode.build;
}

/** SIGINT or SIGTERM ended the run. */
export class InterruptedError extends NumacageError {
  readonly exitCode = ExitCode.interrupted;
}
