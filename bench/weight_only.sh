#!/usr/bin/env bash
# Weight-only quantization on the corpus (issue 8's table): round-to-nearest against GPTQ.
#
#   [ONLY=model] [MODES="int8 int4_b32 ..."] [RUNS=30] bench/weight_only.sh BUILD_DIR [OUT_DIR]
#
# For each CNN (resnet50, mobilenet_v2, efficientnet_b0, squeezenet1_1): INT8 per-channel, and INT4
# written natively (opset 21) with blocks of 32, 64 and 128; for the corpus transformer encoder: INT4
# native and as ORT's MatMulNBits (--matmul-nbits), blocks 32, 64 and 128. Every case is quantized twice
# with default options: round-to-nearest (no data) and GPTQ in one stage (-i on the calib split, quantize's
# default sample count, --gptq-stages 1), each timed; INT8 on the CNNs also with --gptq-stages 0 (stage by
# stage, "staged") and with quantize's default --gptq-stages auto ("auto": which of the two it kept).
# Every int4 case also data-free on ORT's HQQ grid (asymmetric): round-to-nearest ("rtn_asym") against
# --rounding hqq ("hqq"). Every result is checked with `onnxquant validate` against FP32 on the EVAL
# split (never used for calibration): ORT loads and runs it, cosine and SQNR over every eval sample. The
# GPTQ/RTN ratio of 1 - cosine says how much of round-to-nearest's loss GPTQ leaves. For the transformer
# the latency of FP32 and the quantized model is measured too, in the same validate run (1 thread,
# RUNS timed runs each, FP32 and quantized alternating so that machine noise hits both alike): the
# DequantizeLinear models compute in float (ORT dequantizes the weights on every run), MatMulNBits
# computes from the 4-bit weights.
# Prints one JSON document on stdout and a markdown table on stderr; keeps the models in OUT_DIR.
set -euo pipefail
BUILD=${1:?usage: weight_only.sh BUILD_DIR [OUT_DIR]}
OUT=${2:-}
BIN=$BUILD/src/onnxquant
CORPUS=${ONNXQ_CORPUS:-$HOME/.cache/onnxquant-corpus}
PY=/usr/bin/python3
RUNS=${RUNS:-30}
NAME=weight_only.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_corpus_and_binary
prepare_out
mkdir -p "$OUT/rows"

images="data/imagenet224/calib.npy|data/imagenet224/eval.npy"
speech="data/audio/transformer/calib.npy|data/audio/transformer/eval.npy"
# name|model|calib|eval|timed runs|case:quantize options;...
cases=(
  "resnet50|torch/resnet50.onnx|$images|0"
  "mobilenet_v2|torch/mobilenet_v2.onnx|$images|0"
  "efficientnet_b0|torch/efficientnet_b0.onnx|$images|0"
  "squeezenet1_1|torch/squeezenet1_1.onnx|$images|0"
  "transformer|torch/transformer_encoder_d256_l4.onnx|$speech|$RUNS"
)
cnn_modes="int8:--bits 8;int4_b32:--bits 4 --block-size 32;int4_b64:--bits 4 --block-size 64;int4_b128:--bits 4 --block-size 128"
transformer_modes="int4_b32:--bits 4 --block-size 32;int4_b64:--bits 4 --block-size 64;int4_b128:--bits 4 --block-size 128"
transformer_modes+=";nbits_b32:--bits 4 --block-size 32 --matmul-nbits;nbits_b64:--bits 4 --block-size 64 --matmul-nbits"
transformer_modes+=";nbits_b128:--bits 4 --block-size 128 --matmul-nbits"
[ -n "${ONLY:-}" ] && { keep=(); for c in "${cases[@]}"; do [[ "$c" == "$ONLY|"* ]] && keep+=("$c"); done; cases=("${keep[@]}"); }

for c in "${cases[@]}"; do
  IFS='|' read -r name model calib eval timed <<< "$c"
  fp32=$CORPUS/$model
  modes=$cnn_modes
  [ "$name" = transformer ] && modes=$transformer_modes
  IFS=';' read -r -a mode_list <<< "$modes"
  for m in "${mode_list[@]}"; do
    mode=${m%%:*}
    read -r -a opts <<< "${m#*:}"
    [ -n "${MODES:-}" ] && [[ " $MODES " != *" $mode "* ]] && continue
    roundings=(rtn gptq)
    [ "$mode" = int8 ] && roundings+=(staged auto)
    [ "$mode" != int8 ] && roundings+=(rtn_asym hqq)
    for rounding in "${roundings[@]}"; do
      echo "bench: $name $mode $rounding" >&2
      d=$OUT/$name/$mode/$rounding
      mkdir -p "$d"
      data=()
      [ "$rounding" = gptq ] && data=(-i "$CORPUS/$calib" --gptq-stages 1)
      [ "$rounding" = staged ] && data=(-i "$CORPUS/$calib" --gptq-stages 0)
      [ "$rounding" = auto ] && data=(-i "$CORPUS/$calib")
      [ "$rounding" = rtn_asym ] && data=(--asymmetric)
      [ "$rounding" = hqq ] && data=(--asymmetric --rounding hqq)
      t_q=$(seconds_of "$d/quantize.json" "$BIN" quantize "$fp32" --weights-only "${opts[@]}" "${data[@]}" -o "$d/model.onnx" --format json)
      "$BIN" validate "$fp32" "$d/model.onnx" -i "$CORPUS/$eval" --threads 1 --timed "$timed" --format json > "$d/validate.json"
      "$PY" - "$name" "$mode" "$rounding" "$d" "$t_q" "${m#*:}" > "$OUT/rows/$name.$mode.$rounding.json" <<'EOF'
