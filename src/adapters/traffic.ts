import { createServer, type AddressInfo, type Server } from 'node:net';
import type { ExecResult } from '../guest/ssh.js';

/** QEMU user networking's gateway: the guest reaches the host's 127.0.0.1 there. */
const HOST_FROM_GUEST = '10.0.2.2';

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/**
 * Pushes `bytes` from the guest to the host and `bytes` back, at once, over plain TCP
 * streams through the guest's NIC (bash's /dev/tcp, no cipher in the way; `bytes` a multiple of 64 KiB),
 * and says what each side received.
 */
export async function tcpTraffic(
  exec: (command: string, opts: { timeoutMs: number }) => Promise<ExecResult>,
  bytes: number,
): Promise<{ hostReceived: number; guestReceived: number; seconds: number }> {
  let hostReceived = 0;
  let sinkDone!: () => void;
  const sinkEnded = new Promise<void>((resolve) => (sinkDone = resolve));
  const sink = createServer((s) => {
    s.on('data', (d: Buffer) => (hostReceived += d.length));
    s.on('close', () => sinkDone());
    s.on('error', () => sinkDone());
  });
  const source = createServer((s) => {
    s.on('error', () => undefined);
    s.end(Buffer.alloc(bytes, 0x5a));
  });
  try {
    const [sinkPort, sourcePort] = [await listen(sink), await listen(source)];
    const started = Date.now();
    const r = await exec(
      `bash -c 'dd if=/dev/zero bs=64K count=${bytes >> 16} status=none > /dev/tcp/${HOST_FROM_GUEST}/${sinkPort} & wc -c < /dev/tcp/${HOST_FROM_GUEST}/${sourcePort}; wait $!'`,
      { timeoutMs: 120_000 },
    );
    await Promise.race([sinkEnded, new Promise((resolve) => setTimeout(resolve, 5000))]);
    const guestReceived = r.exitCode === 0 ? Number(r.stdout.trim()) : 0;
    return { hostReceived, guestReceived, seconds: (Date.now() - started) / 1000 };
  } finally {
    sink.close();
    source.close();
  }
}
