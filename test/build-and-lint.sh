#!/usr/bin/env bash
# npm test's first stage: tsc and the lint checks at once. Each keeps one core busy (tsc about 20 s,
# eslint, prettier, knip and shellcheck about 30 s one after the other), so one after the other they
# left a core idle; neither reads what the other writes (the linters ignore dist/).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
npm run --silent build &
build=$!
npm run --silent lint:checks
lint=$?
wait "$build"
built=$?
exit $((built != 0 ? built : lint))
