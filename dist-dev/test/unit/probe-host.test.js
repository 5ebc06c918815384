import { execFileSync } from 'node:child_process';
import test from 'ava';
import { dir } from 'tmp-promise';
import { ensureProbeBinary } from '../../src/adapters/probe-binary.js';
import { parseProbeOutput, pagesOn } from '../../src/probes/isolation-parsers.js';
// The guest probe's own tests, on this single-node host: every call works on node 0, and node 7 does not exist.
const built = (async () => {
    const cache = await dir({ unsafeCleanup: true });
    return { ...(await ensureProbeBinary(cache.path)), cache };
})();
async function probe(...args) {
    const { path } = await built;
    return parseProbeOutput(execFileSync(path, args, { encoding: 'utf8' }));
}
test('soft-policy on the only node: three calls, all pages on node 0', async (t) => {
    const recs = await probe('soft-policy', '0', '0');
    t.deepEqual(recs.map((r) => r.mode), ['MPOL_INTERLEAVE', 'MPOL_PREFERRED_MANY', 'MPOL_PREFERRED']);
    for (const r of recs) {
        t.is(r.ret, 0);
        t.is(r.errno, null);
        t.is(pagesOn(r.placement, 0), 64);
    }
});
test('mbind to a node that does not exist fails with EINVAL and the pages still land on node 0', async (t) => {
    const [fresh, move] = await probe('bind', '7');
    t.is(fresh.case, 'fresh');
    t.is(fresh.ret, -1);
    t.is(fresh.errno, 'EINVAL');
    t.is(pagesOn(fresh.placement, 0), 64);
    t.is(move.case, 'move-strict');
    t.is(move.errno, 'EINVAL');
    t.deepEqual(move.before?.placement, { '0': 64 });
});
test('move_pages and migrate_pages report status and placement', async (t) => {
    const [mv] = await probe('move-pages', '0');
    t.deepEqual(mv.status, Array(16).fill(0));
    t.is(pagesOn(mv.placement, 0), 16);
    const [bad] = await probe('move-pages', '7');
    t.true(bad.ret === -1 && (bad.errno === 'ENODEV' || bad.errno === 'EINVAL'), JSON.stringify(bad));
    const [mg] = await probe('migrate-pages', '0', '0');
    t.is(mg.ret, 0);
    t.is(pagesOn(mg.placement, 0), 16);
});
test('fill reports each step and a final line', async (t) => {
    const recs = await probe('fill', '8', '4');
    t.deepEqual(recs.map((r) => [r.call, r.mib]), [['fault', 4], ['fault', 8], ['done', 8]]);
    t.is(pagesOn(recs[0].placement, 0), 1024);
});
test('bad usage exits 2', async (t) => {
    const { path } = await built;
    const err = t.throws(() => execFileSync(path, ['nope'], { stdio: 'pipe' }));
    t.is(err.status, 2);
});
test.after.always(async () => (await built).cache.cleanup());
//# sourceMappingURL=probe-host.test.js.map