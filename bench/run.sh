#!/usr/bin/env bash
# `make bench`: every benchmark on the corpus, with a Release build. JSON results go to bench/out/
# (one file per benchmark, dated); the static INT8 markdown table is printed at the end.
#
#   bench/run.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: run.sh BUILD_DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$HERE/out
mkdir -p "$OUT"
day=$(date +%Y-%m-%d)
echo "bench: calibration cost (bench/calibration.sh)" >&2
bash "$HERE/calibration.sh" "$BUILD" 2 > "$OUT/calibration-$day.json"
echo "bench: static INT8 vs FP32 and ORT's quantizer (bench/static_int8.sh)" >&2
bash "$HERE/static_int8.sh" "$BUILD" "$OUT/static_int8-models" > "$OUT/static_int8-$day.json"
echo "bench: results in $OUT" >&2
