import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * One cancellation scope per command. main runs each command inside a scope
 * whose AbortSignal SIGINT/SIGTERM abort; every tool an adapter starts (make,
 * mmdebstrap, tar, git, the KVM test QEMU) gets that signal as execa's
 * cancelSignal, so it is sent SIGTERM at once and SIGKILL after
 * TOOL_KILL_GRACE_MS. AsyncLocalStorage carries the signal through every
 * await without threading a parameter through each adapter, and keeps two
 * commands in one process (tests) apart.
 */
const scope = new AsyncLocalStorage<AbortSignal>();
const neverAborted = new AbortController().signal;

/** How long a tool gets between SIGTERM and SIGKILL once its command is cancelled (make stops its compilers in that time). */
const TOOL_KILL_GRACE_MS = 5000;

export function withCancellation<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  return scope.run(signal, fn);
}

/** The current command's signal (never aborted outside a scope). */
function commandSignal(): AbortSignal {
  return scope.getStore() ?? neverAborted;
}

/** execa options that tie a child to the current command: killed when it is cancelled. */
export function cancellable(): { cancelSignal: AbortSignal; forceKillAfterDelay: number } {
  return { cancelSignal: commandSignal(), forceKillAfterDelay: TOOL_KILL_GRACE_MS };
}

const running = new Set<Promise<unknown>>();

/** Records a started child so that an interrupt waits for it to be gone before cleaning up what it was writing. */
export function trackChild(child: Promise<unknown>): void {
  const settled = child.then(
    () => undefined,
    () => undefined,
  );
  running.add(settled);
  void settled.then(() => running.delete(settled));
}

/** Waits (at most limitMs) for every tracked child to have exited. */
export async function childrenGone(limitMs = TOOL_KILL_GRACE_MS + 1000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(running), new Promise((r) => (timer = setTimeout(r, limitMs)))]);
  clearTimeout(timer);
}
