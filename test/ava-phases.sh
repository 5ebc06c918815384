#!/usr/bin/env bash
# npm test's ava, in two phases (docs/ci.md, "numacage's own tests"):
#  1. the integration files that need the host to themselves, one at a time: kernel builds in the
#     shared kernel tree (make -j2 takes both cores; a test finds its compilers by working
#     directory). kernel-build in the shared phase gained nothing (2026-12-04: warm 1480 s against
#     1468 s; its git-tree test took 100 s there instead of 65). devices.test ran here until
#     2026-12-04, when its DPDK testpmd polled a core for the whole run and starved a second file's
#     guests into RCU stalls; testpmd now forwards only during the traffic of two checks;
#  2. every other file, two at a time: their guests come from the cache, their outputs and temp dirs
#     are their own, and a TCG guest keeps about one of the two cores busy (measured: stock-run.test
#     alone used 1.0 core).
# Both phases run whatever the first gives; the exit code is the first phase's failure, else the second's.
set -uo pipefail
cd "$(dirname "$0")/.."

ALONE=(kernel-build)
alone_files=()
not_alone=()
for name in "${ALONE[@]}"; do
  alone_files+=("dist/test/integration/$name.test.js")
  not_alone+=("!dist/test/integration/$name.test.js")
done

npx ava --config test/ava-phases.config.js --concurrency 1 "${alone_files[@]}"
first=$?
npx ava --config test/ava-phases.config.js --concurrency 2 'dist/test/**/*.test.js' "${not_alone[@]}"
second=$?
exit $((first != 0 ? first : second))
