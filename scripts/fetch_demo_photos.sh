#!/usr/bin/env bash
# Real photographs for the demo, from two Debian packages (downloaded and unpacked into a temp folder;
# nothing is installed): opencv-doc's scene-text photos (street signs, shop fronts, word crops: what a
# text detector is for) and python3-skimage's data/ folder (a text page, street and object photos, some
# without any text). They are split in two: calib/ (for calibration) and eval/ (never calibrated on).
set -euo pipefail
OUT=${1:?usage: fetch_demo_photos.sh OUT_DIR}
[ -f "$OUT/eval/scenetext02.jpg" ] && [ -f "$OUT/calib/scenetext01.jpg" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "demo: fetching photos (Debian packages opencv-doc and python3-skimage, data only)"
download() { (cd "$tmp" && apt-get download -qq "$@" >/dev/null 2>&1); }
download opencv-doc python3-skimage || { apt-get update -qq >/dev/null && download opencv-doc python3-skimage; } ||
  { echo "demo: cannot download opencv-doc / python3-skimage from the Debian archive" >&2; exit 1; }
for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$tmp/x"; done
rm -rf "$OUT/calib" "$OUT/eval"
mkdir -p "$OUT/calib" "$OUT/eval"
put() {  # put SPLIT FILE...: copies each file found in the unpacked packages
  local split=$1 f src
  shift
  for f in "$@"; do
    src=$(find "$tmp/x" -path "*/$f" | head -1)
    [ -n "$src" ] && cp "$src" "$OUT/$split/" || echo "demo: note: $f not in the package, skipped" >&2
  done
}
put calib text/scenetext01.jpg text/scenetext03.jpg text/scenetext05.jpg text/scenetext_word01.jpg text/scenetext_word03.jpg \
  data/imageTextN.png skimage/data/text.png skimage/data/coffee.png skimage/data/astronaut.png skimage/data/motorcycle_left.png
put eval text/scenetext02.jpg text/scenetext04.jpg text/scenetext06.jpg text/scenetext_word02.jpg text/scenetext_word04.jpg \
  data/imageTextR.png skimage/data/page.png skimage/data/chelsea.png skimage/data/rocket.jpg
