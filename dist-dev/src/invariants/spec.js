export const isHostStep = (s) => 'run' in s;
/** The output cannot answer the question: a broken probe, a step that did not run its course. */
export class ProbeError extends Error {
}
/** The kernel has no such feature (CONFIG_COMPACTION off, say): nothing to test, a skip. */
export class KernelLacks extends Error {
}
export const expect = (vanilla, vanillaMovable, priv, privUser) => ({
    vanilla, 'vanilla-movable': vanillaMovable, private: priv, 'private-user': privUser,
});
/** The raw output of a step, or a ProbeError naming it. */
export function rawOf(raw, name) {
    const text = raw[name];
    if (text === undefined)
        throw new ProbeError(`no output from step ${name}`);
    return text;
}
//# sourceMappingURL=spec.js.map