import { readFileSync } from 'node:fs';
import { ConfigError } from '../model/errors.js';
/** Reads a user's JSON file (topology, recipe, run config); `what` names it in the error. */
export function readJsonFile(path, what) {
    let text;
    try {
        text = readFileSync(path, 'utf8');
    }
    catch (err) {
        throw new ConfigError(`cannot read ${what} ${path}: ${err.message}`);
    }
    try {
        return JSON.parse(text);
    }
    catch (err) {
        throw new ConfigError(`${what} ${path} is not valid JSON: ${err.message}`);
    }
}
//# sourceMappingURL=json-file.js.map