/** Exit codes: 0 all checks hold, 1 a check failed or the guest broke, 2 the user must fix something, 3 host trouble, 4 kernel build failed. */
export const ExitCode = { ok: 0, failed: 1, config: 2, infra: 3, build: 4, interrupted: 130 };
export class NumacageError extends Error {
    /** What the user should do about it, printed after the message. */
    hint;
    constructor(message, hint) {
        super(message);
        this.name = new.target.name;
        this.hint = hint;
    }
}
/** Something the user must fix: a bad option, file, topology, patch or kconfig fragment. */
export class ConfigError extends NumacageError {
    exitCode = ExitCode.config;
}
/** Host trouble: a missing tool, no disk space, QEMU that will not start. */
export class InfraError extends NumacageError {
    exitCode = ExitCode.infra;
}
/** The kernel did not compile. */
export class BuildError extends NumacageError {
    exitCode = ExitCode.build;
}
/** SIGINT or SIGTERM ended the run. */
export class InterruptedError extends NumacageError {
    exitCode = ExitCode.interrupted;
}
//# sourceMappingURL=errors.js.map