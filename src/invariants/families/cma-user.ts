import type { Topology } from '../../model/topology.js';
import type { NodeRoles } from '../profile.js';
import { chart } from '../../model/verdict.js';
import { KernelLacks, ProbeError } from '../errors.js';
import {
  assertUnprivileged,
  errnoOf,
  keyValues,
  num,
  parseRecords,
  parseSections,
  Placement,
  recordsOf,
  section,
} from '../records.js';
import { assertRanClean } from '../shell.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';
import { endingOf, type Ending } from './confinement.js';

/** Pages claimed at the area's base (its debugfs alloc file: cma_alloc()). */
const CLAIM_PAGES = 8192;
/** P's memory the tenant leaves free: half the claim, so that the rest of the claimed range has no room on P. */
const MARGIN_MIB = 16;

/** Why a topology's command line gives P no gigantic-page CMA area of its own (`hugetlb_cma=P:...`), if it does not. */
export const noCmaAreaOn = (t: Topology, { p }: NodeRoles): string | undefined =>
  t.cmdline.some((w) => new RegExp(`^hugetlb_cma=(.*,)?${p}:`).test(w))
    ? undefined
    : `topology ${t.name} gives node ${p} no CMA area of its own ("hugetlb_cma=${p}:1G" in its cmdline)`;

export interface Claim {
  ending: Ending;
  /** The area's pages handed out after the claim. */
  used: number;
}

interface CmaUserObs {
  /** P's gigantic-page CMA area (hugetlb_cma=), in PFNs. */
  area: { basePfn: number; count: number };
  /** The claim while P was free: the step's control. */
  control: Claim;
  /** The tenant's pages, bound to P, and how many of them the area (and the claimed range) served. */
  held: { pages: number; inArea: number; inClaim: number; placement: Placement };
  pin: { ret: number; errno: string | null; pages: number; inAreaAfter: number; before: Placement; after: Placement };
  /** The claim with the tenant's pages in the range and P otherwise full; absent when the tenant died first. */
  claim?: Claim;
  after?: { inClaim: number; placement: Placement };
}

export function claimOf(text: string, what: string): Claim {
  const used = keyValues(text).used;
  if (used === undefined)
    throw new ProbeError(`${what}: no count of the area's used pages in ${JSON.stringify(text.trim())}`);
  return { ending: endingOf(text, what), used };
}

export const endingText = (c: Claim) =>
  c.ending.ended === 'exit'
    ? `the write ended with status ${c.ending.status}`
    : `the write ${c.ending.ended} after ${c.ending.secs} s`;

/**
 * A CMA area on P under private_node=1,user (hugetlb_cma=P:1G) serves a
 * tenant's bind to P (the page allocator takes CMA pages first while they
 * are more than half of P's free memory). Two paths must not move those pages
 * to C behind the tenant: a long-term pin (FOLL_LONGTERM migrates CMA pages
 * before 0029's private-node test), and the area's owner claiming it
 * (cma_alloc(), as HugeTLB's gigantic pool or the DMA API would:
 * alloc_contig_range migrates the range's pages wherever the allocator finds
 * room). The claim may fail; the tenant's pages stay on P. A control first
 * claims the same range while P is free, so that a kernel whose claims always
 * fail does not pass for one that keeps the tenant.
 */
