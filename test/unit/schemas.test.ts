import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import test from 'ava';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { projectPath } from '../../src/adapters/project.js';
import { parseRunConfig } from '../../src/run/config.js';
import { parseRecipe } from '../../src/image/recipe.js';
import { JSON_SCHEMA_FILES, jsonSchemaPath, renderJsonSchema } from '../../src/cli/json-schemas.js';
import { parseTopology } from '../../src/topology/parse.js';

test('docs/schemas/ holds exactly the schemas numacage parses with (regenerate: npm run schemas)', (t) => {
  t.deepEqual(readdirSync(projectPath('docs', 'schemas')).sort(), Object.keys(JSON_SCHEMA_FILES).sort());
  for (const [file, schema] of Object.entries(JSON_SCHEMA_FILES))
    t.is(readFileSync(jsonSchemaPath(file), 'utf8'), renderJsonSchema(schema), `${file} is stale: run npm run schemas`);
});

test("the project's own files name their schema, and both the published schema and numacage accept them", (t) => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const parsers: Record<string, (raw: unknown, path: string) => unknown> = {
    'topology.schema.json': parseTopology,
    'run-config.schema.json': parseRunConfig,
    'image-recipe.schema.json': (raw, path) => parseRecipe(raw, 'x', path),
  };
  const files = [
    ...readdirSync(projectPath('images'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => projectPath('images', f)),
    ...readdirSync(projectPath('patches', 'private-node'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => projectPath('patches', 'private-node', f)),
  ];
  t.true(files.length >= 5);
  for (const path of files) {
    const raw = JSON.parse(readFileSync(path, 'utf8')) as { $schema?: string };
    t.truthy(raw.$schema, `${path} has no $schema`);
    const schemaFile = join(dirname(path), raw.$schema!);
    const name = schemaFile.split('/').pop()!;
    t.is(schemaFile, jsonSchemaPath(name), path);
    t.true(ajv.validate(JSON.parse(readFileSync(schemaFile, 'utf8')), raw), `${path}: ${ajv.errorsText()}`);
    t.notThrows(() => parsers[name]!(raw, path), path);
  }
});
