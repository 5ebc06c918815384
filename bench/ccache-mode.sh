#!/usr/bin/env bash
# What ccache costs a cold kernel build, by mode, against plain gcc in the same run: one directory of
# the lean kernel (default mm/, 75 objects) compiled from an empty ccache dir, ROUNDS times each,
# then once more from the depend mode's cache in a second tree (the hits numacage relies on).
#   bash bench/ccache-mode.sh [DIR] [ROUNDS]     (needs the lean kernel in numacage's cache)
# The modes: plain gcc; ccache's default (on a miss it runs the preprocessor, hashes its output, then
# compiles); ccache's depend mode (CCACHE_DEPEND=1: a miss only compiles, and the manifest is taken
# from the compiler's -MMD file). Takes about 10 min on 2 cores.
set -euo pipefail
subdir="${1:-mm}"
rounds="${2:-2}"
cache="${NUMACAGE_CACHE:-$HOME/.cache/numacage}"
pristine="$(find "$cache/kernel-src" -maxdepth 1 -name 'debian-*' | head -1)"
# The lean kernel's final .config: an entry with no patches and the default fragments, from Debian's source.
config="$(node -e '
  const fs = require("fs"), dir = process.argv[1];
  for (const key of fs.readdirSync(dir)) {
    let m;
    try { m = JSON.parse(fs.readFileSync(dir + "/" + key + "/meta.json", "utf8")); } catch { continue; }
    if (!m.patches.length && m.fragments.join(" ") === "guest-base numa-mm" && m.source.startsWith("linux-source")) {
      console.log(dir + "/" + key + "/config");
      break;
    }
  }' "$cache/kernels" 2>/dev/null || true)"
if [ ! -d "$pristine" ] || [ ! -f "${config:-}" ]; then echo "ccache-mode: build the lean kernel first (numacage kernel build)" >&2; exit 2; fi
work="$(mktemp -d /tmp/numacage-ccache-mode.XXXXXX)"
trap 'rm -rf "$work"' EXIT

tree() { # NAME: a hard-linked source tree with a configured, prepared build dir beside it, as numacage lays them out
  mkdir -p "$work/$1/build"
  cp -al "$pristine" "$work/$1/src"
  cp "$config" "$work/$1/build/.config"
  make -C "$work/$1/src" O="$work/$1/build" -s olddefconfig
  CCACHE_DISABLE=1 make -C "$work/$1/src" O="$work/$1/build" -s -j"$(nproc)" CC="ccache gcc" prepare >/dev/null 2>&1
}
compile() { # TREE MODE CCACHE_DIR: compile $subdir from scratch, print wall and CPU seconds
  # One CC for every mode (plain gcc is ccache disabled): a changed command line would make kbuild rebuild more than $subdir.
  local t=$1 mode=$2 env=(CCACHE_DIR="$3" CCACHE_BASEDIR="$work/$1" CCACHE_NOHASHDIR=1)
  [ "$mode" = plain ] && env+=(CCACHE_DISABLE=1)
  [ "$mode" = depend ] && env+=(CCACHE_DEPEND=1)
  rm -rf "${work:?}/$t/build/$subdir"
  local TIMEFORMAT='%R %U %S'
  { time env "${env[@]}" make -C "$work/$t/src" O="$work/$t/build" -s -j"$(nproc)" CC="ccache gcc" "$subdir/" >/dev/null 2>&1; } 2>"$work/time"
  read -r wall user sys <"$work/time"
  printf '  %-22s wall %6.1f s  cpu %6.1f s\n' "$mode${4:+ $4}" "$wall" "$(echo "$user + $sys" | bc)"
}
tree a
tree b
echo "ccache-mode: $subdir/ of the lean kernel from scratch, $rounds rounds, $(nproc) jobs"
for _ in $(seq "$rounds"); do
  for mode in plain default depend; do
    rm -rf "$work/ccache-$mode"
    compile a "$mode" "$work/ccache-$mode"
  done
done
CCACHE_DIR="$work/ccache-depend" ccache -z >/dev/null
compile b depend "$work/ccache-depend" '(hits, other tree)'
CCACHE_DIR="$work/ccache-depend" ccache -s | grep -E '^ +(Direct|Preprocessed):|^  Misses:' | sed 's/^/    /'
