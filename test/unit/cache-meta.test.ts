import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { runInProcess } from '../helpers/in-process.js';
import { fixture } from '../helpers/fixtures.js';
import { mutated, tampered } from '../helpers/generators.js';
import { propertyRuns } from '../helpers/property-runs.js';

// A cache's meta.json files as a crash, a full disk or a careless hand leaves them: cache ls, verify and
// gc over a cache whose entries' meta.json is mutated or tampered with. Each lists, removes or keeps the
// entry (a damaged one is incomplete, or removed and built again), exit 0 (verify: 1 when it removed a damaged
// one), never an internal error (70).

const METAS = ['kernel', 'image', 'kselftests', 'probe'].map((kind) => ({
  dir: { kernel: 'kernels', image: 'images', kselftests: 'kselftests', probe: 'probe' }[kind]!,
  meta: JSON.parse(fixture('cache-meta', `${kind}.meta.json`)) as unknown,
}));

const root = mkdtempSync(join(tmpdir(), 'numacage-cache-meta-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));
const clean = join(root, 'clean');
for (const { dir, meta } of METAS) {
  const entry = join(clean, dir, (meta as { key: string }).key);
  mkdirSync(entry, { recursive: true });
  writeFileSync(join(entry, 'meta.json'), JSON.stringify(meta));
}

let n = 0;
// Serial: runInProcess captures stdout and stderr.
testProp.serial(
  'cache ls, verify and gc over a meta.json mutated or tampered with: exit 0 (verify 1 on damage), never an internal error',
  [
    fc
      .nat({ max: METAS.length - 1 })
      .chain((i) =>
        fc.tuple(fc.constant(i), fc.oneof(mutated(fc.constant(METAS[i]!.meta)), tampered(fc.constant(METAS[i]!.meta)))),
      ),
    fc.boolean(),
  ],
  async (t, [i, meta], asText) => {
    const cache = join(root, `case-${n++}`);
    cpSync(clean, cache, { recursive: true });
    const { dir, meta: original } = METAS[i]!;
    const entry = join(cache, dir, (original as { key: string }).key);
    writeFileSync(join(entry, 'meta.json'), asText ? JSON.stringify(meta).slice(0, 40) : JSON.stringify(meta));
    try {
      for (const action of [
        ['ls'],
        ['ls', '--format', 'json'],
        ['verify'],
        ['gc', '--max-size', '1', '--dry-run'],
        ['gc', '--max-size', '1'],
      ]) {
        const r = await runInProcess(['cache', ...action, '--cache-dir', cache]);
        // verify exits 1 when it found (and removed) a damaged entry.
        t.true(
          r.exitCode === 0 || (action[0] === 'verify' && r.exitCode === 1),
          `cache ${action.join(' ')}: exit ${r.exitCode} ${r.message}`,
        );
      }
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  },
  propertyRuns(150),
);
