/** Kbuild lines that stand for one unit of work ("  CC      mm/mempolicy.o"). */
const WORK_LINE = /^\s{2}(CC|AS|LD|AR|HOSTCC|HOSTLD|OBJCOPY|GEN|BUILD)\s+\S/;
export function isWorkLine(line) {
    return WORK_LINE.test(line);
}
/** The first compiler/linker error lines of a build log, with a line of context each. Pure. */
export function firstBuildErrors(log, max = 12) {
    const lines = log.split('\n');
    const out = [];
    for (let i = 0; i < lines.length && out.length < max; i++) {
        if (/(\berror:|undefined reference to|\*\*\* \[)/.test(lines[i])) {
            if (i > 0 && !out.includes(lines[i - 1]) && /In function|: In /.test(lines[i - 1]))
                out.push(lines[i - 1]);
            out.push(lines[i]);
        }
    }
    return out;
}
//# sourceMappingURL=build-output.js.map