#!/usr/bin/env bash
# Static INT8 on the corpus, side by side with ONNX Runtime's own quantizer (issue 7's table).
#
#   bench/static_int8.sh BUILD_DIR [OUT_DIR] [-- EXTRA QUANTIZE OPTIONS...]
#
# For each model: calibrate on the calib split (timed; MSE ranges, quantize's default), quantize from the
# ranges file with the calibration data (timed; GPTQ rounding and bias correction, the defaults with data),
# then ours against the peer's model head to head (same validate run, alternating), and, when
# ../shared/peer is set up, ORT's quantize_static (1.21: QDQ, MinMax, per-tensor, same calibration
# samples; Paddle's opset-11 detector is converted to opset 13 first, as a user would). Each INT8 model is
# validated against FP32 on the EVAL split with `onnxquant validate`: fidelity over every eval sample,
# latency on ORT 1.30 with 1 thread, FP32 and INT8 run alternately so that machine noise hits both alike.
# For the detector, the text-mask IoU (probability > 0.3) of INT8 vs FP32 over the eval images is added.
# Prints one JSON document on stdout and a markdown table on stderr; keeps the models in OUT_DIR.
set -euo pipefail
BUILD=${1:?usage: static_int8.sh BUILD_DIR [OUT_DIR] [-- QUANTIZE OPTIONS...]}
shift
OUT=${1:-}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
EXTRA=("$@")
BIN=$BUILD/src/onnxquant
CORPUS=${ONNXQ_CORPUS:-$HOME/.cache/onnxquant-corpus}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEER=$ROOT/../shared/peer
PY=/usr/bin/python3
RUNS=${RUNS:-50}
NAME=static_int8.sh
source "$ROOT/bench/common.sh"
require_corpus_and_binary
prepare_out

peer_ready=0
if [ -x "$PEER/setup-trixie-peer.sh" ] && "$PEER/setup-trixie-peer.sh" >/dev/null 2>&1; then peer_ready=1; fi

# Text-mask IoU of two folders of saved detector outputs (onnxquant run --save-outputs).
mask_iou() {
  "$PY" - "$1" "$2" <<'EOF'
import glob, os, sys
import numpy as np
a_files = sorted(glob.glob(os.path.join(sys.argv[1], "*.npy")))
inter = union = 0
for f in a_files:
    a = np.load(f) > 0.3
    b = np.load(os.path.join(sys.argv[2], os.path.basename(f))) > 0.3
    inter += np.logical_and(a, b).sum()
    union += np.logical_or(a, b).sum()
print(f"{inter / union:.4f}" if union else "1.0")
EOF
}

cases=(
  "resnet50|torch/resnet50.onnx|data/imagenet224/calib.npy|data/imagenet224/eval.npy|100"
  "mobilenet_v2|torch/mobilenet_v2.onnx|data/imagenet224/calib.npy|data/imagenet224/eval.npy|100"
  "squeezenet1_1|torch/squeezenet1_1.onnx|data/imagenet224/calib.npy|data/imagenet224/eval.npy|100"
  "efficientnet_b0|torch/efficientnet_b0.onnx|data/imagenet224/calib.npy|data/imagenet224/eval.npy|100"
  "ppocr_det|npm/ocr/ch_PP-OCRv4_det_infer.onnx|data/ocr/det_calib.npy|data/ocr/det_eval.npy|20"
)
[ -n "${ONLY:-}" ] && { keep=(); for c in "${cases[@]}"; do [[ "$c" == "$ONLY|"* ]] && keep+=("$c"); done; cases=("${keep[@]}"); }

