import { asExpected, profileMismatched, verdictHolds, type Verdict } from '../model/verdict.js';

const MARK: Record<string, string> = {
  pass: 'PASS ',
  fail: 'FAIL ',
  xfail: 'XFAIL',
  xpass: 'XPASS',
  skip: 'SKIP ',
  error: 'ERROR',
  'not-run': 'NORUN',
};

/** The terminal summary. Pure. */
export function renderText(v: Verdict, runDir: string): string {
  const out: string[] = [];
  if (profileMismatched(v)) {
    const abi = v.checks.find((c) => c.id === 'abi' && c.evidence.detectedProfile !== undefined);
    out.push(
      `FAILED: ${abi?.summary ?? `asked for ${v.expectedProfile!.profile}, the kernel shows ${v.profile!.profile}`}`,
    );
  }
  out.push(
    `numacage run ${v.runId}: topology ${v.topology}, ${v.kernel.kind} kernel ${v.kernel.release}, ${v.accel.accel.toUpperCase()}${v.accel.note ? ` (${v.accel.note})` : ''}`,
  );
  if (v.profile) out.push(`kernel profile: ${v.profile.profile} (${v.profile.reason})`);
  if (v.expectedProfile) out.push(`judged by the ${v.expectedProfile.profile} column (${v.expectedProfile.why})`);
  for (const [i, r] of (v.bootRetries ?? []).entries())
    out.push(
      `TRIED AGAIN after a known TCG artifact (${r.reason}): ${r.message} (that attempt's console: console-${i + 1}.log)`,
    );
  if (v.stopped) out.push(`RUN STOPPED (${v.stopped.reason}): ${v.stopped.message}`);
  if (v.bootFailure) {
    out.push(`BOOT FAILED (${v.bootFailure.reason}): ${v.bootFailure.message}`);
    out.push('--- last console lines ---', ...v.bootFailure.consoleTail.map((l) => `  ${l}`), '---');
  }
  for (const c of v.crashes) {
    out.push(
      `KERNEL ${c.fatal ? 'CRASH' : 'TROUBLE'} (${c.type}${c.atSeconds !== undefined ? ` at ${c.atSeconds.toFixed(1)} s` : ''}${c.during ? `, during ${c.during}` : ''}): ${c.title}`,
    );
    if (c.signature) out.push(`  signature: ${c.signature}`);
    const shown = c.decoded ?? c.lines;
    out.push(
      ...shown.slice(0, 12).map((l) => `  ${l}`),
      ...(shown.length > 12
        ? [`  ... ${shown.length - 12} more lines in ${c.decoded ? 'report.json' : 'console.log'}`]
        : []),
    );
  }
  const provoked = new Map<string, NonNullable<typeof v.probeProvoked>>();
  for (const c of v.probeProvoked ?? []) provoked.set(c.title, [...(provoked.get(c.title) ?? []), c]);
  for (const [title, all] of provoked) {
    const at = all[0]!.atSeconds;
    out.push(
      `note: the kernel reported "${title}"${all.length > 1 ? ` ${all.length} times` : ''}${at !== undefined ? `${all.length > 1 ? ', first' : ''} at ${at.toFixed(1)} s` : ''}, provoked by the probe by design (memory offlining, or a task in a cpuset of P alone): not a failure; console.log has it`,
    );
  }
  for (const c of v.emulatorArtifacts ?? [])
    out.push(
      `note: "${c.title}"${c.atSeconds !== undefined ? ` at ${c.atSeconds.toFixed(1)} s` : ''} is a spurious single-step trap of TCG, not the kernel's doing (not a failure; console.log has it)`,
    );
  const idWidth = Math.max(16, ...v.checks.map((c) => c.id.length));
  for (const c of v.checks) {
    const time = c.durationSeconds !== undefined ? `${c.durationSeconds.toFixed(1).padStart(5)} s` : '       ';
    out.push(`${MARK[c.outcome]} ${c.id.padEnd(idWidth)} ${time}  ${c.summary}`);
    if (c.command) out.push(`        $ ${c.command}`);
    for (const p of c.problems) out.push(`        - ${p}`);
    // Passing test points are counted in the summary; the others are named.
    for (const st of c.subtests ?? [])
      if (st.outcome !== 'pass')
        out.push(`        ${MARK[st.outcome]} ${st.id} ${st.name}${st.reason ? ` (${st.reason})` : ''}`);
  }
  const t = v.timings;
  const times = Object.entries(t)
    .map(([k, s]) => `${k} ${s.toFixed(1)} s`)
    .join(', ');
  const held = v.checks.filter((c) => asExpected(c.outcome)).length;
  const besides = failedBesidesChecks(v);
  out.push(
    `${verdictHolds(v) ? 'OK' : 'FAILED'}: ${held}/${v.checks.length} checks as expected${besides.length ? `, but ${besides.join(', ')}` : ''}; ${times}`,
  );
  out.push(`artifacts: ${runDir}`);
  return out.join('\n') + '\n';
}

/** What fails a run whatever its checks say, for the closing line. */
function failedBesidesChecks(v: Verdict): string[] {
  const n = v.crashes.length;
  return [
    ...(n ? [`${n} kernel report${n > 1 ? 's' : ''} on the console`] : []),
    ...(v.bootFailure ? ['the boot failed'] : []),
    ...(v.stopped ? ['the run stopped'] : []),
    ...(profileMismatched(v) ? ['not the kernel asked for'] : []),
  ];
}
