import { chart } from '../../model/verdict.js';
import { KernelLacks, ProbeError } from '../errors.js';
import { errnoOf, keyValues, parseRecords, parseSections, section } from '../records.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';
import { parseCpuList } from '../../topology/parse.js';
import { describeEnding, endingOf, judgeable, memsAnswer, type Ending } from './confinement.js';
import { HUGE_PAGES, mapText, parseMap, type HugetlbMap } from './hugetlb-user.js';

// Surplus huge pages (nr_overcommit_hugepages) and P: a reservation beyond the pool's free pages
// makes surplus pages in gather_surplus_pages() before it is checked against the free pages of the
// nodes the task may use (allowed_mems_nr()).

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

/** A node's 2 MiB pool as the scripts print it in their `after` section: `node<N> nr free surplus`. */
function poolAfter(text: string, node: number, what: string): number[] {
  const m = new RegExp(`^node${node} (\\d+) (\\d+) (\\d+)$`, 'm').exec(text);
  if (!m) throw new ProbeError(`${what}: node ${node}'s pool after the task was not printed`);
  return m.slice(1).map(Number);
}

/** A ProbeError unless node n had room for the pages asked (its free 2 MiB blocks before the task). */
function needRoom(room: Record<string, number>, n: number, what: string, pages = HUGE_PAGES) {
  const blocks = room[n];
  if (blocks === undefined) throw new ProbeError(`no /proc/buddyinfo line for node ${n}`);
  if (blocks < pages)
    throw new ProbeError(`node ${n} had ${blocks} free 2 MiB blocks, fewer than the ${pages} pages asked: ${what}`);
}

/** The surplus huge pages of every node but p: those an unbound task's faults can take. */
const surplusOff = (surplus: Record<string, number> | undefined, p: number) =>
  Object.entries(surplus ?? {})
    .filter(([node]) => Number(node) !== p)
    .reduce((sum, [, n]) => sum + n, 0);

interface HugetlbSurplusObs {
  /** The 2 MiB pools' total once set up (0, or C2's pages the mount reserves), and the overcommit. */
  pool: number;
  overcommit: number;
  /** HugePages_Rsvd once the hugetlbfs mount took its min_size (the reserved case only). */
  reserved?: number;
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

/**
 * An unbound task whose cpuset is {C2,P} maps huge pages that the pool's
 * free pages do not cover, with nr_overcommit_hugepages allowing them: the
 * reservation's surplus pages are asked of the cpuset's nodes in id order
 * (gather_surplus_pages()), P first. A cpuset is no opt-in: the surplus pages
 * must come from C2 (P's count is read while the mapping lives), and the
 * reservation must be honoured (no SIGBUS). With `reserve`, C2's pool holds
 * that many pages and a hugetlbfs mount's min_size reserves them all, so the
 * free pages the reservation is checked against are there while surplus pages
 * are still needed. Needs an ordinary node C2 with a higher id than P, and
 * both with room for the pages; the stock kernel's P is ordinary.
 */
function surplusFromC2(id: string, title: string, reserve: number): InvariantSpec<HugetlbSurplusObs> {
  return {
    id,
    title,
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
              name: id,
              script: 'hugetlb-surplus.sh',
              env: { C2: c2, P: p, HUGE_PAGES, RESERVE: reserve },
              timeoutMs: 90_000,
            },
          ],
    parse(raw, { roles: { p } }) {
      const s = parseSections(rawOf(raw, id));
      if ('none' in s) throw new KernelLacks('the kernel has no 2 MiB HugeTLB pages (CONFIG_HUGETLBFS)');
      const poolText = section(s, 'pool', id);
      const { total, overcommit, reserved } = keyValues(poolText);
      if (total === undefined || overcommit === undefined || (reserve > 0 && reserved === undefined))
        throw new ProbeError(`${id}: the pool step printed: ${poolText.trim()}`);
      const base = {
        pool: total,
        overcommit,
        ...(reserve > 0 ? { reserved } : {}),
        room: freeHugeBlocks(poolText),
        mems: memsAnswer(poolText, id),
      };
      if (!base.mems.accepted) return base;
      const mapText = section(s, 'map', id);
      const ending = judgeable(endingOf(mapText, id), id);
      const records = parseRecords(mapText);
      const mmap = records.find((r) => r.probe === 'hugetlb-map' && r.call === 'mmap');
      const fault = records.find((r) => r.probe === 'hugetlb-map' && r.call === 'fault');
      return {
        ...base,
        ending,
        ...(mmap ? { map: parseMap(mapText, 'the surplus huge pages'), surplusMapped: surplusOf(mmap, id) } : {}),
        ...(fault ? { surplusFaulted: surplusOf(fault, id) } : {}),
        pAfter: poolAfter(section(s, 'after', id), p, id),
      };
    },
    decide(o, { roles: { p, c2 } }) {
      const what = `unbound in a cpuset {${p},${c2}}`;
      if (o.pool !== reserve)
        throw new ProbeError(
          `the 2 MiB pools hold ${o.pool} huge pages, not the ${reserve} the case set${reserve ? ` on node ${c2}` : ''}`,
        );
      if (reserve > 0 && o.reserved !== reserve)
        throw new ProbeError(
          `the hugetlbfs mount reserved ${o.reserved} huge pages, not the ${reserve} of its min_size`,
        );
      if (o.overcommit !== HUGE_PAGES)
        throw new ProbeError(`nr_overcommit_hugepages is ${o.overcommit}, not the ${HUGE_PAGES} the case set`);
      for (const n of [p, c2!]) needRoom(o.room, n, 'the case cannot tell where the surplus pages may come from');
      if (!o.mems.accepted)
        throw new ProbeError(`cpuset.mems ${p},${c2} was refused (${o.mems.reason}): an ordinary node is in it`);
      const effective = parseCpuList(o.mems.effective);
      if (effective?.join(',') !== [p, c2].join(','))
        throw new ProbeError(`the cpuset's effective mems are ${o.mems.effective}, not ${p},${c2}`);
      const { ending, map } = o;
      const problems: string[] = [];
      if (ending!.ended !== 'exit' || ending!.status !== 0)
        problems.push(`${what}: the task ${describeEnding(ending!)}`);
      else if (!map) throw new ProbeError(`${id}: the task exited 0 without its mmap record`);
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
      const held = reserve ? `, node ${c2}'s ${reserve} pool pages reserved by a hugetlbfs mount` : '';
      return {
        passed,
        summary: passed
          ? `${what}${held}: ${o.surplusMapped![c2!]} surplus huge pages reserved on node ${c2} and ${HUGE_PAGES} faulted there, none from node ${p}`
          : problems[0]!,
        problems,
        evidence: { node: p, asked: HUGE_PAGES, ...o },
        placements: map?.placement ? [chart(what, { pages: map.placement.toJSON() })] : [],
      };
    },
  };
}

