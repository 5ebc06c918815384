import { assertCacheWritable } from '../../adapters/cache-dir.js';
import { ensureImage, loadRecipe } from '../../adapters/image-builder.js';
import { DEFAULT_IMAGE } from '../../image/recipe.js';
import { common, defineCommand, print } from '../options.js';

export default defineCommand(
  'image <action> [recipe]',
  'build the guest image (cached by content)',
  (y) =>
    y
      .positional('action', { choices: ['build'] as const, demandOption: true })
      .positional('recipe', { type: 'string', default: DEFAULT_IMAGE })
      .option('rebuild', { type: 'boolean', default: false, describe: 'build again even when cached' })
      .example('$0 image build', 'build (or find in the cache) the default guest image'),
  async (argv) => {
    const { cacheDir, log } = common(argv);
    await assertCacheWritable(cacheDir);
    const image = await ensureImage({ recipe: await loadRecipe(argv.recipe), cacheDir, log, rebuild: argv.rebuild });
    print(`${image.dir}\n`);
  },
);
