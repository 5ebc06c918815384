#!/usr/bin/env bash
# npm test's ava, in two phases (docs/ci.md, "numacage's own tests"):
#  1. kernel-build, the integration file that must not share the host with another file's guests:
#     it builds kernels in the shared kernel tree (make -j2 takes both cores; a test finds its
#     compilers by working directory). The unit files run beside it, two files at a time: they boot
#     nothing and build nothing, and take the CPU kernel-build leaves while it waits on a guest or a
#     cache hit (until 2026-12-06 they ran alone after the last guest, 113 s). kernel-build in the
#     second phase gained nothing (2026-12-04: warm 1480 s against 1468 s; its git-tree test took
#     100 s there instead of 65). devices.test ran here until 2026-12-04, when its DPDK testpmd
#     polled a core for the whole run and starved a second file's guests into RCU stalls; testpmd
#     now forwards only during the traffic of two checks;
#  2. every other integration file, two at a time: their guests come from the cache, their outputs
#     and temp dirs are their own, and a TCG guest keeps about one of the two cores busy (measured:
#     stock-run.test alone used 1.0 core).
# Both phases run whatever the first gives; the exit code is the first phase's failure, else the second's.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

ALONE=(kernel-build)
first_files=('dist/test/unit/**/*.test.js')
not_first=('!dist/test/unit/**/*.test.js')
for name in "${ALONE[@]}"; do
  first_files+=("dist/test/integration/$name.test.js")
  not_first+=("!dist/test/integration/$name.test.js")
done

npx ava --config test/ava-phases.config.js --concurrency 2 "${first_files[@]}"
first=$?
npx ava --config test/ava-phases.config.js --concurrency 2 'dist/test/**/*.test.js' "${not_first[@]}"
second=$?
exit $((first != 0 ? first : second))
