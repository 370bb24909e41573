#!/usr/bin/env bash
# Calibration cost against its floor (running the model on the same samples) and against ORT's Python
# quantizer, on the corpus. Prints one JSON document on stdout; progress on stderr.
#
#   [REPEAT=3] bench/calibration.sh BUILD_DIR [THREADS]
#
# For each case: plain inference of N samples (`onnxquant run`), `onnxquant calibrate` with minmax and
# entropy, and peak RSS of each process (GNU time-free: read from /proc via a poller). When the peer
# (../shared/peer, ORT's quantize_static in a trixie chroot) is set up, its wall time and peak RSS on the
# same samples are reported beside ours.
set -euo pipefail
BUILD=${1:?usage: calibration.sh BUILD_DIR [THREADS]}
THREADS=${2:-2}
REPEAT=${REPEAT:-3}
BIN=$BUILD/src/onnxquant
CORPUS=${ONNXQ_CORPUS:-$HOME/.cache/onnxquant-corpus}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEER=$ROOT/../shared/peer
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
[ -f "$CORPUS/models.json" ] || { echo "calibration.sh: no corpus at $CORPUS" >&2; exit 1; }

# Runs a command, returns "seconds peak_rss_bytes" (peak RSS of the process tree's main process).
measure() {
  local start end pid peak=0 rss
  start=$(date +%s.%N)
  "$@" > "$TMP/out.json" 2> "$TMP/err.txt" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ -n "$rss" ] && [ "$rss" -gt "$peak" ] && peak=$rss
    sleep 0.05
  done
  wait "$pid" || { echo "calibration.sh: command failed: $*" >&2; cat "$TMP/err.txt" >&2; return 1; }
  end=$(date +%s.%N)
  echo "$(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.3f", b-a}') $((peak * 1024))"
}

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {printf "%.3f", NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

peer_ready=0
if [ -x "$PEER/setup-trixie-peer.sh" ] && "$PEER/setup-trixie-peer.sh" >/dev/null 2>&1; then peer_ready=1; fi

cases=(
  "resnet50|torch/resnet50.onnx|data/imagenet224/calib.npy|100"
  "resnet50_25|torch/resnet50.onnx|data/imagenet224/calib.npy|25"
  "resnet50_200|torch/resnet50.onnx|data/imagenet224_crops/calib_crops.npy|200"
  "ppocr_det|npm/ocr/ch_PP-OCRv4_det_infer.onnx|data/ocr/det_calib.npy|20"
)
echo "{\"threads\": $THREADS, \"repeat\": $REPEAT, \"cases\": ["
first=1
for c in "${cases[@]}"; do
  IFS='|' read -r name model data n <<< "$c"
  echo "bench: $name" >&2
  # REPEAT rounds, each running the three commands in turn, so that a slow spell of a shared machine
  # hits all three alike; the median of each is reported (peak RSS: the largest).
  runs=() ins=() mms=() ens=() rss_run=0 rss_mm=0 rss_en=0
  for ((r = 0; r < REPEAT; r++)); do
    read -r t rss < <(measure "$BIN" run "$CORPUS/$model" -i "$CORPUS/$data" -n "$n" --threads "$THREADS" --format json)
    runs+=("$t"); rss_run=$((rss > rss_run ? rss : rss_run))
    ins+=("$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_seconds"])' "$TMP/out.json")")
    read -r t rss < <(measure "$BIN" calibrate "$CORPUS/$model" -i "$CORPUS/$data" -n "$n" --threads "$THREADS" -m minmax -o "$TMP/r.json" --format json)
    mms+=("$t"); rss_mm=$((rss > rss_mm ? rss : rss_mm))
    read -r t rss < <(measure "$BIN" calibrate "$CORPUS/$model" -i "$CORPUS/$data" -n "$n" --threads "$THREADS" -m entropy -o "$TMP/r.json" --format json)
    ens+=("$t"); rss_en=$((rss > rss_en ? rss : rss_en))
  done
  t_run=$(median "${runs[@]}") run_seconds=$(median "${ins[@]}") t_mm=$(median "${mms[@]}") t_en=$(median "${ens[@]}")
  peer="null"
  if [ "$peer_ready" = 1 ]; then
    /usr/bin/python3 -c 'import numpy as np,sys; np.save(sys.argv[2], np.load(sys.argv[1], mmap_mode="r")[:int(sys.argv[3])])' "$CORPUS/$data" "$TMP/calib.npy" "$n"
    # The peer writes scratch files into its working folder: run it in the temp folder.
    if read -r t_peer rss_peer < <(cd "$TMP" && measure env OMP_NUM_THREADS="$THREADS" "$PEER/trixie-python" "$PEER/ort_quantize.py" static "$CORPUS/$model" "$TMP/peer.onnx" --calib "$TMP/calib.npy"); then
      peer="{\"seconds\": $t_peer, \"peak_rss_bytes\": $rss_peer}"
    fi
  fi
  [ $first = 1 ] || echo ","
  first=0
  cat <<JSON
  {"case": "$name", "model": "$model", "samples": $n,
   "plain_inference": {"seconds_in_ort": $run_seconds, "process_seconds": $t_run, "peak_rss_bytes": $rss_run},
   "calibrate_minmax": {"seconds": $t_mm, "peak_rss_bytes": $rss_mm, "ratio_to_inference": $(awk -v a="$t_mm" -v b="$t_run" 'BEGIN{printf "%.3f", a/b}')},
   "calibrate_entropy": {"seconds": $t_en, "peak_rss_bytes": $rss_en, "ratio_to_inference": $(awk -v a="$t_en" -v b="$t_run" 'BEGIN{printf "%.3f", a/b}')},
   "ort_quantize_static_minmax": $peer}
JSON
done
echo "]}"
