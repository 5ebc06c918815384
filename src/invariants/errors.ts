/** The output cannot answer the question: a broken probe, a step that did not run its course. */
export class ProbeError extends Error {}

/** The kernel has no such feature (CONFIG_COMPACTION off, say): nothing to test, a skip. */
export class KernelLacks extends Error {}
