import { chart } from '../../model/verdict.js';
import { KernelLacks, ProbeError } from '../errors.js';
import { errnoOf, keyValues, num, parseRecords, parseSections, Placement, recordsOf, section } from '../records.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';
import { parseCpuList } from '../../topology/parse.js';
import { describeEnding, endingOf, judgeable, memsAnswer, type Ending } from './confinement.js';

const HUGE_PAGES = 2;

interface HugetlbMap {
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

function parseMap(text: string, what: string): HugetlbMap {
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

const mapText = (m: HugetlbMap) =>
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

interface HugetlbSurplusObs {
  /** The 2 MiB pools' total once emptied, and the overcommit the case set. */
  pool: number;
  overcommit: number;
  /** Free 2 MiB blocks (order 9 and up, from /proc/buddyinfo) of P and C2 before the task ran. */
  room: Record<string, number>;
  mems: ReturnType<typeof memsAnswer>;
  /** Absent when the cpuset refused {C2,P}. */
  ending?: Ending;
  map?: HugetlbMap;
  /** Each node's surplus huge pages while the task held its mapping: after the mmap, after the faults. */
  surplusMapped?: Record<string, number>;
  surplusFaulted?: Record<string, number>;
  /** P's 2 MiB pool after the task ended: [nr_hugepages, free, surplus]. */
  pAfter?: number[];
}

/** Free blocks of 2 MiB or more per node, in 2 MiB blocks, from /proc/buddyinfo lines (orders 0-10). Pure. */
export function freeHugeBlocks(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^Node (\d+), zone +\S+((?: +\d+)+) *$/gm)) {
    const counts = m[2]!.trim().split(/ +/).map(Number);
    const blocks = counts.slice(9).reduce((sum, n, i) => sum + n * 2 ** i, 0);
    out[m[1]!] = (out[m[1]!] ?? 0) + blocks;
  }
  return out;
}

const surplusOf = (r: Record<string, unknown> | undefined, what: string): Record<string, number> | undefined => {
  if (!r) return undefined;
  const s = r.surplus;
  if (!s || typeof s !== 'object') throw new ProbeError(`${what}: no surplus counts in the probe's record`);
  return s as Record<string, number>;
};

/**
 * An unbound task whose cpuset is {C2,P} maps huge pages with every pool
 * empty and nr_overcommit_hugepages allowing them: the reservation's surplus
 * pages are asked of the cpuset's nodes in id order (gather_surplus_pages()),
 * P first. A cpuset is no opt-in: the surplus pages must come from C2 (P's
 * count is read while the mapping lives), and the reservation must be
 * honoured (no SIGBUS). Needs an ordinary node C2 with a higher id than P,
 * and both with room for the pages; the stock kernel's P is ordinary.
 */
