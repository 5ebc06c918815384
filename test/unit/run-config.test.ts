import test from 'ava';
import { parseRunConfig } from '../../src/run/config.js';
import { ConfigError } from '../../src/model/errors.js';

test('a run config maps to flags; the kernel section to --kernel-src, --patches, --kconfig; paths are relative to the file', (t) => {
  const flags = parseRunConfig(
    {
      topology: './topo.json',
      suite: 'smoke',
      append: ['private_node=1', 'loglevel=7'],
      kernel: { src: '../linux', patches: 'rfc-v4', kconfig: ['guest-base', './extra.config'] },
    },
    '/ci/matrix/run.json',
  );
  t.deepEqual(flags, {
    topology: '/ci/matrix/topo.json',
    suite: 'smoke',
    append: 'private_node=1 loglevel=7',
    kernel: 'built',
    'kernel-src': '/ci/linux',
    patches: 'rfc-v4',
    kconfig: ['guest-base', '/ci/matrix/extra.config'],
  });
  t.deepEqual(parseRunConfig({ kernel: 'stock', topology: 'private-movable' }, 'r.json'), {
    kernel: 'stock',
    topology: 'private-movable',
  });
});

test('unknown keys and bad kernel sections are named, with the file', (t) => {
  const err = t.throws(() => parseRunConfig({ topolgy: 'x', kernel: { knd: 'built', kind: 'patched' } }, 'r.json'), {
    instanceOf: ConfigError,
  });
  t.regex(err.message, /run config r\.json is invalid/);
  t.regex(err.message, /\(top level\): unknown key "topolgy"/);
  t.throws(() => parseRunConfig([1, 2], 'r.json'), { message: /must hold a JSON object/ });
  const inner = t.throws(() => parseRunConfig({ kernel: { knd: 'built', kind: 'patched' } }, 'r.json'));
  t.regex(inner.message, /kernel: unknown key "knd"/);
  t.regex(inner.message, /kernel\.kind: must be "stock" or "built"/);
  t.regex(
    t.throws(() => parseRunConfig({ kernel: 'patched' }, 'r.json')).message,
    /kernel: must be "stock", "built" or an object/,
  );
});

test('wrong types are named by JSON path with exit 2, never a TypeError; $schema is accepted', (t) => {
  for (const [raw, problem] of [
    [{ topology: 5 }, /topology: must be a string/],
    [{ append: 5 }, /append: must be a string or a list of strings/],
    [{ 'boot-timeout': 'abc' }, /boot-timeout: must be a number of seconds above 0/],
    [{ guests: 1.5 }, /guests: must be a whole number >= 1/],
    [{ kernel: { kconfig: 'guest-base' } }, /kernel\.kconfig: must be a list of fragment names or paths/],
  ] as const) {
    const err = t.throws(() => parseRunConfig(raw, 'r.json'), { instanceOf: ConfigError });
    t.regex(err.message, problem);
    t.is((err as ConfigError).exitCode, 2);
  }
  t.deepEqual(parseRunConfig({ $schema: '../docs/schemas/run-config.schema.json', suite: 'smoke' }, 'r.json'), {
    suite: 'smoke',
  });
});
