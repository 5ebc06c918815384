const cleanups = new Set();
const killOnExit = new Set();
/** Registers work to do if the run is interrupted (SIGINT, SIGTERM, a crash). Returns the unregister function. */
export function onInterrupt(fn) {
    cleanups.add(fn);
    return () => cleanups.delete(fn);
}
/** A child process to SIGKILL if numacage exits while it still runs, whatever the exit path. */
export function killOnProcessExit(pid) {
    killOnExit.add(pid);
    return () => killOnExit.delete(pid);
}
export async function runInterruptCleanups() {
    const pending = [...cleanups].reverse();
    cleanups.clear();
    for (const fn of pending) {
        try {
            await fn();
        }
        catch {
            // Best effort: the next cleanup still runs.
        }
    }
}
process.on('exit', () => {
    for (const pid of killOnExit) {
        try {
            process.kill(pid, 'SIGKILL');
        }
        catch {
            // Already gone.
        }
    }
});
//# sourceMappingURL=cleanup.js.map