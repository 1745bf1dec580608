#!/bin/bash
# Train the built-in johnson styles on a lent GPU machine, side by side, with the GPU recipe.
#
# Here (prepares .gpu/, git-ignored, about 42 MiB: the machine receives at most 64 MiB per call):
#   python ../shared/tools/pack_gpu_bundle.py .gpu        # 256 px photos + float16 VGG16
#   bash scripts/train_builtins_gpu.sh prepare ../shared  # the paintings + wheels the machine lacks
# On the machine (device tool: carry [".gpu"]), e.g. within one 10-minute call:
#   bash scripts/train_builtins_gpu.sh train 480s mosaic candy udnie
#   LR=5e-4 INIT_DIR=.gpu/init bash scripts/train_builtins_gpu.sh train 480s mosaic   # continue from earlier weights
# Each style's run stops at --steps or at the time limit (writing the style either way) and is tarred into $OUT
# (at most 8 files come back: 8 styles per call). Then, here: scripts/pack_builtin_style.py.
set -u
# name:painting:style weight:style size (0: the painting's own size)
declare -A JOBS=(
  [mosaic]=pytorch_examples_fast_neural_style/mosaic.jpg:5:0
  [candy]=pytorch_examples_fast_neural_style/candy.jpg:5:512
  [udnie]=pytorch_examples_fast_neural_style/udnie.jpg:5:512
  [rain-princess]=pytorch_examples_fast_neural_style/rain-princess.jpg:5:512
  [starry-night]=jcjohnson_fast_neural_style/starry_night.jpg:5:512
  [wave]=jcjohnson_fast_neural_style/wave.jpg:5:512
  [the-scream]=jcjohnson_fast_neural_style/the_scream.jpg:5:512
  [composition-vii]=jcjohnson_fast_neural_style/composition_vii.jpg:5:512
  [shipwreck]=lengstrom_fast_style_transfer/the_shipwreck_of_the_minotaur.jpg:5:512
)
BUNDLE=${BUNDLE:-.gpu}

prepare() {
  mkdir -p "$BUNDLE/style" "$BUNDLE/whl"
  for spec in "${JOBS[@]}"; do cp "$1/data/style/${spec%%:*}" "$BUNDLE/style/"; done
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$BUNDLE/whl" platformdirs
  du -sh "$BUNDLE"
}

train() {
  local limit=$1; shift
  [ $# -ge 1 ] && [ $# -le 8 ] || { echo "name 1 to 8 styles: a call returns at most 8 files" >&2; exit 2; }
  for name in "$@"; do [ -n "${JOBS[$name]:-}" ] || { echo "unknown style: $name" >&2; exit 2; }; done
  python3 -m pip install -q --no-index --no-deps --target /tmp/site "$BUNDLE"/whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
  local work=/tmp/work pids=() lr=${LR:-1e-3} init_dir=${INIT_DIR:-}
  mkdir -p $work
  local gpu torch
  gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || echo "no GPU")
  torch=$(python3 -c "import torch; print(torch.__version__)")
  echo "$gpu, torch $torch"
  for name in "$@"; do
    IFS=: read -r painting sw ss <<< "${JOBS[$name]}"
    local extra=(--temporal) sdesc="style image at its own size" start="random init"
    [ "$ss" != 0 ] && extra+=(--style-size "$ss") && sdesc="style image at $ss px"
    [ -n "$init_dir" ] && extra+=(--init "$init_dir/$name.safetensors") && start="continued from earlier weights"
    python3 -m rtstyle train --name "$name" --style-image "$BUNDLE/style/$(basename "$painting")" \
      --content "$BUNDLE/train256" --device "${DEVICE:-cuda}" --steps "${STEPS:-5000}" --batch-size 16 \
      --crop-size 256 --lr "$lr" \
      --content-weight 1 --style-weight "$sw" --tv-weight 1e-6 "${extra[@]}" --time-limit "$limit" \
      --vgg-weights "$BUNDLE/vgg16_imagenet_caffe_conv1_1-conv4_3.fp16.safetensors" \
      --preview-every 1000 --checkpoint-every 1000 --run-dir "$work/runs/$name" -o "$work/out/$name.safetensors" \
      --overwrite --half --meta "machine=$gpu (lent GPU machine), torch $torch, bf16 autocast" \
      --meta "recipe=steps at batch 16, random 256 px crops of train256 (1,088 photos), Adam lr $lr, content 1 (relu2_2), style $sw (relu1_2..relu4_3), tv 1e-6, temporal loss 1e7 on synthetic frame pairs (ReCoNet output term), $sdesc, Caffe VGG16 (float16 copy), $start" \
      > "$work/$name.log" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}"
  for name in "$@"; do
    tail -c 400 "$work/$name.log" | tr '\r' '\n' | tail -2
    (cd $work && tar cf "$OUT/$name.tar" "out/$name.safetensors" "runs/$name/losses.jsonl" "runs/$name/previews" \
      "$name.log")
  done
}

case "${1:-}" in
  prepare) prepare "${2:?the shared folder}" ;;
  train) shift; train "$@" ;;
  *) echo "usage: $0 prepare SHARED | train TIME_LIMIT NAME..." >&2; exit 2 ;;
esac
