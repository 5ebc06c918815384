import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../model/errors.js';
const TOP_KEYS = ['topology', 'image', 'accel', 'init', 'suite', 'only', 'append', 'boot-timeout', 'kernel', 'guests', 'jobs'];
const KERNEL_KEYS = ['kind', 'src', 'patches', 'kconfig'];
/**
 * A run config file (docs/run-config.md) → the command-line options it
 * stands for; flags given on the command line win. Paths with a "/" are
 * relative to the file. Pure.
 */
export function parseRunConfig(raw, path) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
        throw new ConfigError(`run config ${path} must hold a JSON object`);
    const cfg = raw;
    const problems = Object.keys(cfg).filter((k) => !TOP_KEYS.includes(k)).map((k) => `unknown key "${k}" (known: ${TOP_KEYS.join(', ')})`);
    const here = (p) => (p.includes('/') && !isAbsolute(p) ? resolve(dirname(path), p) : p);
    const out = {};
    for (const k of TOP_KEYS)
        if (k !== 'kernel' && cfg[k] !== undefined)
            out[k] = cfg[k];
    if (typeof out.topology === 'string')
        out.topology = here(out.topology);
    if (Array.isArray(out.append))
        out.append = out.append.join(' ');
    const kernel = cfg.kernel;
    if (kernel === 'stock' || kernel === 'built')
        out.kernel = kernel;
    else if (typeof kernel === 'object' && kernel !== null && !Array.isArray(kernel)) {
        const k = kernel;
        problems.push(...Object.keys(k).filter((x) => !KERNEL_KEYS.includes(x)).map((x) => `unknown key "kernel.${x}" (known: ${KERNEL_KEYS.join(', ')})`));
        if (k.kind !== undefined && k.kind !== 'stock' && k.kind !== 'built')
            problems.push('"kernel.kind" must be "stock" or "built"');
        if (k.kconfig !== undefined && (!Array.isArray(k.kconfig) || !k.kconfig.every((x) => typeof x === 'string')))
            problems.push('"kernel.kconfig" must be a list of fragment names or paths');
        out.kernel = k.kind ?? 'built';
        if (typeof k.src === 'string')
            out['kernel-src'] = here(k.src);
        if (typeof k.patches === 'string')
            out.patches = here(k.patches);
        if (Array.isArray(k.kconfig))
            out.kconfig = k.kconfig.map(here);
    }
    else if (kernel !== undefined)
        problems.push('"kernel" must be "stock", "built" or an object { kind, src, patches, kconfig }');
    if (problems.length)
        throw new ConfigError(`run config ${path} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`, 'see docs/run-config.md');
    return out;
}
//# sourceMappingURL=run-config.js.map