import { chart } from '../../model/verdict.js';
import { KernelLacks, ProbeError } from '../errors.js';
import { errnoOf, keyValues, num, parseRecords, parseSections, Placement, recordsOf, section } from '../records.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';

export const HUGE_PAGES = 2;

export interface HugetlbMap {
  /** mmap(2)'s errno, null when it mapped. */
  mmapErrno: string | null;
  touched: number;
  sigbus: boolean;
  /** Where the touched pages are (absent when none was). */
  placement?: Placement;
}

interface HugetlbUserObs {
  /** Huge pages P's own pool holds for the cases (every other node's pool is emptied). */
  poolOnP: number;
  unbound: HugetlbMap;
  bound: HugetlbMap;
}

export function parseMap(text: string, what: string): HugetlbMap {
  const records = parseRecords(text);
  const mmap = recordsOf(records, 'hugetlb-map', 'mmap')[0]!;
  const mmapErrno = errnoOf(mmap);
  if (mmapErrno !== null) return { mmapErrno, touched: 0, sigbus: false };
  const fault = recordsOf(records, 'hugetlb-map', 'fault')[0]!;
  const touched = num(fault, 'touched');
  return {
    mmapErrno,
    touched,
    sigbus: fault.sigbus === true,
    ...(touched > 0 ? { placement: Placement.of(fault.placement, touched, what) } : {}),
  };
}

export const mapText = (m: HugetlbMap) =>
  m.mmapErrno !== null
    ? `mmap refused with ${m.mmapErrno}`
    : m.sigbus
      ? `mmap accepted, then SIGBUS at huge page ${m.touched + 1} of ${HUGE_PAGES}`
      : `all ${HUGE_PAGES} huge pages faulted`;

/**
 * Huge pages in P's own pool (which a ,user kernel lets an admin grow there)
 * and an unprivileged task, with every other pool empty and no overcommit.
 * A MAP_HUGETLB that mmap(2) accepts is a reservation the faults must honour
 * (a SIGBUS later is the failure): an unbound task cannot fault P's pages in
 * on a private kernel, so its reservation must not count them. A task bound
 * to {C,P} has opted in and must get P's pages.
 */
export const hugetlbUser: InvariantSpec<HugetlbUserObs> = {
  id: 'hugetlb-user',
  title: "P's HugeTLB pool serves a bind that names P, and no reservation it cannot honour",
  // Without ,user no pool can be grown on P (the hugetlb row).
  expect: expect('pass', 'pass', 'n/a', 'pass'),
  disturbs: true,
  steps: ({ roles: { c, p } }) => [
    { name: 'hugetlb-user', script: 'hugetlb-user.sh', env: { C: c, P: p, HUGE_PAGES }, timeoutMs: 60_000 },
  ],
  parse(raw) {
    const s = parseSections(rawOf(raw, 'hugetlb-user'));
    if ('none' in s) throw new KernelLacks('the kernel has no 2 MiB HugeTLB pages (CONFIG_HUGETLBFS)');
    const pool = section(s, 'pool', 'hugetlb-user');
    const poolOnP = keyValues(pool).onp;
    if (poolOnP === undefined) throw new ProbeError(`the pool step printed: ${pool.trim()}`);
    return {
      poolOnP,
      unbound: parseMap(section(s, 'unbound', 'hugetlb-user'), 'the unbound huge pages'),
      bound: parseMap(section(s, 'bound', 'hugetlb-user'), 'the bound huge pages'),
    };
  },
  decide(o, { roles: { c, p }, profile }) {
    if (o.poolOnP !== HUGE_PAGES)
      throw new ProbeError(`node ${p}'s pool took ${o.poolOnP} of ${HUGE_PAGES} huge pages: nothing to map from it`);
    const problems: string[] = [];
    const { unbound, bound } = o;
    const isPrivate = profile.startsWith('private');
    if (unbound.mmapErrno !== null && (!isPrivate || unbound.mmapErrno !== 'ENOMEM'))
      problems.push(
        `unbound: ${mapText(unbound)}, with ${HUGE_PAGES} free huge pages on node ${p}${isPrivate ? '' : ', an ordinary node'}`,
      );
    if (unbound.sigbus)
      problems.push(
        `unbound: ${mapText(unbound)}: the reservation counted node ${p}'s free huge pages, which its faults cannot take`,
      );
    const unboundOnP = unbound.placement?.on(p) ?? 0;
    if (isPrivate && unboundOnP > 0)
      problems.push(`unbound: ${unboundOnP} huge page(s) on node ${p} without a bind that names it`);
    const boundOnP = bound.placement?.on(p) ?? 0;
    if (bound.mmapErrno !== null || bound.sigbus || boundOnP !== HUGE_PAGES)
      problems.push(
        `bound to {${c},${p}}: ${mapText(bound)}, ${boundOnP} on node ${p}, whose pool had ${HUGE_PAGES} free (the others none)`,
      );
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? `unbound: ${mapText(unbound)}; bound to {${c},${p}}: ${HUGE_PAGES} huge pages from node ${p}'s pool`
        : problems[0]!,
      problems,
      evidence: { node: p, asked: HUGE_PAGES, ...o },
      placements: [
        ...(unbound.placement ? [chart('unbound', { pages: unbound.placement.toJSON() })] : []),
        ...(bound.placement ? [chart(`bound to {${c},${p}}`, { pages: bound.placement.toJSON() })] : []),
      ],
    };
  },
};
