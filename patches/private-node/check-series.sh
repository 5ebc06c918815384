#!/usr/bin/env bash
# The series' own checks, outside CI (the prefix sweep compiles ten kernels):
#   1. it applies with `git am` and with `patch -p1` to linux-source-6.12;
#   2. scripts/checkpatch.pl --strict from the same tree finds nothing;
#   3. every prefix (patches 1..k) builds: `numacage kernel build --patches
#      DIR@k`, with the options of kconfig that those k patches add, cached by
#      content like any build.
# Usage: patches/private-node/check-series.sh [--no-build]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${NUMACAGE_CACHE:-$HOME/.cache/numacage}
src=$(ls -d "$cache"/kernel-src/debian-* | grep -v staging | head -1)
[ -d "$src" ] || { echo "no extracted linux-source-6.12 in $cache/kernel-src: run numacage kernel build once" >&2; exit 2; }
mapfile -t patches < <(grep -v '^#' "$here/series" | sed '/^$/d')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== patch -p1"
cp -a "$src" "$tmp/plain"
for p in "${patches[@]}"; do patch -p1 -s -d "$tmp/plain" -i "$here/$p"; done
echo "== git am"
cp -a "$src" "$tmp/git"
git -C "$tmp/git" init -q && git -C "$tmp/git" add -f -A
git -C "$tmp/git" -c user.name=check -c user.email=check@localhost commit -q -m base
git -C "$tmp/git" -c user.name=check -c user.email=check@localhost am -q "${patches[@]/#/$here/}"
echo "== checkpatch --strict"
# checkpatch runs scripts/spdxcheck.py on every SPDX-License-Identifier a patch adds and takes its
# silence for a yes: without these modules it dies with a traceback on stderr and checks nothing.
# Debian's python3 first, the one Debian's packages install them for (a pyenv may shadow it).
export PATH=/usr/bin:$PATH
python3 -c 'import git, ply' 2> /dev/null || {
  echo "spdxcheck.py needs python3-git and python3-ply: run numacage doctor --install --for-tests" >&2
  exit 2
}
(cd "$tmp/git" && ./scripts/checkpatch.pl --strict --quiet "${patches[@]/#/$here/}") && echo "no errors, warnings or checks"
rm -rf "$tmp/plain" "$tmp/git"

[ "${1:-}" = --no-build ] && exit 0
for k in $(seq 1 "${#patches[@]}"); do
  start=$(date +%s)
  node "$root/dist/src/cli/main.js" kernel build --patches "$here@$k" > /dev/null
  echo "== patches 1-$k build ($(( $(date +%s) - start )) s)"
done
