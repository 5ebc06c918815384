import { openCache } from '../../cache/sweep.js';
import { ensureImage, loadRecipe } from '../../adapters/image-builder.js';
import { DEFAULT_IMAGE } from '../../image/recipe.js';
import { common, defineCommand, print } from '../options.js';

const build = defineCommand(
  'build [recipe]',
  'build the guest image (cached by content)',
  (y) =>
    y
      .positional('recipe', { type: 'string', default: DEFAULT_IMAGE })
      .option('rebuild', { type: 'boolean', default: false, describe: 'build again even when cached' })
      .example('$0 image build', 'build (or find in the cache) the default guest image'),
  async (argv) => {
    const { cacheDir, log } = common(argv);
    await openCache(cacheDir, log);
    const image = await ensureImage({ recipe: await loadRecipe(argv.recipe), cacheDir, log, rebuild: argv.rebuild });
    print(`${image.dir}\n`);
  },
);

export default defineCommand(
  'image',
  'the guest image: build (with its own --help)',
  (y) =>
    y
      .command(build)
      .demandCommand(1, 'name an action: build')
      .example('$0 image build', 'build (or find in the cache) the default guest image'),
  () => undefined,
);
