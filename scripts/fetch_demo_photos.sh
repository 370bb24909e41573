#!/usr/bin/env bash
# Real photographs for the demo, from Debian's python3-skimage package (its data/ folder: a text scene,
# street and object photos). The .deb is downloaded and unpacked into OUT_DIR; nothing is installed.
# The photos are split in two: calib/ (for calibration) and eval/ (never used for calibration).
set -euo pipefail
OUT=${1:?usage: fetch_demo_photos.sh OUT_DIR}
[ -d "$OUT/eval" ] && [ -n "$(ls -A "$OUT/eval" 2>/dev/null)" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "demo: fetching photos (Debian package python3-skimage, data only)"
(cd "$tmp" && apt-get download -qq python3-skimage >/dev/null 2>&1) || { apt-get update -qq >/dev/null && (cd "$tmp" && apt-get download -qq python3-skimage >/dev/null); }
dpkg -x "$tmp"/python3-skimage_*.deb "$tmp/x"
mkdir -p "$OUT/calib" "$OUT/eval"
i=0
for f in text.png coffee.png chelsea.png astronaut.png rocket.jpg motorcycle_left.png camera.png coins.png brick.png page.png; do
  src=$(find "$tmp/x" -path "*skimage/data/$f" | head -1)
  [ -n "$src" ] || continue
  if [ $((i % 2)) = 0 ]; then cp "$src" "$OUT/eval/"; else cp "$src" "$OUT/calib/"; fi
  i=$((i + 1))
done