export const cmaUser: InvariantSpec<CmaUserObs> = {
  id: 'cma-user',
  title: "a tenant's pages in P's CMA area stay on P, pinned or when the area is claimed",
  // Only ,user lets a user bind P; on an ordinary node the pages may go anywhere.
  expect: expect('n/a', 'n/a', 'n/a', 'pass'),
  disturbs: true,
  witnessed: true,
  unsupported: noCmaAreaOn,
  steps: ({ roles: { p } }) => [
    { name: 'cma-user', script: 'cma-user.sh', env: { P: p, CLAIM_PAGES, MARGIN_MIB }, timeoutMs: 360_000 },
  ],
  parse(raw) {
    const s = parseSections(rawOf(raw, 'cma-user'));
    if ('none' in s) throw new KernelLacks('the kernel has no CMA areas in debugfs (CONFIG_CMA, CONFIG_CMA_DEBUGFS)');
    const area = keyValues(section(s, 'area', 'cma-user'));
    if (!area.base_pfn || !area.count) throw new ProbeError(`the area printed no base_pfn and count`);
    const tenant = parseRecords(section(s, 'tenant', 'cma-user'));
    const [hold] = recordsOf(tenant, 'cma-tenant', 'hold');
    assertUnprivileged(hold!, 'the tenant');
    if (errnoOf(hold!, 'bind_errno'))
      throw new ProbeError(`the tenant's mbind to P gave ${errnoOf(hold!, 'bind_errno')}`);
    const pages = num(hold!, 'pages');
    const [pin] = recordsOf(tenant, 'cma-tenant', 'pin');
    const pinned = num(pin!, 'pages');
    const setup = errnoOf(pin!, 'setup_errno');
    if (setup) throw new ProbeError(`io_uring_setup as the user gave ${setup}`);
    const afterText = section(s, 'after', 'cma-user');
    const claimed = section(s, 'claim', 'cma-user');
    const obs: CmaUserObs = {
      area: { basePfn: area.base_pfn, count: area.count },
      control: claimOf(section(s, 'control', 'cma-user'), 'the control claim'),
      held: {
        pages,
        inArea: num(hold!, 'in_area'),
        inClaim: num(hold!, 'in_claim'),
        placement: Placement.of(hold!.placement, pages, 'the held pages'),
      },
      pin: {
        ret: num(pin!, 'ret'),
        errno: errnoOf(pin!),
        pages: pinned,
        inAreaAfter: num(pin!, 'in_area'),
        before: Placement.of((pin!.before as { placement?: unknown }).placement, pinned, 'the pinned pages (before)'),
        after: Placement.of(pin!.placement, pinned, 'the pinned pages'),
      },
    };
    if (claimed.trim() === '') return obs;
    assertRanClean(afterText, 'cma-tenant');
    const [after] = recordsOf(parseRecords(afterText), 'cma-tenant', 'after');
    return {
      ...obs,
      claim: claimOf(claimed, 'the claim with the tenant in the range'),
      after: {
        inClaim: num(after!, 'in_claim'),
        placement: Placement.of(after!.placement, pages, 'the held pages (after)'),
      },
    };
  },
  decide(o, { roles: { p } }) {
    if (o.control.used !== CLAIM_PAGES)
      throw new ProbeError(
        `with node ${p} free, a claim of ${CLAIM_PAGES} pages of its area got ${o.control.used} (${endingText(o.control)}): the area cannot be claimed at all`,
      );
    if (o.held.placement.on(p) !== o.held.pages)
      throw new ProbeError(
        `the tenant's bind to node ${p} put ${o.held.placement.offNode(p)} of ${o.held.pages} pages elsewhere before anything moved them`,
      );
    if (o.pin.pages === 0 || o.held.inClaim === 0)
      throw new ProbeError(
        `the tenant's ${o.held.pages} pages: ${o.held.inArea} in the area, ${o.held.inClaim} in its first ${CLAIM_PAGES}: nothing to test`,
      );
    if (!o.claim || !o.after) throw new ProbeError('the tenant ended before the area was claimed');
    const problems: string[] = [];
    if (o.pin.ret !== 0) problems.push(`the pin of ${o.pin.pages} pages in the area was refused with ${o.pin.errno}`);
    const pinnedOff = o.pin.after.offNode(p);
    if (pinnedOff > 0)
      problems.push(
        `the long-term pin moved ${pinnedOff} of ${o.pin.pages} pages from node ${p}'s CMA area off node ${p}`,
      );
    const heldOff = o.after.placement.offNode(p);
    if (heldOff > 0)
      problems.push(
        `claiming ${CLAIM_PAGES} pages of node ${p}'s area (${o.held.inClaim} of them the tenant's; ${o.claim.used} handed out) moved ${heldOff} of the tenant's ${o.held.pages} pages off node ${p}`,
      );
    const passed = problems.length === 0;
    const mib = (pages: number) => `${Math.round(pages / 256)} MiB`;
    return {
      passed,
      summary: passed
        ? `${o.pin.pages} pages in the area pinned on node ${p}; ${CLAIM_PAGES} pages of the area claimed with ${o.held.inClaim} of the tenant's there and ${mib(o.held.inArea)} of its ${mib(o.held.pages)} in the area (${endingText(o.claim)}, ${o.claim.used} handed out): every page still on node ${p}`
        : problems.join('; '),
      problems,
      evidence: {
        area: o.area,
        control: o.control,
        held: { ...o.held, placement: o.held.placement.toJSON() },
        pin: { ...o.pin, before: o.pin.before.toJSON(), after: o.pin.after.toJSON() },
        claim: o.claim,
        after: { inClaim: o.after.inClaim, placement: o.after.placement.toJSON() },
      },
      placements: [
        chart(`${o.pin.pages} pages of the area, pinned`, {
          before: o.pin.before.toJSON(),
          after: o.pin.after.toJSON(),
        }),
        chart(`the tenant's pages, the area claimed`, {
          before: o.held.placement.toJSON(),
          after: o.after.placement.toJSON(),
        }),
      ],
    };
  },
};
