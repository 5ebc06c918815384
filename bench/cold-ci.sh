#!/usr/bin/env bash
# README's test command (.ci/run) from a fresh clone of HEAD, on an empty numacage cache (ccache
# included), then once more on the cache it left: the cold and the warm figure, with the split
# between install, the test prebuild (what it built, each with its time) and ava. Before a release:
#   bash bench/cold-ci.sh [CACHE_DIR]     (default: a new temporary dir; it must be empty or absent)
# Takes about 40-70 + 17-25 min on 2 cores, by the machine. Logs and the figures go to $OUT (default /tmp/numacage-cold-ci).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${1:-$(mktemp -d /tmp/numacage-cold-cache.XXXXXX)}"
out="${OUT:-/tmp/numacage-cold-ci}"
if [ -e "$cache" ] && [ -n "$(ls -A "$cache")" ]; then echo "cold-ci: $cache is not empty: give an empty or new dir" >&2; exit 2; fi
mkdir -p "$out"
clone="$(mktemp -d /tmp/numacage-clone.XXXXXX)"
git clone -q "$repo" "$clone"
echo "cold-ci: commit $(git -C "$clone" rev-parse --short HEAD), clone $clone, cache $cache, logs $out"

stage() { # NAME LOG CMD...: one stage of README's test command, timed; its exit code kept in $rc
  local name=$1 log=$2 start; shift 2
  start=$(date +%s)
  (cd "$clone" && NUMACAGE_CACHE="$cache" CI=true "$@") >>"$log" 2>&1 </dev/null || rc=$?
  echo "  $name: $(( $(date +%s) - start )) s" | tee -a "$out/figures.txt"
}
pass() { # NAME: README's test command (bash .ci/install --for-tests && npm test), split in its two stages
  local name=$1 log="$out/$1.log" start=$(date +%s)
  rc=0
  : >"$log"
  echo "cold-ci: $name (commit $(git -C "$clone" rev-parse --short HEAD))" | tee -a "$out/figures.txt"
  stage 'install (.ci/install --for-tests)' "$log" bash .ci/install --for-tests
  [ $rc -eq 0 ] && stage 'npm test (build, prebuild, ava)' "$log" npm test
  echo "  total: exit $rc in $(( ($(date +%s) - start) / 60 )) min $(( ($(date +%s) - start) % 60 )) s" | tee -a "$out/figures.txt"
  grep -E '^test prebuild: done|^ +[0-9.]+ s  ' "$log" | tee -a "$out/figures.txt" || true
  grep -E '^  [0-9]+ (tests? )?(passed|failed)|known failure|uncaught|[Tt]imed out' "$log" | tail -5 | tee -a "$out/figures.txt" || true
  return $rc
}
: >"$out/figures.txt"
# A failing cold pass still leaves the cache the warm pass measures; the exit code is the first failure.
cold=0
pass cold || cold=$?
pass warm || exit $?
exit $cold