mkdir -p "$OUT/rows"
for c in "${cases[@]}"; do
  IFS='|' read -r name model calib eval n <<< "$c"
  echo "bench: $name" >&2
  fp32=$CORPUS/$model
  d=$OUT/$name
  mkdir -p "$d"
  # The ranges quantize computes by default when it calibrates itself (-m mse), kept in a file so that the
  # quantization time below is measured alone. METHOD=minmax compares on the peer's method.
  t_cal=$(seconds_of "$d/calibrate.json" "$BIN" calibrate "$fp32" -i "$CORPUS/$calib" -n "$n" -m "${METHOD:-mse}" -o "$d/ranges.json" --format json)
  # The same calibration data as well, as a user gives it: with data, quantize rounds weights by GPTQ and
  # corrects biases (its defaults); the ranges come from the file.
  t_q=$(seconds_of "$d/quantize.json" "$BIN" quantize "$fp32" --static-int8 --ranges "$d/ranges.json" -i "$CORPUS/$calib" -n "$n" -o "$d/onnxquant.onnx" --format json "${EXTRA[@]}")
  "$BIN" validate "$fp32" "$d/onnxquant.onnx" -i "$CORPUS/$eval" --threads 1 --timed "$RUNS" --format json > "$d/validate_onnxquant.json"
  peer_json=null
  if [ "$peer_ready" = 1 ]; then
    "$PY" -c 'import numpy as np,sys; np.save(sys.argv[2], np.load(sys.argv[1], mmap_mode="r")[:int(sys.argv[3])])' "$CORPUS/$calib" "$d/calib.npy" "$n"
    opset=()
    [ "$name" = ppocr_det ] && opset=(--opset13)
    # The peer writes scratch files into its working folder.
    if (cd "$d" && "$PEER/trixie-python" "$PEER/ort_quantize.py" static "$fp32" "$d/peer.onnx" --calib "$d/calib.npy" "${opset[@]}" > "$d/peer_quantize.json" 2> "$d/peer_quantize.err"); then
      "$BIN" validate "$fp32" "$d/peer.onnx" -i "$CORPUS/$eval" --threads 1 --timed "$RUNS" --format json > "$d/validate_peer.json"
      peer_json=$d/validate_peer.json
      # Head to head: the peer's model as the reference, ours as the candidate, run alternately.
      "$BIN" validate "$d/peer.onnx" "$d/onnxquant.onnx" -i "$CORPUS/$eval" --threads 1 --timed "$RUNS" --format json > "$d/validate_vs_peer.json"
    else
      echo "bench: the peer failed on $name (see $d/peer_quantize.err)" >&2
    fi
  fi
  iou_ours=null iou_peer=null
  if [ "$name" = ppocr_det ]; then
    for m in fp32:"$fp32" onnxquant:"$d/onnxquant.onnx" peer:"$d/peer.onnx"; do
      tag=${m%%:*} file=${m#*:}
      [ -f "$file" ] && "$BIN" run "$file" -i "$CORPUS/$eval" --save-outputs "$d/out_$tag" --format json > /dev/null
    done
    iou_ours=$(mask_iou "$d/out_fp32" "$d/out_onnxquant")
    [ -d "$d/out_peer" ] && iou_peer=$(mask_iou "$d/out_fp32" "$d/out_peer")
  fi
  "$PY" - "$name" "$d" "$t_cal" "$t_q" "$peer_json" "$iou_ours" "$iou_peer" <<'EOF'
import json, sys
name, d, t_cal, t_q, peer, iou_ours, iou_peer = sys.argv[1:]
def summary(path, iou):
    v = json.load(open(path))
    out = v["outputs"][0]
    lat = v["latency"]
    conv = v["fusion"]["by_op"].get("Conv", {})
    return {"cosine_mean": out["cosine_mean"], "sqnr_db": out["sqnr_db"],
            "top1_agreement": (out.get("classes") or {}).get("top1_agreement"),
            "mask_iou": None if iou == "null" else float(iou),
            "fp32_ms": lat["reference_ms"]["median"], "int8_ms": lat["candidate_ms"]["median"],
            "speedup": lat["speedup"], "speedup_ci95": lat["speedup_ci95"],
            "size_ratio": v["size"]["ratio"], "convs_fused": conv.get("fused"), "convs_quantized": conv.get("quantized"),
            "qdq_at_runtime": v["fusion"]["qdq"], "samples": v["samples"]}
row = {"model": name, "calibrate_seconds": float(t_cal), "quantize_seconds": float(t_q),
       "onnxquant": summary(f"{d}/validate_onnxquant.json", iou_ours),
       "peer": None if peer == "null" else summary(peer, iou_peer)}
if peer != "null":
    lat = json.load(open(f"{d}/validate_vs_peer.json"))["latency"]
    row["speedup_vs_peer"] = {"peer_ms": lat["reference_ms"]["median"], "onnxquant_ms": lat["candidate_ms"]["median"],
                              "speedup": lat["speedup"], "speedup_ci95": lat["speedup_ci95"]}
json.dump(row, open(f"{d}/../rows/{name}.json", "w"), indent=1)
EOF
done

"$PY" - "$OUT/rows" "$("$BIN" --version | head -1)" "$RUNS" "${EXTRA[*]:-}" "${cases[@]}" <<'EOF'
import json, sys
rows_dir, version, runs, options, *cases = sys.argv[1:]
rows = [json.load(open(f"{rows_dir}/{c.split('|')[0]}.json")) for c in cases]
print(json.dumps({"onnxquant": version, "threads": 1, "timed_runs": int(runs), "quantize_options": options, "models": rows}, indent=1))
def cell(s):
    if s is None:
        return "| – | – | – | – |"
    fid = f"IoU {s['mask_iou']:.3f}" if s["mask_iou"] is not None else (f"{100 * s['top1_agreement']:.0f}%" if s["top1_agreement"] is not None else "–")
    return f"| {s['speedup']:.2f}× ({s['fp32_ms']:.1f} → {s['int8_ms']:.1f} ms) | {s['cosine_mean']:.4f} | {s['sqnr_db']:.1f} | {fid} |"
print("| model | onnxquant speedup | cosine | SQNR dB | top-1 / mask IoU | ORT quantizer speedup | cosine | SQNR dB | top-1 / mask IoU | ours vs ORT's (head to head) | Convs fused (ours) |", file=sys.stderr)
print("|---|---|---|---|---|---|---|---|---|---|---|", file=sys.stderr)
for r in rows:
    o = r["onnxquant"]
    h = r.get("speedup_vs_peer")
    vs = f"{h['speedup']:.2f}× ({h['peer_ms']:.1f} → {h['onnxquant_ms']:.1f} ms)" if h else "–"
    print(f"| {r['model']} {cell(o)}{cell(r['peer'])[1:]} {vs} | {o['convs_fused']}/{o['convs_quantized']} |", file=sys.stderr)
EOF
