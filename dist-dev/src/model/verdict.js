/** A run holds when the guest came up and no check failed unexpectedly or broke. */
export function verdictHolds(v) {
    return !v.bootFailure && v.crashes.length === 0 && v.checks.every((c) => c.outcome === 'pass' || c.outcome === 'xfail' || c.outcome === 'skip');
}
/** Maps a raw pass/fail against the expectation for the booted kernel. */
export function judge(passed, expected) {
    if (expected === 'n/a')
        return 'skip';
    if (expected === 'fail')
        return passed ? 'xpass' : 'xfail';
    return passed ? 'pass' : 'fail';
}
//# sourceMappingURL=verdict.js.map