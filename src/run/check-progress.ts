import { notRunResult } from '../invariants/evaluate.js';
import type { ProfileEvidence } from '../invariants/profile.js';
import type { ExpectedProfile } from '../invariants/expectation.js';
import { invariant } from '../invariants/registry.js';
import type { CheckResult } from '../model/verdict.js';
import { stepNotRun, type TestStep } from '../steps/steps.js';

/** The checks of one run (invariants, then test steps) as they come in, and the one under way (a crash is blamed on it). */
export class CheckProgress {
  readonly results: CheckResult[] = [];
  current?: string;
  /** The profile the kernel shows (evidence), and the one the run is judged by. */
  profile?: ProfileEvidence;
  expected?: ExpectedProfile;
  /** Where each check began in the console's crash list: a report from then on is blamed on it. */
  readonly marks: { id: string; fromCrash: number }[] = [];

  constructor(
    readonly ids: string[],
    readonly steps: TestStep[] = [],
  ) {}

  begin(id: string, crashesSoFar: number): void {
    this.current = id;
    this.marks.push({ id, fromCrash: crashesSoFar });
  }

  /** The check that was running when the n-th console report came. */
  duringCrash(n: number): string | undefined {
    return this.marks.filter((m) => m.fromCrash <= n).at(-1)?.id;
  }

  /**
   * Every selected check, in order: the ones that never got their turn are
   * `not-run` with the reason; a test step the kernel crashed under fails.
   */
  complete(reason: (id: string) => string, kernelCrashed = false): CheckResult[] {
    const done = (id: string) => this.results.find((r) => r.id === id);
    return [
      ...this.ids.map((id) => done(id) ?? notRunResult(invariant(id), this.profile, 'not-run', reason(id))),
      ...this.steps.map(
        (s) => done(s.id) ?? stepNotRun(s, kernelCrashed && s.id === this.current ? 'fail' : 'not-run', reason(s.id)),
      ),
    ];
  }
}
