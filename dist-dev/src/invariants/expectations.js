const row = (vanilla, vanillaMovable, priv, privUser) => ({
    vanilla, 'vanilla-movable': vanillaMovable, private: priv, 'private-user': privUser,
});
/** What each kind of kernel is expected to do (../shared/INVARIANTS.md, "The catalogue"). */
export const EXPECTATIONS = {
    topology: row('pass', 'pass', 'pass', 'pass'),
    abi: row('fail', 'fail', 'pass', 'pass'),
    'no-kernel-memory': row('fail', 'pass', 'pass', 'pass'),
    'no-fallback-in': row('fail', 'fail', 'pass', 'pass'),
    'soft-policy': row('fail', 'fail', 'pass', 'pass'),
    'bind-optin': row('fail', 'fail', 'pass', 'pass'),
    'bind-strict': row('pass', 'pass', 'n/a', 'pass'),
    'move-optin': row('fail', 'fail', 'pass', 'pass'),
    'migrate-optin': row('fail', 'fail', 'pass', 'pass'),
    hugetlb: row('fail', 'fail', 'pass', 'n/a'),
    compaction: row('fail', 'fail', 'pass', 'pass'),
    thp: row('fail', 'fail', 'pass', 'pass'),
    ksm: row('fail', 'fail', 'pass', 'pass'),
    'numa-balancing': row('fail', 'fail', 'pass', 'pass'),
    demotion: row('fail', 'fail', 'pass', 'pass'),
    'device-local': row('fail', 'pass', 'pass', 'pass'),
    cpuset: row('pass', 'pass', 'pass', 'pass'),
};
export function expectationFor(id, profile) {
    const r = EXPECTATIONS[id];
    if (!r)
        throw new Error(`no expectation for invariant ${id}`);
    return r[profile];
}
//# sourceMappingURL=expectations.js.map