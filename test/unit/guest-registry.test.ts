import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { withDir } from 'tmp-promise';
import { listGuests, registerGuest, type GuestRecord } from '../../src/guest/registry.js';
import { mutated } from '../helpers/generators.js';
import { propertyRuns } from '../helpers/property-runs.js';

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

/*
 * Any record a crash, an edit or another tool could leave (a whole record mutated: a value replaced
 * by any JSON value, a key deleted or added, up to three times; or not JSON at all): listGuests
 * never throws, gives back only records of the shape numacage ssh uses, and removes the rest.
 */
testProp(
  'guest records, mutated or not JSON: listGuests never throws; what it returns is whole, what it does not is removed',
  [fc.oneof(mutated(fc.constant(record({ users: ['probe'] }))), fc.string({ unit: 'binary', maxLength: 60 }))],
  async (t, raw) => {
    await withDir(
      async ({ path: cache }) => {
        const dir = join(cache, 'guests');
        await mkdir(dir, { recursive: true });
        const file = join(dir, 'g.json');
        await writeFile(file, typeof raw === 'string' ? raw : JSON.stringify(raw));
        const found = await listGuests(cache);
        for (const g of found) {
          t.true(Number.isInteger(g.pid) && g.pid > 0 && Number.isInteger(g.sshPort) && g.sshPort <= 65535);
          for (const k of ['id', 'privateKeyPath', 'hostKey', 'runDir', 'startedAt'] as const)
            t.is(typeof g[k], 'string', k);
          t.true(g.users === undefined || g.users.every((u) => typeof u === 'string'));
        }
        t.is(existsSync(file), found.length === 1, 'kept only when returned');
      },
      { unsafeCleanup: true },
    );
  },
  propertyRuns(2_000),
);
