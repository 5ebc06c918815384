/** The guest never became reachable: a result of the run (exit 1), with the console tail as evidence. */
export class BootFailure extends Error {
    reason;
    consoleTail;
    crash;
    constructor(reason, message, consoleTail, crash) {
        super(message);
        this.reason = reason;
        this.consoleTail = consoleTail;
        this.crash = crash;
        this.name = 'BootFailure';
    }
}
//# sourceMappingURL=boot-failure.js.map