#!/bin/bash
# Make a GPU call's copy of the checkout fit the 64 MiB (67,108,864 bytes) the device tool carries, and put it back.
#
#   bash scripts/gpu_carry.sh out    # before the call: docs/ and tests/ move to STASH; prints what would travel
#   bash scripts/gpu_carry.sh size   # what would travel now (the tree git sees plus .gpu)
#   bash scripts/gpu_carry.sh back   # after the call: docs/ and tests/ come back
#
# What travels is every file git sees (tracked or untracked, not ignored) plus the carried .gpu (about 44.5 MB). On
# 2026-12-07 that was 29.1 MB + 44.5 MB = 73.6 MB, too much; the training on the machine needs neither the docs'
# images (8.6 MB) nor the tests' fixtures (0.9 MB), which leaves 64.0 MB. STASH (default: ../gpu-stash-DIRNAME)
# lies outside the checkout, so git and the copy skip it; `out` refuses when it already exists (an earlier `out`
# without `back`), and `back` refuses to overwrite files that reappeared meanwhile.
set -eu
cd "$(dirname "$0")/.."
LIMIT=67108864
MOVED=(docs tests)
STASH=${STASH:-../gpu-stash-$(basename "$PWD")}

travelling_bytes() {
  local tree gpu=0
  tree=$(git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do [ -f "$f" ] && stat -c %s -- "$f"; done | awk '{s += $1} END {print s + 0}')
  [ -d .gpu ] && gpu=$(du -sb .gpu | cut -f1)
  echo "tree $tree bytes + .gpu $gpu bytes = $((tree + gpu)) of $LIMIT"
  [ $((tree + gpu)) -le $LIMIT ] || { echo "gpu_carry: too much for one call" >&2; return 1; }
}

case ${1:-} in
  out)
    [ ! -e "$STASH" ] || { echo "gpu_carry: $STASH exists: run 'back' first" >&2; exit 2; }
    mkdir -p "$STASH"
    for d in "${MOVED[@]}"; do mv -- "$d" "$STASH/"; done
    echo "moved ${MOVED[*]} to $STASH (bring them back with: bash scripts/gpu_carry.sh back)"
    travelling_bytes ;;
  size)
    travelling_bytes ;;
  back)
    [ -d "$STASH" ] || { echo "gpu_carry: nothing stashed at $STASH" >&2; exit 2; }
    for d in "${MOVED[@]}"; do
      [ ! -e "$d" ] || { echo "gpu_carry: $d is back in the tree already; $STASH/$d left as it is" >&2; exit 2; }
    done
    for d in "${MOVED[@]}"; do mv -- "$STASH/$d" .; done
    rmdir -- "$STASH"
    echo "${MOVED[*]} are back" ;;
  *)
    echo "usage: gpu_carry.sh out|size|back" >&2; exit 2 ;;
esac
