import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '../model/errors.js';
import { SCHEMA_KEY, parseOrThrow, says } from '../schema/parse.js';

export interface ImageRecipe {
  name: string;
  description: string;
  suite: string;
  mirrors: string[];
  packages: string[];
  /** Package name template; {linux-source-6.12} is the host linux-source package's upstream version. */
  stockKernel: string;
  sizeMiB: number;
  users: string[];
}

/** Bump when the image layout changes so that old cache entries are not reused. */
/** The recipe under images/ that numacage uses unless told otherwise. */
export const DEFAULT_IMAGE = 'debian-bookworm';

const IMAGE_FORMAT_VERSION = 2;

const SOURCE_PLACEHOLDER = '{linux-source-6.12}';
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/**
 * An apt source line or a mirror URL, as mmdebstrap takes them: never an
 * option (a "mirror" of --setup-hook=CMD would run CMD on the host as root),
 * never a file or stdin.
 */
const MIRROR = /^(deb(-src)? (\[[^\]\n]*\] )?(https?|file):\/\/[^\s]+( [A-Za-z0-9._/-]+)+|(https?|file):\/\/[^\s]+)$/;

const stringList = (message: string, pattern?: RegExp) =>
  z.array(pattern ? z.string(says(message)).regex(pattern, says(message)) : z.string(says(message)), says(message));

/** An image recipe under images/ (images/README.md). */
export const RecipeFile = z
  .strictObject(
    {
      ...SCHEMA_KEY,
      description: z.string(says('must be a string')).optional(),
      suite: z
        .string(says('must be a Debian suite name such as "bookworm"'))
        .regex(/^[a-z-]+$/, says('must be a Debian suite name such as "bookworm"')),
      mirrors: stringList(
        'must be a list of apt source lines ("deb URL SUITE COMPONENT...") or mirror URLs',
        MIRROR,
      ).min(1, says('must name at least one apt source line')),
      packages: stringList('must be a list of Debian package names', PACKAGE_NAME),
      stockKernel: z
        .string(says('must be a linux-image-* package name (it may use {linux-source-6.12})'))
        .regex(/^linux-image-/, says('must be a linux-image-* package name (it may use {linux-source-6.12})')),
      sizeMiB: z
        .number(says('must be an integer >= 512'))
        .int(says('must be an integer >= 512'))
        .min(512, says('must be an integer >= 512'))
        .max(1 << 20, says('must be at most 1048576 (1 TiB)')),
      users: stringList('must be a list of user names', USER_NAME).optional(),
    },
    says('the file must hold a JSON object'),
  )
  .meta({ title: 'numacage image recipe', description: 'A guest image built with mmdebstrap (images/README.md)' });

export function parseRecipe(raw: unknown, name: string, source: string): ImageRecipe {
  const r = parseOrThrow(
    RecipeFile,
    raw,
    `image recipe ${source}`,
    'see images/README.md and docs/schemas/image-recipe.schema.json',
  );
  return {
    name,
    description: r.description ?? '',
    suite: r.suite,
    mirrors: r.mirrors,
    packages: r.packages,
    stockKernel: r.stockKernel,
    sizeMiB: r.sizeMiB,
    users: r.users ?? [],
  };
}

/** "6.12.117-1~deb12u1" → "6.12.117". */
export function upstreamVersion(debianVersion: string): string {
  return debianVersion.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
}

export function resolveStockKernelPackage(template: string, linuxSourceVersion: string | undefined): string {
  if (!template.includes(SOURCE_PLACEHOLDER)) return template;
  if (!linuxSourceVersion)
    throw new ConfigError(
      `the image recipe's stockKernel ${template} needs the host package linux-source-6.12 to pick its version`,
      'run `numacage doctor --install`, or write an exact package name in the recipe',
    );
  return template.replace(SOURCE_PLACEHOLDER, upstreamVersion(linuxSourceVersion));
}

/** Digest of everything that goes into an image. */
export function imageCacheKey(recipe: ImageRecipe, kernelPackage: string, guestFiles: Record<string, Buffer>): string {
  const h = createHash('sha256');
  const { name: _name, description: _description, ...content } = recipe;
  h.update(JSON.stringify({ format: IMAGE_FORMAT_VERSION, content, kernelPackage }));
  for (const path of Object.keys(guestFiles).sort()) h.update(`\0${path}\0`).update(guestFiles[path]!);
  return h.digest('hex').slice(0, 32);
}
