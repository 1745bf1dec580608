#!/bin/bash
# Train the built-in johnson styles on a lent GPU machine, side by side, with the GPU recipe.
#
# Here (prepares .gpu/, git-ignored, about 42 MiB: the machine receives at most 64 MiB per call):
#   python ../shared/tools/pack_gpu_bundle.py .gpu        # 256 px photos + float16 VGG16
#   bash scripts/train_builtins_gpu.sh prepare ../shared  # the paintings + wheels the machine lacks
# The tree (29.1 MB, the built-ins included) and .gpu (44.5 MB) exceed the 64 MiB a call carries:
#   bash scripts/gpu_carry.sh out    # moves docs/ and tests/ out for the call; `back` after it
# On the machine (device tool: carry [".gpu"]), e.g. within one 10-minute call:
#   bash scripts/train_builtins_gpu.sh train 480s mosaic candy udnie      # from random weights
#   bash scripts/train_builtins_gpu.sh finish 540s udnie wave             # continue the shipped built-ins
# COMPILE=1 adds `--compile` (torch.compile): time it first, `python3 bench/train_step.py --compile` (1-2 minutes).
# `finish` starts from the built-in in the tree and trains the steps it lacks for the full recipe (FULL_CROPS
# crops at batch 16, from its images_seen), at lr 5e-4 with a fresh Adam state; call it again until none lack any.
# Each style's run stops at its steps or at the time limit (writing the style either way); all come back in one
# $OUT/results.tar (a call returns at most 8 files). Then, here:
#   python scripts/collect_gpu_styles.py /work/.device/.../results.tar   # packs each into the package
set -u
# name:painting:style weight:style size (0: the painting's own size):temporal weight. udnie and wave: style weight 15
# and temporal 3e7, what their bare-crop CPU stages of 2026-12-07 were trained and shipped with
# (docs/train/README.md: the least stylised at the recipe's 5; on bare crops at 15 with the temporal loss's 1e7
# they flickered 1.2-1.3x more, at 3e7 1.1-1.3x; wave's margin stage at 1e7 flickered 1.13-1.19x). composition-vii
# and shipwreck: 15 and 1e7, their shipped margin stages': with the margin 1e7 flickered only 1.00-1.09x, and 3e7
# from there gave composition-vii's style gain back ("composition-vii with the border margin"). the-scream stays
# at 5: 15 cost content and banded faces ("the-scream with the border margin").
declare -A JOBS=(
  [mosaic]=pytorch_examples_fast_neural_style/mosaic.jpg:5:0:1e7
  [candy]=pytorch_examples_fast_neural_style/candy.jpg:5:512:1e7
  [udnie]=pytorch_examples_fast_neural_style/udnie.jpg:15:512:3e7
  [rain-princess]=pytorch_examples_fast_neural_style/rain-princess.jpg:5:512:1e7
  [starry-night]=jcjohnson_fast_neural_style/starry_night.jpg:5:512:1e7
  [wave]=jcjohnson_fast_neural_style/wave.jpg:15:512:3e7
  [the-scream]=jcjohnson_fast_neural_style/the_scream.jpg:5:512:1e7
  [composition-vii]=jcjohnson_fast_neural_style/composition_vii.jpg:15:512:1e7
  [shipwreck]=lengstrom_fast_style_transfer/the_shipwreck_of_the_minotaur.jpg:15:512:1e7
)
BUNDLE=${BUNDLE:-.gpu}
FULL_CROPS=${FULL_CROPS:-}  # default: rtstyle.train.hparams.BUILTIN_RECIPE_IMAGES (set only for a smoke test)
BATCH=16
# Mirrored margin around each crop, as rtstyle stylizes every picture: on bare crops the networks learnt pale edges
# that lower the style loss only on bare pictures (docs/train/README.md, "Training with the border margin").
MARGIN=${MARGIN:-32}

prepare() {
  mkdir -p "$BUNDLE/style" "$BUNDLE/whl"
  for spec in "${JOBS[@]}"; do cp "$1/data/style/${spec%%:*}" "$BUNDLE/style/"; done
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$BUNDLE/whl" platformdirs
  du -sh "$BUNDLE"
}