export const hugetlbSurplus: InvariantSpec<HugetlbSurplusObs> = {
  id: 'hugetlb-surplus',
  title: 'an unbound reservation takes no surplus huge page from P',
  expect: expect('n/a', 'n/a', 'pass', 'pass'),
  disturbs: true,
  unsupported: (t, { p, c2 }) =>
    c2 === undefined
      ? `topology ${t.name} has no ordinary node besides C (C2) for a cpuset {C2,P}`
      : c2 < p
        ? `topology ${t.name}'s C2 (node ${c2}) comes before P (node ${p}): surplus pages are asked of C2 first, so P is never asked`
        : undefined,
  steps: ({ roles: { p, c2 } }) =>
    c2 === undefined
      ? []
      : [
          {
            name: 'hugetlb-surplus',
            script: 'hugetlb-surplus.sh',
            env: { C2: c2, P: p, HUGE_PAGES },
            timeoutMs: 90_000,
          },
        ],
  parse(raw, { roles: { p } }) {
    const what = 'hugetlb-surplus';
    const s = parseSections(rawOf(raw, what));
    if ('none' in s) throw new KernelLacks('the kernel has no 2 MiB HugeTLB pages (CONFIG_HUGETLBFS)');
    const poolText = section(s, 'pool', what);
    const { total, overcommit } = keyValues(poolText);
    if (total === undefined || overcommit === undefined)
      throw new ProbeError(`${what}: the pool step printed: ${poolText.trim()}`);
    const base = { pool: total, overcommit, room: freeHugeBlocks(poolText), mems: memsAnswer(poolText, what) };
    if (!base.mems.accepted) return base;
    const mapText = section(s, 'map', what);
    const ending = judgeable(endingOf(mapText, what), what);
    const records = parseRecords(mapText);
    const mmap = records.find((r) => r.probe === 'hugetlb-map' && r.call === 'mmap');
    const fault = records.find((r) => r.probe === 'hugetlb-map' && r.call === 'fault');
    const after = new RegExp(`^node${p} (\\d+) (\\d+) (\\d+)$`, 'm').exec(section(s, 'after', what));
    if (!after) throw new ProbeError(`${what}: node ${p}'s pool after the task was not printed`);
    return {
      ...base,
      ending,
      ...(mmap ? { map: parseMap(mapText, 'the surplus huge pages'), surplusMapped: surplusOf(mmap, what) } : {}),
      ...(fault ? { surplusFaulted: surplusOf(fault, what) } : {}),
      pAfter: after.slice(1).map(Number),
    };
  },
  decide(o, { roles: { p, c2 } }) {
    const what = `unbound in a cpuset {${p},${c2}}`;
    if (o.pool !== 0) throw new ProbeError(`the 2 MiB pools kept ${o.pool} huge pages: surplus pages are not needed`);
    if (o.overcommit !== HUGE_PAGES)
      throw new ProbeError(`nr_overcommit_hugepages is ${o.overcommit}, not the ${HUGE_PAGES} the case set`);
    for (const n of [p, c2!]) {
      const blocks = o.room[n];
      if (blocks === undefined) throw new ProbeError(`no /proc/buddyinfo line for node ${n}`);
      if (blocks < HUGE_PAGES)
        throw new ProbeError(
          `node ${n} had ${blocks} free 2 MiB blocks, fewer than the ${HUGE_PAGES} pages asked: the case cannot tell where the surplus pages may come from`,
        );
    }
    if (!o.mems.accepted)
      throw new ProbeError(`cpuset.mems ${p},${c2} was refused (${o.mems.reason}): an ordinary node is in it`);
    const effective = parseCpuList(o.mems.effective);
    if (effective?.join(',') !== [p, c2].join(','))
      throw new ProbeError(`the cpuset's effective mems are ${o.mems.effective}, not ${p},${c2}`);
    const { ending, map } = o;
    const problems: string[] = [];
    if (ending!.ended !== 'exit' || ending!.status !== 0) problems.push(`${what}: the task ${describeEnding(ending!)}`);
    else if (!map) throw new ProbeError('hugetlb-surplus: the task exited 0 without its mmap record');
    const takenFromP = Math.max(o.surplusMapped?.[p] ?? 0, o.surplusFaulted?.[p] ?? 0);
    if (takenFromP > 0)
      problems.push(`${what}: the reservation took ${takenFromP} surplus huge page(s) from node ${p}`);
    if (map?.mmapErrno)
      problems.push(
        `${what}: ${mapText(map)}, with nr_overcommit_hugepages ${HUGE_PAGES} and node ${c2} free to give the surplus pages`,
      );
    if (map?.sigbus)
      problems.push(`${what}: ${mapText(map)}: the reservation took surplus pages its faults cannot reach`);
    const offC2 = map?.placement?.offNode(c2!) ?? 0;
    if (offC2 > 0) {
      const onP = map!.placement!.on(p);
      problems.push(
        onP > 0
          ? `${what}: ${onP} huge page(s) on node ${p} without a bind that names it`
          : `${what}: ${offC2} huge page(s) outside the cpuset`,
      );
    }
    if (o.pAfter![0]! > 0) problems.push(`node ${p} kept ${o.pAfter![0]} huge page(s) after the task ended`);
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? `${what}: ${o.surplusMapped![c2!]} surplus huge pages reserved on node ${c2} and ${HUGE_PAGES} faulted there, none from node ${p}`
        : problems[0]!,
      problems,
      evidence: { node: p, asked: HUGE_PAGES, ...o },
      placements: map?.placement ? [chart(what, { pages: map.placement.toJSON() })] : [],
    };
  },
};
