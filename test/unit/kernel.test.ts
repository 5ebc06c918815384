import test from 'ava';
import { describeMismatches, parseKconfig, verifyConfig } from '../../src/kernel/kconfig.js';
import { buildDirKey, kernelArtifactKey, kernelRequestKey } from '../../src/kernel/keys.js';
import {
  kconfigSymbolsAdded,
  looksLikeMbox,
  parseSeries,
  seriesFragmentFor,
  splitMbox,
  touchedFiles,
} from '../../src/kernel/patches.js';
import { loadPatches, loadSeriesFragment } from '../../src/adapters/kernel-source.js';
import { firstBuildErrors, isWorkLine } from '../../src/kernel/build-output.js';
import { fixture } from '../helpers/fixtures.js';

test('quilt series: order kept, comments, blank lines and -p options dropped', (t) => {
  t.deepEqual(parseSeries('# the series\n0001-a.patch\n\n0002-b.patch -p1\n  # done\n'), [
    '0001-a.patch',
    '0002-b.patch',
  ]);
});

test('an mbox splits into its patches; the cover letter is dropped; subjects name them', (t) => {
  const text = fixture('patches', 'series-two.mbox');
  t.true(looksLikeMbox(text));
  const patches = splitMbox(text, 'series-two.mbox');
  t.deepEqual(
    patches.map((p) => p.name),
    [
      'series-two.mbox #1: [RFC PATCH 1/2] mm: add node state N_PRIVATE',
      'series-two.mbox #2: [RFC PATCH 2/2] mm/mempolicy: refuse MPOL_BIND to private nodes',
    ],
  );
  t.deepEqual(touchedFiles(patches[1]!.text), ['mm/mempolicy.c', 'mm/new-file.c']);
  t.false(looksLikeMbox('--- a/x\n+++ b/x\n'));
});

test('a git format-patch file is a one-message mbox', (t) => {
  const text = fixture('patches', 'banner', '0001-init-announce-numacage-test-patch.patch');
  t.true(looksLikeMbox(text));
  const [p] = splitMbox(text, 'x');
  t.regex(p!.name, /init: announce the numacage test patch at boot/);
  t.deepEqual(touchedFiles(p!.text), ['init/main.c']);
});

test("a series' own kconfig fragment asks a prefix only for the options that prefix's patches add", async (t) => {
  const series = await loadPatches('private-node');
  t.deepEqual([...kconfigSymbolsAdded(series)], ['CONFIG_DMA_PRIVATE_NODE_POOL']);
  const text =
    '# the pool\nCONFIG_SWIOTLB=y\nCONFIG_DMA_PRIVATE_NODE_POOL=y\n# CONFIG_DMA_PRIVATE_NODE_POOL is not set\n';
  t.is(seriesFragmentFor(text, series, series), text);
  // 0012 adds the option: a prefix without it keeps the options the tree already has.
  t.is(seriesFragmentFor(text, series, series.slice(0, 11)), '# the pool\nCONFIG_SWIOTLB=y\n');
  t.is((await loadSeriesFragment('private-node'))!.text.trim(), 'CONFIG_DMA_PRIVATE_NODE_POOL=y');
  t.is((await loadSeriesFragment('private-node@12'))!.text.trim(), 'CONFIG_DMA_PRIVATE_NODE_POOL=y');
  t.is((await loadSeriesFragment('private-node@10'))!.text.trim(), '');
  t.is(await loadSeriesFragment(undefined), undefined);
});

test('kconfig parsing: values, strings and "is not set"', (t) => {
  const c = parseKconfig('CONFIG_A=y\nCONFIG_B="x y"\n# CONFIG_C is not set\nCONFIG_D=64\n# comment\n');
  t.deepEqual(
    [...c],
    [
      ['CONFIG_A', 'y'],
      ['CONFIG_B', '"x y"'],
      ['CONFIG_C', 'n'],
      ['CONFIG_D', '64'],
    ],
  );
});

