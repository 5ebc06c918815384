import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { SCHEMA_KEY, parseOrThrow, positiveSeconds, says, wholeAtLeastOne } from '../schema/parse.js';
import { PROFILES } from '../invariants/expectation.js';

const text = z.string(says('must be a string'));
const kernelKind = z.enum(['stock', 'built'], says('must be "stock" or "built"'));
const profile = z.enum(PROFILES, says(`must be one of ${PROFILES.map((p) => `"${p}"`).join(', ')}`));

/** A run config file (docs/run-config.md): the flags of `numacage run` as JSON. */
export const RunConfigFile = z
  .strictObject(
    {
      ...SCHEMA_KEY,
      topology: text
        .meta({ description: 'built-in topology name, path to a topology .json, or a comma list' })
        .optional(),
      image: text.meta({ description: 'image recipe name under images/ or path to a recipe .json' }).optional(),
      accel: z.enum(['auto', 'kvm', 'tcg'], says('must be "auto", "kvm" or "tcg"')).optional(),
      init: z.enum(['minimal', 'systemd'], says('must be "minimal" or "systemd"')).optional(),
      suite: text.meta({ description: 'isolation or smoke' }).optional(),
      only: text.meta({ description: 'comma list of invariant ids' }).optional(),
      append: z
        .union([text, z.array(text)], says('must be a string or a list of strings'))
        .meta({ description: 'extra guest kernel command-line words' })
        .optional(),
      'boot-timeout': positiveSeconds.optional(),
      kernel: z
        .union(
          [
            kernelKind,
            z.strictObject({
              kind: kernelKind.optional(),
              src: text.meta({ description: 'kernel git work tree' }).optional(),
              patches: text.meta({ description: 'folder under patches/, a .patch file or an mbox' }).optional(),
              kconfig: z.array(text, says('must be a list of fragment names or paths')).optional(),
            }),
          ],
          says('must be "stock", "built" or an object { "kind", "src", "patches", "kconfig" }'),
        )
        .optional(),
      expect: z
        .union([profile, z.array(profile)], says('must be a kernel profile or a list of them, one per kernel'))
        .meta({
          description:
            'the profile each kernel is judged by (default: inferred from the request, never from the kernel)',
        })
        .optional(),
      guests: wholeAtLeastOne.optional(),
      jobs: wholeAtLeastOne.optional(),
      exec: z
        .array(text, says('must be a list of commands'))
        .meta({ description: 'commands run in the guest after the invariants, each a check' })
        .optional(),
      upload: z
        .array(text, says('must be a list of LOCAL[:GUEST] paths'))
        .meta({ description: 'files or directories copied into the guest before the steps' })
        .optional(),
      kselftest: z
        .array(text, says('must be a list of COLLECTION/PROGRAM names'))
        .meta({ description: "kselftests built from the kernel's tree, e.g. mm/ksm_functional_tests" })
        .optional(),
      as: z.enum(['root', 'user'], says('must be "root" or "user"')).optional(),
      'step-timeout': positiveSeconds.optional(),
    },
    says('the file must hold a JSON object'),
  )
  .meta({
    title: 'numacage run config',
    description: 'Options of numacage run/boot/plan --config (docs/run-config.md); flags win over them',
  });

/**
 * A run config file → the command-line options it stands for; flags given on
 * the command line win. Paths with a "/" are relative to the file. Pure.
 */
export function parseRunConfig(raw: unknown, path: string): Record<string, unknown> {
  const {
    $schema: _schema,
    kernel,
    append,
    upload,
    ...flags
  } = parseOrThrow(
    RunConfigFile,
    raw,
    `run config ${path}`,
    'see docs/run-config.md and docs/schemas/run-config.schema.json',
  );
  const here = (p: string) => (p.includes('/') && !isAbsolute(p) ? resolve(dirname(path), p) : p);
  const out: Record<string, unknown> = { ...flags };
  if (flags.topology !== undefined) out.topology = flags.topology.split(',').map(here).join(',');
  // An upload's local side is relative to the file; its guest side (after the last ":") stays as written.
  if (upload !== undefined) out.upload = upload.map((u) => (isAbsolute(u) ? u : resolve(dirname(path), u)));
  if (append !== undefined) out.append = Array.isArray(append) ? append.join(' ') : append;
  if (flags.expect !== undefined) out.expect = Array.isArray(flags.expect) ? flags.expect.join(',') : flags.expect;
  if (typeof kernel === 'string') out.kernel = kernel;
  else if (kernel) {
    out.kernel = kernel.kind ?? 'built';
    if (kernel.src !== undefined) out['kernel-src'] = here(kernel.src);
    if (kernel.patches !== undefined) out.patches = here(kernel.patches);
    if (kernel.kconfig !== undefined) out.kconfig = kernel.kconfig.map(here);
  }
  return out;
}
