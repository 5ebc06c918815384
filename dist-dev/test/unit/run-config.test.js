import test from 'ava';
import { parseRunConfig } from '../../src/app/run-config.js';
import { ConfigError } from '../../src/model/errors.js';
test('a run config maps to flags; the kernel section to --kernel-src, --patches, --kconfig; paths are relative to the file', (t) => {
    const flags = parseRunConfig({ topology: './topo.json', suite: 'smoke', append: ['private_node=1', 'loglevel=7'], kernel: { src: '../linux', patches: 'rfc-v4', kconfig: ['guest-base', './extra.config'] } }, '/ci/matrix/run.json');
    t.deepEqual(flags, {
        topology: '/ci/matrix/topo.json', suite: 'smoke', append: 'private_node=1 loglevel=7',
        kernel: 'built', 'kernel-src': '/ci/linux', patches: 'rfc-v4', kconfig: ['guest-base', '/ci/matrix/extra.config'],
    });
    t.deepEqual(parseRunConfig({ kernel: 'stock', topology: 'private-movable' }, 'r.json'), { kernel: 'stock', topology: 'private-movable' });
});
test('unknown keys and bad kernel sections are named, with the file', (t) => {
    const err = t.throws(() => parseRunConfig({ topolgy: 'x', kernel: { knd: 'built', kind: 'patched' } }, 'r.json'), { instanceOf: ConfigError });
    t.regex(err.message, /run config r\.json is invalid/);
    t.regex(err.message, /unknown key "topolgy"/);
    t.regex(err.message, /unknown key "kernel\.knd"/);
    t.regex(err.message, /"kernel\.kind" must be "stock" or "built"/);
    t.throws(() => parseRunConfig([1, 2], 'r.json'), { message: /must hold a JSON object/ });
});
//# sourceMappingURL=run-config.test.js.map