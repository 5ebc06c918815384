#!/usr/bin/env bash
# npm test's ava, in two phases (docs/ci.md, "numacage's own tests"):
#  1. devices.test.ts alone: DPDK testpmd's polling thread, with other guests beside it, starved a
#     guest into RCU stalls. faults.test.ts ran here until 2026-12-04 (287 s with a core idle), and
#     so did kernel-build.test.ts until its builds shrank to a 5 s make (on a warm cache nothing
#     else builds in the kernel tree, whose compilers its SIGTERM test finds by working directory);
#  2. every other file, two at a time: their guests come from the cache, their outputs and temp dirs
#     are their own, and a TCG guest keeps about one of the two cores busy (measured: stock-run.test
#     alone used 1.0 core).
# Both phases run whatever the first gives; the exit code is the first phase's failure, else the second's.
set -uo pipefail
cd "$(dirname "$0")/.."

ALONE=(devices)
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
