import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { withDir } from 'tmp-promise';
import { listGuests, registerGuest, type GuestRecord } from '../../src/guest/registry.js';

const record = (over: Partial<GuestRecord> = {}): GuestRecord => ({
  id: 'g1',
  pid: process.pid,
  sshPort: 2222,
  privateKeyPath: '/cache/images/K/id_ed25519',
  hostKey: 'AAAA',
  runDir: '/runs/R',
  startedAt: '2026-12-03T09:00:00.000Z',
  ...over,
});

test('numacage ssh finds the live guests; a dead one, a record cut short and one of the wrong shape are removed, never read', async (t) => {
  await withDir(
    async ({ path: cache }) => {
      await registerGuest(cache, record());
      await registerGuest(cache, record({ id: 'dead', pid: 2 ** 22 + 1 }));
      const dir = join(cache, 'guests');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'cut.json'), '{"id":"cut","pid":1');
      await writeFile(join(dir, 'list.json'), '[]');
      await writeFile(join(dir, 'port.json'), JSON.stringify({ ...record({ id: 'port' }), sshPort: '22' }));
      t.deepEqual(
        (await listGuests(cache)).map((g) => g.id),
        ['g1'],
      );
      for (const f of ['dead', 'cut', 'list', 'port']) t.false(existsSync(join(dir, `${f}.json`)), f);
    },
    { unsafeCleanup: true },
  );
});
