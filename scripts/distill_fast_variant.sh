#!/bin/bash
# Distil a built-in johnson style into its real-time `fast` network (NAME-fast) and pack it into the package:
# the recipe of docs/fast_vs_johnson.md, as run for every shipped NAME-fast on the 2-core CPU (about 33 min).
#
#   bash scripts/distill_fast_variant.sh NAME [SHARED]     # SHARED: ../shared (photos, paintings, VGG16)
#
# 1. Distillation: D_STEPS (1200) steps of output MSE against the teacher's cached outputs, starting from the
#    shipped mosaic-fast (a trained starting point for the architecture), whole 256 px train256 photos, batch 8,
#    Adam lr 2e-3, no VGG.
# 2. Perceptual fine-tune: P_STEPS (400) steps with content 1 and style 5 (the teachers' weights), the painting at
#    the teacher's training size, plus the teacher term (100) and the temporal loss, crop 128, batch 4, lr 1e-3.
# 3. Looser fine-tune: L_STEPS (800) steps as stage 2 with the teacher term at 10 and seed 7: the style loss falls
#    where stage 2's weight held it near the teacher's averaged texture (2026-12-08, docs/fast_vs_johnson.md).
# Then scripts/pack_builtin_style.py writes rtstyle/styles/builtin/NAME-fast.safetensors (float16) with every
# stage's history: stages 1-2 are packed first and stage 3 goes on from that, packed only where
# scripts/quality_gate.py finds it no worse than what it started from (exit 1 otherwise; GATE=0 skips the gate).
# FROM_STAGE=3 runs only stage 3, on the shipped NAME-fast (as the shipped ones got it, their stages 1-2 having run
# earlier; about 8 min).
# DEVICE=cuda runs it on a GPU; RUN (runs/fast) holds the stages' outputs and checkpoints; PYTHON (python3) the
# interpreter rtstyle is installed for; MARGIN (0) the student's mirrored border margin in every stage
# (--border-margin; the teacher's targets always have rtstyle's 32 px). 32 made wave-fast's style loss 2.1x and its
# pictures pale (2026-12-07, docs/fast_vs_johnson.md): around 128 px crops most of what instance norm sees is
# mirrored.
set -eu
[ $# -ge 1 ] || { echo "usage: distill_fast_variant.sh NAME [SHARED]" >&2; exit 2; }
NAME=$1
SHARED=${2:-../shared}
RUN=${RUN:-runs/fast}
D_STEPS=${D_STEPS:-1200}
P_STEPS=${P_STEPS:-400}
L_STEPS=${L_STEPS:-800}
FROM_STAGE=${FROM_STAGE:-1}
DEVICE=${DEVICE:-cpu}
MARGIN=${MARGIN:-0}
PY=${PYTHON:-python3}  # the environment rtstyle is installed in
case $FROM_STAGE in
  1|3) ;;
  *) echo "distill_fast_variant: error: FROM_STAGE is 1 or 3, not $FROM_STAGE" >&2; exit 2 ;;
esac
VGG=$SHARED/weights/vgg16_imagenet_caffe_conv1_1-conv4_3.safetensors
[ -f "$VGG" ] || { echo "distill_fast_variant: error: no VGG16 weights at $VGG" >&2; exit 2; }

