import { createHash } from 'node:crypto';
import { ConfigError } from '../model/errors.js';
/** Bump when the image layout changes so that old cache entries are not reused. */
export const IMAGE_FORMAT_VERSION = 2;
const SOURCE_PLACEHOLDER = '{linux-source-6.12}';
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
export function parseRecipe(raw, name, source) {
    const problems = [];
    const r = (typeof raw === 'object' && raw !== null ? raw : {});
    const strings = (field, pattern) => {
        const v = r[field];
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
            problems.push(`"${field}" must be a list of strings`);
            return [];
        }
        for (const x of v)
            if (pattern && !pattern.test(x))
                problems.push(`"${field}" has an invalid entry ${JSON.stringify(x)}`);
        return v;
    };
    if (typeof r.suite !== 'string' || !/^[a-z-]+$/.test(r.suite))
        problems.push('"suite" must be a Debian suite name such as "bookworm"');
    const mirrors = strings('mirrors');
    if (mirrors.length === 0 && problems.length === 0)
        problems.push('"mirrors" must name at least one apt source line');
    const packages = strings('packages', PACKAGE_NAME);
    const users = r.users === undefined ? [] : strings('users', USER_NAME);
    if (typeof r.stockKernel !== 'string' || !r.stockKernel.startsWith('linux-image-'))
        problems.push('"stockKernel" must be a linux-image-* package name (it may use {linux-source-6.12})');
    if (!Number.isInteger(r.sizeMiB) || r.sizeMiB < 512)
        problems.push('"sizeMiB" must be an integer >= 512');
    if (problems.length)
        throw new ConfigError(`image recipe ${source} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`, 'see images/README.md for the recipe format');
    return {
        name,
        description: typeof r.description === 'string' ? r.description : '',
        suite: r.suite,
        mirrors,
        packages,
        stockKernel: r.stockKernel,
        sizeMiB: r.sizeMiB,
        users,
    };
}
/** "6.12.117-1~deb12u1" → "6.12.117". */
export function upstreamVersion(debianVersion) {
    return debianVersion.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
}
export function resolveStockKernelPackage(template, linuxSourceVersion) {
    if (!template.includes(SOURCE_PLACEHOLDER))
        return template;
    if (!linuxSourceVersion)
        throw new ConfigError(`the image recipe's stockKernel ${template} needs the host package linux-source-6.12 to pick its version`, 'run `numacage doctor --install`, or write an exact package name in the recipe');
    return template.replace(SOURCE_PLACEHOLDER, upstreamVersion(linuxSourceVersion));
}
/** Digest of everything that goes into an image. */
export function imageCacheKey(recipe, kernelPackage, guestFiles) {
    const h = createHash('sha256');
    const { name: _name, description: _description, ...content } = recipe;
    h.update(JSON.stringify({ format: IMAGE_FORMAT_VERSION, content, kernelPackage }));
    for (const path of Object.keys(guestFiles).sort())
        h.update(`\0${path}\0`).update(guestFiles[path]);
    return h.digest('hex').slice(0, 32);
}
//# sourceMappingURL=recipe.js.map