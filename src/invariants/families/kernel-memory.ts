import { parseNodeMeminfo } from '../../parsers/sysfs.js';
import { errnoOf, num, parseRecords, parseSections, recordsOf, section } from '../records.js';
import { assertRanClean } from '../shell.js';
import { expect, rawOf, type InvariantSpec } from '../spec.js';
import { ProbeError } from '../errors.js';

const KERNEL_COUNTERS = ['Slab', 'SUnreclaim', 'KernelStack', 'PageTables'] as const;
export type KernelCounters = Record<(typeof KERNEL_COUNTERS)[number], number>;

/** The four kernel-memory counters of a node's meminfo (kB); a ProbeError when one is missing. */
export function kernelCounters(meminfo: Record<string, number>, what: string): KernelCounters {
  const out = {} as KernelCounters;
  for (const k of KERNEL_COUNTERS) {
    const v = meminfo[k];
    if (v === undefined) throw new ProbeError(`${what}: no ${k} in node meminfo`);
    out[k] = v;
  }
  return out;
}

/** Problems for counters above zero, and for any rise from `before` to `after`. */
export function kernelMemoryProblems(
  node: number,
  readings: [string, KernelCounters][],
  rise?: [string, KernelCounters, KernelCounters],
): string[] {
  const problems: string[] = [];
  for (const [when, m] of readings)
    for (const k of KERNEL_COUNTERS) if (m[k] > 0) problems.push(`node ${node} ${k} is ${m[k]} kB ${when}`);
  if (rise) {
    const [what, before, after] = rise;
    for (const k of KERNEL_COUNTERS)
      if (after[k] > before[k]) problems.push(`node ${node} ${k} rose by ${after[k] - before[k]} kB ${what}`);
  }
  return problems;
}

const SLAB_FILES = 4000;

interface KernelMemoryObs {
  afterBoot: KernelCounters;
  duringWorkload: KernelCounters;
  afterWorkload: KernelCounters;
  workload: { policy: string; bindErrno: string | null; files: number; socketpairs: number };
}

/**
 * P's kernel counters after boot, while a slab-heavy workload (files,
 * sockets) holds its objects, and after it. The workload runs under BIND
 * {P} where the kernel accepts it, else INTERLEAVE {C,P}: slab pages follow
 * the allocating task's policy, so a kernel that lets kernel memory onto P
 * shows it here even though the CPUs are on C.
 */
export const noKernelMemory: InvariantSpec<KernelMemoryObs> = {
  id: 'no-kernel-memory',
  title: 'no unmovable kernel memory on P',
  expect: expect('fail', 'pass', 'pass', 'pass'),
  disturbs: false,
  steps: ({ roles: { c, p } }) => [
    { name: 'no-kernel-memory', script: 'no-kernel-memory.sh', env: { C: c, P: p, SLAB_FILES } },
  ],
  parse(raw, { roles: { p } }) {
    const s = parseSections(rawOf(raw, 'no-kernel-memory'));
    const read = (name: string) =>
      kernelCounters(parseNodeMeminfo(section(s, name, 'no-kernel-memory')), `node ${p} ${name}`);
    const workloadText = section(s, 'workload', 'no-kernel-memory');
    assertRanClean(workloadText, 'the slab workload');
    const [w] = recordsOf(parseRecords(workloadText), 'slab', 'workload');
    const files = num(w!, 'files');
    const socketpairs = num(w!, 'socketpairs');
    if (files !== SLAB_FILES) throw new ProbeError(`the slab workload made ${files} of ${SLAB_FILES} files`);
    return {
      afterBoot: read('after-boot'),
      duringWorkload: kernelCounters(w!.meminfo_kb as Record<string, number>, 'the slab workload'),
      afterWorkload: read('after-workload'),
      workload: { policy: String(w!.policy), bindErrno: errnoOf(w!, 'bind_errno'), files, socketpairs },
    };
  },
  decide(o, { roles: { p } }) {
    const problems = kernelMemoryProblems(
      p,
      [
        ['after boot', o.afterBoot],
        [`during the workload (${o.workload.policy})`, o.duringWorkload],
        ['after the workload', o.afterWorkload],
      ],
      [`during a workload under ${o.workload.policy}`, o.afterBoot, o.duringWorkload],
    );
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? `node ${p}: Slab, SUnreclaim, KernelStack, PageTables 0 kB after boot and under a ${o.workload.policy} workload`
        : `node ${p} holds kernel memory (Slab ${(o.duringWorkload.Slab / 1024).toFixed(1)} MB during the ${o.workload.policy} workload)`,
      problems,
      evidence: { node: p, ...o },
    };
  },
};