import json, sys
name, mode, rounding, d, t_q, options = sys.argv[1:]
q = json.load(open(f"{d}/quantize.json"))
v = json.load(open(f"{d}/validate.json"))
out = v["outputs"][0]
lat = v.get("latency")
row = {"model": name, "mode": mode, "rounding": rounding, "options": options, "quantize_seconds": float(t_q),
       "size_ratio": v["size"]["ratio"], "cosine_mean": out["cosine_mean"], "sqnr_db": out["sqnr_db"], "samples": v["samples"],
       "opset": q["opset"], "ort_ran": True, "gptq": q.get("gptq"),
       "formats": sorted({w["format"] for w in q["plan"]["weights"] if w.get("quantized")})}
if lat:
    row["latency"] = {"fp32_ms": lat["reference_ms"]["median"], "quantized_ms": lat["candidate_ms"]["median"],
                      "speedup": lat["speedup"], "speedup_ci95": lat["speedup_ci95"]}
print(json.dumps(row))
EOF
    done
  done
done

"$PY" - "$OUT/rows" "$("$BIN" --version | head -1)" "$RUNS" <<'EOF'
import glob, json, sys
rows_dir, version, runs = sys.argv[1:]
rows = [json.load(open(f)) for f in sorted(glob.glob(f"{rows_dir}/*.json"))]
order = {"resnet50": 0, "mobilenet_v2": 1, "efficientnet_b0": 2, "squeezenet1_1": 3, "transformer": 4}
modes = ["int8", "int4_b32", "int4_b64", "int4_b128", "nbits_b32", "nbits_b64", "nbits_b128"]
rows.sort(key=lambda r: (order.get(r["model"], 9), modes.index(r["mode"]) if r["mode"] in modes else 9, r["rounding"]))
pairs = {}
for r in rows:
    pairs.setdefault((r["model"], r["mode"]), {})[r["rounding"]] = r
for (model, mode), p in pairs.items():
    for k in ("gptq", "staged", "auto"):
        if "rtn" in p and k in p:
            p[k]["loss_ratio_vs_rtn"] = (1 - p[k]["cosine_mean"]) / max(1 - p["rtn"]["cosine_mean"], 1e-12)
    if "rtn_asym" in p and "hqq" in p:
        p["hqq"]["loss_ratio_vs_rtn"] = (1 - p["hqq"]["cosine_mean"]) / max(1 - p["rtn_asym"]["cosine_mean"], 1e-12)
print(json.dumps({"onnxquant": version, "threads": 1, "timed_runs": int(runs), "rows": rows}, indent=1))
label = {"int8": "int8 per-channel", "int4_b32": "int4 block 32", "int4_b64": "int4 block 64", "int4_b128": "int4 block 128",
         "nbits_b32": "MatMulNBits block 32", "nbits_b64": "MatMulNBits block 64", "nbits_b128": "MatMulNBits block 128"}
err = sys.stderr
print("| model | weights | size | RTN cosine / SQNR dB | GPTQ cosine / SQNR dB | 1−cos GPTQ/RTN | GPTQ s | stage by stage: cosine, 1−cos ratio, s | default (auto): kept, 1−cos ratio, s | asymmetric RTN → HQQ cosine / SQNR dB, 1−cos ratio | latency FP32 → RTN / GPTQ ms |", file=err)
print("|---|---|---|---|---|---|---|---|---|---|---|", file=err)
def ratio(r):
    if not r or "loss_ratio_vs_rtn" not in r:
        return "–"
    x = r["loss_ratio_vs_rtn"]
    return f"{x:.2f}×" if x >= 0.1 else f"{x:.3f}×"
for (model, mode), p in pairs.items():
    rtn, gptq, staged, auto = p.get("rtn"), p.get("gptq"), p.get("staged"), p.get("auto")
    base = rtn or gptq
    cell = lambda r: f"{r['cosine_mean']:.5f} / {r['sqnr_db']:.1f}" if r else "–"
    lat = "–"
    if base.get("latency"):
        lat = f"{base['latency']['fp32_ms']:.1f} → " + " / ".join(f"{r['latency']['quantized_ms']:.1f}" if r and r.get("latency") else "–" for r in (rtn, gptq))
    t = f"{gptq['quantize_seconds']:.0f}" if gptq else "–"
    st = f"{staged['cosine_mean']:.5f}, {ratio(staged)}, {staged['quantize_seconds']:.0f}" if staged else "–"
    au = "–"
    if auto:
        choice = (auto.get("gptq") or {}).get("stage_choice") or {}
        kept = {"per_layer": "per layer", "one_stage": "one stage"}.get(choice.get("kept"), "one stage (size)")
        au = f"{kept}, {ratio(auto)}, {auto['quantize_seconds']:.0f}"
    hq = "–"
    if p.get("rtn_asym") and p.get("hqq"):
        hq = f"{cell(p['rtn_asym'])} → {cell(p['hqq'])}, {ratio(p['hqq'])}"
    print(f"| {model} | {label.get(mode, mode)} | {base['size_ratio']:.3f}× | {cell(rtn)} | {cell(gptq)} | {ratio(gptq)} | {t} | {st} | {au} | {hq} | {lat} |", file=err)
EOF