test('config verification lists each option that did not stick, with asked and actual values; later fragments win', (t) => {
  const fragments = [
    { name: 'base', text: 'CONFIG_NUMA=y\nCONFIG_KSM=n\n' },
    { name: 'extra', text: 'CONFIG_HW_RANDOM_VIRTIO=y\nCONFIG_NR_CPUS=64\n# CONFIG_KSM is not set\nCONFIG_KSM=y\n' },
  ];
  const final = 'CONFIG_NUMA=y\n# CONFIG_KSM is not set\nCONFIG_NR_CPUS=8\n';
  const m = verifyConfig(fragments, final);
  t.deepEqual(m, [
    { option: 'CONFIG_KSM', requested: 'y', actual: 'n', fragment: 'extra' },
    { option: 'CONFIG_HW_RANDOM_VIRTIO', requested: 'y', actual: 'n', fragment: 'extra' },
    { option: 'CONFIG_NR_CPUS', requested: '64', actual: '8', fragment: 'extra' },
  ]);
  t.regex(describeMismatches(m), /CONFIG_HW_RANDOM_VIRTIO: asked y in extra, got not set/);
  t.deepEqual(
    verifyConfig(fragments.slice(0, 1), 'CONFIG_NUMA=y\n'),
    [],
    'an option asked "=n" and absent from .config stuck',
  );
});

test('cache keys: a changed patch byte changes both keys; reordered fragments change the request but not the artifact', (t) => {
  const patches = [{ name: 'p', text: '--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n' }];
  const frags = [
    { name: 'a', text: 'CONFIG_A=y\n' },
    { name: 'b', text: 'CONFIG_B=y\n' },
  ];
  const req = kernelRequestKey({ sourceKey: 's', patches, base: 'tinyconfig', fragments: frags });
  const changed = [{ name: 'p', text: patches[0]!.text.replace('+b', '+c') }];
  t.not(kernelRequestKey({ sourceKey: 's', patches: changed, base: 'tinyconfig', fragments: frags }), req);
  t.not(kernelRequestKey({ sourceKey: 's', patches, base: 'tinyconfig', fragments: [...frags].reverse() }), req);
  t.not(kernelRequestKey({ sourceKey: 'other', patches, base: 'tinyconfig', fragments: frags }), req);

  const finalConfig = 'CONFIG_A=y\nCONFIG_B=y\n';
  const art = kernelArtifactKey({ sourceKey: 's', patches, finalConfig });
  t.is(kernelArtifactKey({ sourceKey: 's', patches: [{ ...patches[0]!, name: 'renamed' }], finalConfig }), art);
  t.not(kernelArtifactKey({ sourceKey: 's', patches: changed, finalConfig }), art);
  t.not(kernelArtifactKey({ sourceKey: 's', patches, finalConfig: `${finalConfig}CONFIG_C=y\n` }), art);
  t.is(
    buildDirKey('tinyconfig', frags),
    buildDirKey(
      'tinyconfig',
      frags.map((f) => ({ ...f })),
    ),
  );
});

test('build output: work lines are counted, the first errors are quoted', (t) => {
  t.true(isWorkLine('  CC      mm/mempolicy.o'));
  t.true(isWorkLine('  LD      vmlinux.o'));
  t.false(isWorkLine('make[1]: Entering directory'));
  const log = [
    '  CC      mm/mempolicy.o',
    '../src/mm/mempolicy.c: In function ‘do_mbind’:',
    "../src/mm/mempolicy.c:1300:9: error: 'x' undeclared",
    'make[3]: *** [mm/mempolicy.o] Error 1',
  ].join('\n');
  t.deepEqual(firstBuildErrors(log), [
    '../src/mm/mempolicy.c: In function ‘do_mbind’:',
    "../src/mm/mempolicy.c:1300:9: error: 'x' undeclared",
    'make[3]: *** [mm/mempolicy.o] Error 1',
  ]);
});
