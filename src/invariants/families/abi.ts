import { privateBySysfs, privateNodeFiles, privateNodeParams } from '../profile.js';
import { expect, type InvariantSpec } from '../spec.js';

/** A console line in which the kernel explains why it did not make `node` private. */
function refusalFor(log: string[], node: number): string | undefined {
  return log.find(
    (l) =>
      new RegExp(`\\bnode ${node}\\b`).test(l) &&
      /refus|reject|ignor|not (made )?private|cannot|can't|has CPUs|kernel image/i.test(l),
  );
}

/**
 * Judges the node-state files themselves (not the profile, which is read from
 * the same files): P must be private in one of the spellings, and every node
 * the command line asks for with private_node= must be private in sysfs (with
 * `user`, in has_user_memory where the file exists) unless the kernel says on
 * the console why it refused. Unasked nodes must not be private when the
 * command line asks for any.
 */
export const abi: InvariantSpec<null> = {
  id: 'abi',
  title: 'the kernel advertises P as private',
  expect: expect('fail', 'fail', 'pass', 'pass'),
  disturbs: false,
  judgesProfile: true,
  steps: () => [],
  parse: () => null,
  decide(_obs, { roles: { p }, state }) {
    const s = state.nodeStates;
    const problems: string[] = [];
    const privateBy = privateBySysfs(s, p);
    if (!privateBy)
      problems.push(`node ${p} is not private in any node-state spelling (files: ${Object.keys(s).join(' ')})`);
    const params = privateNodeParams(state.cmdline);
    const asked = new Set(params.flatMap((w) => w.nodes));
    const refusals: Record<string, string> = {};
    for (const w of params) {
      for (const n of w.nodes) {
        const refusal = refusalFor(state.privateNodeLog, n);
        if (refusal) {
          refusals[n] = refusal;
          continue;
        }
        if (!privateBySysfs(s, n))
          problems.push(
            `the command line has ${w.word}, but sysfs does not list node ${n} as private and the kernel gave no reason`,
          );
        else if (w.user && s.has_user_memory && !s.has_user_memory.includes(n))
          problems.push(`the command line has ${w.word}, but node ${n} is not in has_user_memory`);
      }
    }
    if (params.length)
      for (const n of s.has_memory ?? [])
        if (!asked.has(n) && privateBySysfs(s, n))
          problems.push(
            `node ${n} is private in sysfs, but the command line asks only for ${params.map((w) => w.word).join(' ')}`,
          );
    const passed = problems.length === 0;
    return {
      passed,
      summary: passed
        ? `${privateBy}${params.length ? `, as ${params.map((w) => w.word).join(' ')} asks` : ''}`
        : problems[0]!,
      problems,
      evidence: {
        node: p,
        privateBy: privateBy ?? null,
        privateNodeFiles: privateNodeFiles(s),
        nodeStates: s,
        cmdline: params.map((w) => w.word),
        refusals,
        hasNormalMemory: s.has_normal_memory?.includes(p) ?? null,
      },
    };
  },
};
