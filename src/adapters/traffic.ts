import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import type { ExecResult } from '../guest/ssh.js';
import { TRAFFIC_HOST, TRAFFIC_PORTS } from '../qemu/args.js';

async function listen(server: Server, path: string): Promise<void> {
  await rm(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
}

/**
 * Pushes `bytes` from the guest to the host and `bytes` back, at once, over plain TCP
 * streams through the guest's NIC (bash's /dev/tcp, no cipher in the way; `bytes` a multiple of 64 KiB),
 * and says what each side received. QEMU forwards the guest's connections to the sockets
 * (trafficSocketPath), the only host ends its restricted network reaches.
 */
export async function tcpTraffic(
  exec: (command: string, opts: { timeoutMs: number }) => Promise<ExecResult>,
  bytes: number,
  sockets: Record<keyof typeof TRAFFIC_PORTS, string>,
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
    await listen(sink, sockets.sink);
    await listen(source, sockets.source);
    const started = Date.now();
    const r = await exec(
      `bash -c 'dd if=/dev/zero bs=64K count=${bytes >> 16} status=none > /dev/tcp/${TRAFFIC_HOST}/${TRAFFIC_PORTS.sink} & wc -c < /dev/tcp/${TRAFFIC_HOST}/${TRAFFIC_PORTS.source}; wait $!'`,
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
