import { connect } from 'node:net';

/** The QMP socket failed or closed under a command: QEMU may be gone (its exit tells). */
export class QmpTransportError extends Error {}

/**
 * Sends one QMP command over a fresh connection (greeting, qmp_capabilities,
 * command) and resolves with its "return" value.
 */
export function qmpCommand(
  socketPath: string,
  execute: string,
  args?: Record<string, unknown>,
  timeoutMs = 3000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let buf = '';
    let stage: 'greeting' | 'capabilities' | 'command' = 'greeting';
    const timer = setTimeout(() => finish(new Error(`QMP ${execute} timed out after ${timeoutMs} ms`)), timeoutMs);
    const finish = (err: Error | null, value?: unknown) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    sock.on('error', (err) => finish(new QmpTransportError(`QMP ${execute}: ${err.message}`)));
    sock.on('close', () => {
      // QEMU closes the socket as it quits; for "quit" that is the answer.
      if (stage === 'command' && execute === 'quit') finish(null, {});
      else finish(new QmpTransportError(`QMP socket closed during ${stage}`));
    });
    sock.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as Record<string, unknown>;
        if ('event' in msg) continue;
        if ('error' in msg) return finish(new Error(`QMP ${execute}: ${JSON.stringify(msg.error)}`));
        if (stage === 'greeting') {
          stage = 'capabilities';
          sock.write(JSON.stringify({ execute: 'qmp_capabilities' }) + '\n');
        } else if (stage === 'capabilities') {
          stage = 'command';
          sock.write(JSON.stringify(args ? { execute, arguments: args } : { execute }) + '\n');
        } else return finish(null, msg.return);
      }
    });
  });
}