# The teacher's painting and its training size, from its metadata (source_image is relative to the repo's parent).
read -r PAINTING STYLE_SIZE < <("$PY" -c "import sys
from rtstyle.errors import RtstyleError
from rtstyle.styles.catalog import find_style
try:
    meta = find_style(sys.argv[1]).metadata()
except RtstyleError as exc:
    sys.exit(f'distill_fast_variant: error: {exc}')
print(meta['source_image'].removeprefix('shared/'), meta['hyperparameters'].get('style_size') or 0)" "$NAME") || exit 2
PAINTING=$SHARED/$PAINTING
[ -f "$PAINTING" ] || { echo "distill_fast_variant: error: the painting is missing: $PAINTING" >&2; exit 2; }
SIZE_ARGS=()
[ "$STYLE_SIZE" != 0 ] && SIZE_ARGS=(--style-size "$STYLE_SIZE")
MACHINE="machine=$("$PY" -c 'import platform; print(platform.processor() or platform.machine())'), $DEVICE"
mkdir -p "$RUN"
# Every run starts its stages afresh: a stage folder left by an earlier run (its checkpoint) would be refused.
rm -rf "$RUN/$NAME-fast-distill" "$RUN/$NAME-fast-perceptual" "$RUN/$NAME-fast-looser"

if [ "$FROM_STAGE" = 1 ]; then
  "$PY" -m rtstyle train --name "$NAME-fast" --arch fast --init mosaic-fast --teacher "$NAME" --device "$DEVICE" \
    --style-image "$PAINTING" --content "$SHARED/data/train256" \
    --steps "$D_STEPS" --crop-size 256 --batch-size 8 --lr 2e-3 --content-weight 0 --style-weight 0 --tv-weight 0 \
    --border-margin "$MARGIN" --half --preview-every 0 --checkpoint-every 250 --run-dir "$RUN/$NAME-fast-distill" \
    -o "$RUN/$NAME-fast-distill.safetensors" --overwrite --meta "$MACHINE" \
    --meta "recipe=distilled from the built-in $NAME, starting from mosaic-fast: $D_STEPS steps of output MSE against the teacher's cached outputs with its 32 px margin (whole 256 px train256 photos, batch 8, Adam lr 2e-3, no VGG, student margin $MARGIN px)."

  "$PY" -m rtstyle train --name "$NAME-fast" --arch fast --init "$RUN/$NAME-fast-distill.safetensors" --teacher "$NAME" \
    --device "$DEVICE" --temporal --style-image "$PAINTING" "${SIZE_ARGS[@]}" --content "$SHARED/data/train256" \
    --steps "$P_STEPS" --crop-size 128 --batch-size 4 --lr 1e-3 --content-weight 1 --style-weight 5 \
    --distill-weight 100 --border-margin "$MARGIN" --vgg-weights "$VGG" --half --preview-every 0 --checkpoint-every 100 \
    --run-dir "$RUN/$NAME-fast-perceptual" -o "$RUN/$NAME-fast-stage2.safetensors" --overwrite --meta "$MACHINE" \
    --meta "recipe=$P_STEPS steps with the perceptual losses plus the teacher term and the temporal loss (crop 128, batch 4, Adam lr 1e-3, content 1, style 5, tv 1e-6, distill 100, temporal 1e7, the painting at the teacher's size, Caffe VGG16, margin $MARGIN px)."

  # Packed once here, so that the record of stages 1-2 travels into stage 3's as it does for the shipped ones.
  "$PY" scripts/pack_builtin_style.py "$RUN/$NAME-fast-stage2.safetensors" --name "$NAME-fast" \
    --fine-tuned-from "$RUN/$NAME-fast-distill.safetensors" --storage float16
fi

# Stage 3 starts from NAME-fast as packed (the shipped one, with FROM_STAGE=3); packing replaces it, so a copy.
"$PY" -c "import shutil, sys
from rtstyle.styles.catalog import find_style
shutil.copyfile(find_style(sys.argv[1]).path, sys.argv[2])" "$NAME-fast" "$RUN/$NAME-fast-before-stage3.safetensors"

"$PY" -m rtstyle train --name "$NAME-fast" --arch fast --init "$RUN/$NAME-fast-before-stage3.safetensors" \
  --teacher "$NAME" --device "$DEVICE" --temporal --style-image "$PAINTING" "${SIZE_ARGS[@]}" \
  --content "$SHARED/data/train256" --steps "$L_STEPS" --crop-size 128 --batch-size 4 --lr 1e-3 --content-weight 1 \
  --style-weight 5 --distill-weight 10 --border-margin "$MARGIN" --vgg-weights "$VGG" --half --seed 7 \
  --preview-every 0 --checkpoint-every 200 --run-dir "$RUN/$NAME-fast-looser" -o "$RUN/$NAME-fast.safetensors" \
  --overwrite --meta "$MACHINE" \
  --meta "recipe=$L_STEPS steps as the stage before with the teacher term at a tenth of its weight (crop 128, batch 4, Adam lr 1e-3 fresh, content 1, style 5, tv 1e-6, distill 10, temporal 1e7, seed 7, the painting at the teacher's size, Caffe VGG16, margin $MARGIN px)."

# Stage 3 replaces what it started from only where scripts/quality_gate.py finds it no worse as users get it (seven
# of eight were, 2026-12-08); GATE=0 packs it regardless.
if [ "${GATE:-1}" != 0 ]; then
  status=0
  "$PY" scripts/quality_gate.py "$NAME-fast" "$RUN/$NAME-fast.safetensors" --shared "$SHARED" || status=$?
  if [ $status = 1 ]; then
    echo "distill_fast_variant: stage 3 not packed: $NAME-fast stays as it was before it" \
      "($RUN/$NAME-fast.safetensors holds stage 3; GATE=0 packs it)" >&2
    exit 1
  fi
  [ $status = 0 ] || exit $status
fi
"$PY" scripts/pack_builtin_style.py "$RUN/$NAME-fast.safetensors" --name "$NAME-fast" \
  --fine-tuned-from "$RUN/$NAME-fast-before-stage3.safetensors" --storage float16
