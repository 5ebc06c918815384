function esc(s) {
    return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
/** JUnit XML, one testcase per check (and one for the boot). Pure. */
export function renderJunit(v) {
    const cases = [];
    const suite = `numacage.${v.topology}.${v.kernel.kind}`;
    cases.push(v.bootFailure
        ? `    <testcase classname="${esc(suite)}" name="boot"><failure message="${esc(v.bootFailure.reason)}">${esc([v.bootFailure.message, ...v.bootFailure.consoleTail].join('\n'))}</failure></testcase>`
        : `    <testcase classname="${esc(suite)}" name="boot" time="${(v.timings['boot-to-ssh'] ?? 0).toFixed(1)}"/>`);
    v.crashes.forEach((c, i) => cases.push(`    <testcase classname="${esc(suite)}" name="console-${i + 1}-${esc(c.type)}"><failure message="${esc(c.title)}">${esc(c.lines.join('\n'))}</failure></testcase>`));
    for (const c of v.checks) {
        const body = [c.summary, ...c.problems].join('\n');
        let inner = '';
        if (c.outcome === 'fail' || c.outcome === 'xpass')
            inner = `<failure message="${esc(`${c.outcome}: ${c.summary}`)}">${esc(body)}</failure>`;
        else if (c.outcome === 'error')
            inner = `<error message="${esc(c.summary)}">${esc(body)}</error>`;
        else if (c.outcome === 'skip')
            inner = `<skipped message="${esc(c.summary)}"/>`;
        else if (c.outcome === 'xfail')
            inner = `<system-out>${esc(`expected failure: ${body}`)}</system-out>`;
        cases.push(`    <testcase classname="${esc(suite)}" name="${esc(c.id)}">${inner}</testcase>`);
    }
    const failures = v.checks.filter((c) => c.outcome === 'fail' || c.outcome === 'xpass').length + (v.bootFailure ? 1 : 0) + v.crashes.length;
    const errors = v.checks.filter((c) => c.outcome === 'error').length;
    const skipped = v.checks.filter((c) => c.outcome === 'skip').length;
    return [
        '<?xml version="1.0" encoding="UTF-8"?>',
        `<testsuites name="numacage">`,
        `  <testsuite name="${esc(suite)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${(v.timings.total ?? 0).toFixed(1)}">`,
        ...cases,
        '  </testsuite>',
        '</testsuites>',
        '',
    ].join('\n');
}
//# sourceMappingURL=junit.js.map