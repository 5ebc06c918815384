import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { projectPath } from '../adapters/project.js';
import { RunConfigFile } from '../run/config.js';
import { RecipeFile } from '../image/recipe.js';
import { TopologyFile } from '../topology/schema.js';

/** The published JSON Schemas (docs/schemas/), generated from the schemas numacage parses with. */
export const JSON_SCHEMA_FILES: Record<string, z.ZodType> = {
  'topology.schema.json': TopologyFile,
  'run-config.schema.json': RunConfigFile,
  'image-recipe.schema.json': RecipeFile,
};

/** What a file accepts (io: input): sizes as strings or numbers, before numacage's own transforms. */
export const renderJsonSchema = (schema: z.ZodType): string =>
  `${JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), null, 2)}\n`;

export const jsonSchemaPath = (file: string) => projectPath('docs', 'schemas', file);

// `npm run schemas` writes them.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  for (const [file, schema] of Object.entries(JSON_SCHEMA_FILES))
    writeFileSync(jsonSchemaPath(file), renderJsonSchema(schema));
