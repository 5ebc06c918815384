/**
 * fast-check parameters: n cases in the test suite (sized for CI's time), NUMACAGE_PROPERTY_RUNS=N for a
 * longer sweep (docs/security.md), FC_SEED=<seed> to replay a failure fast-check printed.
 */
export const propertyRuns = (n: number) => ({
  numRuns: Number(process.env.NUMACAGE_PROPERTY_RUNS) || n,
  ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
});
