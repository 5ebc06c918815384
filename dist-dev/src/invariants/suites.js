import { ConfigError } from '../model/errors.js';
import { EXPECTATIONS } from './expectations.js';
export const SUITES = {
    /** Every invariant numacage implements, in the order they run. */
    isolation: [
        'topology', 'abi', 'no-kernel-memory', 'device-local', 'soft-policy', 'bind-optin', 'move-optin', 'migrate-optin', 'cpuset', 'thp',
        'ksm', 'numa-balancing', 'compaction', 'hugetlb', 'demotion', 'bind-strict', 'no-fallback-in',
    ],
    smoke: ['topology', 'abi', 'no-kernel-memory'],
};
/** --suite NAME or --only id,id → the invariant ids to run. Pure. */
export function selectInvariants(suite, only) {
    const implemented = SUITES.isolation;
    if (only) {
        const ids = only.split(',').map((s) => s.trim()).filter(Boolean);
        for (const id of ids) {
            if (!EXPECTATIONS[id])
                throw new ConfigError(`--only: unknown invariant "${id}"`, `use ids from: ${implemented.join(', ')}`);
            if (!implemented.includes(id))
                throw new ConfigError(`--only: invariant "${id}" has no probe yet`, `implemented: ${implemented.join(', ')} (docs/invariants.md)`);
        }
        return implemented.filter((id) => ids.includes(id));
    }
    const ids = SUITES[suite];
    if (!ids)
        throw new ConfigError(`--suite ${suite}: unknown suite`, `use one of: ${Object.keys(SUITES).join(', ')}`);
    return ids;
}
//# sourceMappingURL=suites.js.map