export const hugetlbSurplus = surplusFromC2(
  'hugetlb-surplus',
  'an unbound reservation takes no surplus huge page from P',
  0,
);

/** The same with C2's pool reserved by a hugetlbfs min_size mount: the free pages the check counts are there. */
export const hugetlbSurplusReserved = surplusFromC2(
  'hugetlb-surplus-reserved',
  "an unbound reservation takes no surplus huge page from P while another's reservation holds the pool",
  HUGE_PAGES,
);

interface HugetlbSurplusSparedObs {
  /** P's own pool (every other node's pool emptied), the pools' total and the overcommit. */
  poolOnP: number;
  pool: number;
  overcommit: number;
  /** Free 2 MiB blocks of C before the task ran. */
  room: Record<string, number>;
  unbound: HugetlbMap;
  /** Each node's surplus huge pages right after the mmap, absent when it was refused. */
  surplusMapped?: Record<string, number>;
  /** P's 2 MiB pool after the task ended: [nr_hugepages, free, surplus]. */
  pAfter: number[];
  /** A second reservation beside a first one held untouched, the overcommit doubled. */
  second: {
    held: { mmapErrno: string | null; surplus?: Record<string, number> };
    map: HugetlbMap;
    surplusMapped?: Record<string, number>;
  };
}

/**
 * Under ,user P's own pool holds free huge pages that an unbound task may not
 * use, every other pool is empty, and nr_overcommit_hugepages allows the
 * task's mapping: the reservation must be backed by surplus pages on the
 * nodes the task's faults reach, right after mmap(2), as on a system without
 * P. P's free pages must neither get it refused (ENOMEM: they spared the
 * surplus pages, then the check left them out) nor stand behind it (granted
 * with nothing the faults can take: a later fault gets SIGBUS once another
 * task has used the overcommit). Then a second reservation beside a first one
 * that is held untouched, with room in the overcommit for both: the two must
 * be backed together (an earlier reservation must not make P's pool look free
 * to the next one).
 */