# The steps the shipped built-in NAME lacks for the full recipe (0 when it has them).
missing_steps() {
  python3 -c "import math, sys; from rtstyle.styles.catalog import find_style
from rtstyle.train.hparams import BUILTIN_RECIPE_IMAGES
full = int(sys.argv[2] or BUILTIN_RECIPE_IMAGES)
seen = find_style(sys.argv[1]).metadata().get('images_seen', 0)
print(max(0, math.ceil((full - seen) / $BATCH)))" "$1" "$FULL_CROPS"
}

train() {
  local mode=$1 limit=$2; shift 2
  [ $# -ge 1 ] || { echo "name at least one style" >&2; exit 2; }
  for name in "$@"; do [ -n "${JOBS[$name]:-}" ] || { echo "unknown style: $name" >&2; exit 2; }; done
  python3 -m pip install -q --no-index --no-deps --upgrade --target /tmp/site "$BUNDLE"/whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
  local work=/tmp/work pids=() lr=${LR:-1e-3} init_dir=${INIT_DIR:-} names=()
  [ "$mode" = finish ] && lr=${LR:-5e-4}
  mkdir -p $work
  local gpu torch
  gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || echo "no GPU")
  torch=$(python3 -c "import torch; print(torch.__version__)")
  gpu=${gpu:-no GPU}
  echo "$gpu, torch $torch"
  for name in "$@"; do
    IFS=: read -r painting sw ss tw <<< "${JOBS[$name]}"
    local extra=(--temporal-weight "$tw") sdesc="style image at its own size" start="random init" steps=${STEPS:-5000}
    [ "$ss" != 0 ] && extra+=(--style-size "$ss") && sdesc="style image at $ss px"
    [ "${COMPILE:-0}" = 1 ] && extra+=(--compile)
    [ -n "$init_dir" ] && extra+=(--init "$init_dir/$name.safetensors") && start="continued from earlier weights"
    if [ "$mode" = finish ]; then
      steps=$(missing_steps "$name") || exit 1
      [ "$steps" -gt 0 ] || { echo "$name: has the full recipe already"; continue; }
      extra+=(--init "$name") && start="continued from the shipped built-in $name (fresh Adam state)"
    fi
    echo "$name: $steps steps"
    names+=("$name")
    python3 -m rtstyle train --name "$name" --style-image "$BUNDLE/style/$(basename "$painting")" \
      --content "$BUNDLE/train256" --device "${DEVICE:-cuda}" --steps "$steps" --batch-size $BATCH \
      --crop-size 256 --lr "$lr" \
      --content-weight 1 --style-weight "$sw" --tv-weight 1e-6 --border-margin "$MARGIN" "${extra[@]}" \
      --time-limit "$limit" \
      --vgg-weights "$BUNDLE/vgg16_imagenet_caffe_conv1_1-conv4_3.fp16.safetensors" \
      --preview-every 1000 --checkpoint-every 1000 --run-dir "$work/runs/$name" -o "$work/out/$name.safetensors" \
      --overwrite --half --meta "machine=$gpu (lent GPU machine), torch $torch, bf16 autocast" \
      --meta "recipe=steps at batch 16, random 256 px crops of train256 (1,088 photos), Adam lr $lr, content 1 (relu2_2), style $sw (relu1_2..relu4_3), tv 1e-6, temporal loss $tw on synthetic frame pairs (ReCoNet output term), $MARGIN px mirrored margin around each crop, $sdesc, Caffe VGG16 (float16 copy), $start" \
      > "$work/$name.log" 2>&1 &
    pids+=($!)
  done
  [ ${#names[@]} -gt 0 ] || return 0
  wait "${pids[@]}"
  local files=()
  for name in "${names[@]}"; do
    tail -c 400 "$work/$name.log" | tr '\r' '\n' | tail -2
    for f in "out/$name.safetensors" "runs/$name/losses.jsonl" "runs/$name/previews" "$name.log"; do
      [ -e "$work/$f" ] && files+=("$f")
    done
  done
  tar cf "$OUT/results.tar" -C $work "${files[@]}"
}

case "${1:-}" in
  prepare) prepare "${2:?the shared folder}" ;;
  train|finish) train "$@" ;;
  *) echo "usage: $0 prepare SHARED | train TIME_LIMIT NAME... | finish TIME_LIMIT NAME..." >&2
     exit 2 ;;
esac
