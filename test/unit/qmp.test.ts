import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { qmpCommand, QmpTransportError } from '../../src/adapters/qmp.js';

// A QMP server on a real unix socket, speaking as QEMU 7.2 does: the greeting, then one JSON line per
// command. `answer` gets each command and the socket (to answer, or to drop the connection as a dying QEMU does).
async function qmpServer(answer: (cmd: { execute: string }, sock: Socket) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'numacage-qmp-'));
  const path = join(dir, 'qmp.sock');
  const server = createServer((sock) => {
    sock.write('{"QMP": {"version": {"qemu": {"micro": 19, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}\r\n');
    sock.on('data', (d) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        const cmd = JSON.parse(line) as { execute: string };
        if (cmd.execute === 'qmp_capabilities') sock.write('{"return": {}}\r\n');
        else answer(cmd, sock);
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  return {
    path,
    close: () => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('QMP: an answer resolves, an error answer is an ordinary error, a socket QEMU drops is a transport error', async (t) => {
  const server = await qmpServer((cmd, sock) => {
    if (cmd.execute === 'query-hotpluggable-cpus') sock.write('{"return": []}\r\n');
    else if (cmd.execute === 'device_add')
      sock.write('{"error": {"class": "GenericError", "desc": "CPU[2] with APIC ID 2 exists"}}\r\n');
    // A QEMU that aborts under a command: the connection goes, with no answer.
    else sock.destroy();
  });
  t.teardown(server.close);
  t.deepEqual(await qmpCommand(server.path, 'query-hotpluggable-cpus'), []);
  const refused = await t.throwsAsync(qmpCommand(server.path, 'device_add', { driver: 'x' }));
  t.false(refused instanceof QmpTransportError, refused?.message);
  t.regex(refused!.message, /QMP device_add: .*exists/);
  await t.throwsAsync(qmpCommand(server.path, 'query-status'), {
    instanceOf: QmpTransportError,
    message: 'QMP socket closed during command',
  });
});

test('QMP: no socket (QEMU gone before the command) is a transport error naming the command', async (t) => {
  const err = await t.throwsAsync(qmpCommand(join(tmpdir(), 'numacage-no-such-qmp.sock'), 'query-status'), {
    instanceOf: QmpTransportError,
  });
  t.regex(err!.message, /^QMP query-status: connect ENOENT/);
});