export const hugetlbSurplusSpared: InvariantSpec<HugetlbSurplusSparedObs> = {
  id: 'hugetlb-surplus-spared',
  title: "P's free pool stands in for no surplus page: an unbound reservation is backed where its faults reach",
  // Without ,user no pool can be grown on P; where P is ordinary its pages are the task's to take.
  expect: expect('n/a', 'n/a', 'n/a', 'pass'),
  disturbs: true,
  steps: ({ roles: { c, p } }) => [
    {
      name: 'hugetlb-surplus-spared',
      script: 'hugetlb-surplus-spared.sh',
      env: { C: c, P: p, HUGE_PAGES },
      timeoutMs: 60_000,
    },
  ],
  parse(raw, { roles: { p } }) {
    const id = 'hugetlb-surplus-spared';
    const s = parseSections(rawOf(raw, id));
    if ('none' in s) throw new KernelLacks('the kernel has no 2 MiB HugeTLB pages (CONFIG_HUGETLBFS)');
    const poolText = section(s, 'pool', id);
    const { onp, total, overcommit } = keyValues(poolText);
    if (onp === undefined || total === undefined || overcommit === undefined)
      throw new ProbeError(`${id}: the pool step printed: ${poolText.trim()}`);
    const unboundText = section(s, 'unbound', id);
    const mmap = parseRecords(unboundText).find((r) => r.probe === 'hugetlb-map' && r.call === 'mmap');
    const unbound = parseMap(unboundText, 'the unbound huge pages');
    const secondText = section(s, 'second', id);
    const secondRecords = parseRecords(secondText);
    const hold = secondRecords.find((r) => r.probe === 'hugetlb-hold' && r.call === 'mmap');
    if (!hold) throw new ProbeError(`${id}: the holding task printed no mmap record`);
    const heldErrno = errnoOf(hold);
    const secondMap = parseMap(secondText, 'the second huge pages');
    const secondMmap = secondRecords.find((r) => r.probe === 'hugetlb-map' && r.call === 'mmap');
    return {
      poolOnP: onp,
      pool: total,
      overcommit,
      room: freeHugeBlocks(poolText),
      unbound,
      ...(unbound.mmapErrno === null ? { surplusMapped: surplusOf(mmap, id) } : {}),
      pAfter: poolAfter(section(s, 'after', id), p, id),
      second: {
        held: { mmapErrno: heldErrno, ...(heldErrno === null ? { surplus: surplusOf(hold, id) } : {}) },
        map: secondMap,
        ...(secondMap.mmapErrno === null ? { surplusMapped: surplusOf(secondMmap, id) } : {}),
      },
    };
  },
  decide(o, { roles: { c, p } }) {
    if (o.poolOnP !== HUGE_PAGES || o.pool !== HUGE_PAGES)
      throw new ProbeError(
        `node ${p}'s pool took ${o.poolOnP} of ${HUGE_PAGES} huge pages and all pools hold ${o.pool}: the case needs P's pool alone`,
      );
    if (o.overcommit !== HUGE_PAGES)
      throw new ProbeError(`nr_overcommit_hugepages is ${o.overcommit}, not the ${HUGE_PAGES} the case set`);
    needRoom(o.room, c, 'the ordinary node cannot give the surplus pages', 2 * HUGE_PAGES);
    const { unbound } = o;
    const problems: string[] = [];
    if (unbound.mmapErrno !== null)
      problems.push(
        `unbound: ${mapText(unbound)}, with nr_overcommit_hugepages ${HUGE_PAGES} and node ${c} free to give the surplus pages: node ${p}'s free pool spared them, then the check left it out`,
      );
    const behind = surplusOff(o.surplusMapped, p);
    if (unbound.mmapErrno === null && behind < HUGE_PAGES)
      problems.push(
        `unbound: mmap granted with ${behind} surplus huge page(s) behind it on the nodes its faults reach, not ${HUGE_PAGES}: it stood on node ${p}'s free pool, which they cannot take`,
      );
    if (unbound.sigbus) problems.push(`unbound: ${mapText(unbound)}`);
    const onP = unbound.placement?.on(p) ?? 0;
    if (onP > 0) problems.push(`unbound: ${onP} huge page(s) on node ${p} without a bind that names it`);
    problems.push(...secondProblems(o.second, c, p, unbound.mmapErrno === null));
    if (o.pAfter.join(' ') !== `${HUGE_PAGES} ${HUGE_PAGES} 0`)
      problems.push(
        `node ${p}'s pool after the task: ${o.pAfter.join('/')} (nr/free/surplus), not the ${HUGE_PAGES} free pages it had`,
      );
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? `unbound, node ${p}'s ${HUGE_PAGES} pool pages free: ${behind} surplus huge pages gathered where its faults reach, ${mapText(unbound)}, none on node ${p}; beside a held reservation, ${surplusOff(o.second.surplusMapped, p)} behind both`
        : problems[0]!,
      problems,
      evidence: { node: p, asked: HUGE_PAGES, ...o },
      placements: unbound.placement ? [chart('unbound', { pages: unbound.placement.toJSON() })] : [],
    };
  },
};

/** The second case of hugetlb-surplus-spared: a reservation beside a first one held untouched. */
function secondProblems(o: HugetlbSurplusSparedObs['second'], c: number, p: number, firstGranted: boolean): string[] {
  const both = 2 * HUGE_PAGES;
  // Where the first case was refused, so is the holder: that answer is the first case's problem.
  if (o.held.mmapErrno !== null)
    return firstGranted ? [`second: the holding task's mmap refused with ${o.held.mmapErrno}`] : [];
  const problems: string[] = [];
  const { map } = o;
  if (map.mmapErrno !== null)
    problems.push(
      `second: ${mapText(map)} beside a held reservation, with nr_overcommit_hugepages ${both} and node ${c} free to give the surplus pages`,
    );
  else if (surplusOff(o.surplusMapped, p) < both)
    problems.push(
      `second: mmap granted beside a held reservation with ${surplusOff(o.surplusMapped, p)} surplus huge page(s) behind both, not ${both}: the held one made node ${p}'s free pool look free to it`,
    );
  if (map.sigbus) problems.push(`second: ${mapText(map)}`);
  const onP = map.placement?.on(p) ?? 0;
  if (onP > 0) problems.push(`second: ${onP} huge page(s) on node ${p} without a bind that names it`);
  return problems;
}
