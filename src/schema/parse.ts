import { z } from 'zod';
import { ConfigError } from '../model/errors.js';

/** `nodes[1].mem`, `kernel.src`, or `(top level)`: where in the file a problem is. */
function jsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out || '(top level)';
}

/** One line per problem, each starting with its JSON path. */
export function issueLines(error: z.ZodError): string[] {
  return linesOf(error.issues, []);
}

function linesOf(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[]): string[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys')
      return [`${jsonPath(path)}: unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`];
    if (issue.code === 'invalid_union') {
      // The one alternative whose type matched says more than "invalid input" (kernel: {"knd": ...}).
      const matched = issue.errors.filter(
        (branch) =>
          !branch.every((i) => (i.code === 'invalid_type' || i.code === 'invalid_value') && i.path.length === 0),
      );
      if (matched.length === 1) return linesOf(matched[0]!, path);
    }
    return [`${jsonPath(path)}: ${issue.message}`];
  });
}

export function configError(what: string, problems: string[], hint: string): ConfigError {
  return new ConfigError(`${what} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`, hint);
}

/** Parses with the schema or throws one ConfigError naming every problem by its JSON path. */
export function parseOrThrow<S extends z.ZodType>(schema: S, raw: unknown, what: string, hint: string): z.output<S> {
  const r = schema.safeParse(raw);
  if (!r.success) throw configError(what, issueLines(r.error), hint);
  return r.data;
}

/** An error message for every check of a field, so the user reads one sentence whatever went wrong. */
export const says = (message: string) => ({ error: message });

/** The numbers flags and files share: --guests/--jobs and "guests"/"jobs"; --boot-timeout and "boot-timeout". */
export const wholeAtLeastOne = z
  .number(says('must be a whole number >= 1'))
  .int(says('must be a whole number >= 1'))
  .min(1, says('must be a whole number >= 1'));
export const positivePercent = z
  .number(says('must be a percentage above 0, e.g. 50'))
  .positive(says('must be a percentage above 0, e.g. 50'));
export const positiveSeconds = z
  .number(says('must be a number of seconds above 0, e.g. 300'))
  .positive(says('must be a number of seconds above 0, e.g. 300'));

/** `"$schema"`: editors point it at docs/schemas/*.schema.json; numacage ignores it. */
export const SCHEMA_KEY = {
  $schema: z
    .string()
    .optional()
    .meta({ description: 'the JSON Schema of this file, for editors (ignored by numacage)' }),
};
