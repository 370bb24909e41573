#include "cli/quantize_modes.h"

#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "core/errors.h"
#include "pipeline/dynamic_job.h"
#include "pipeline/weight_only_job.h"

namespace onnxquant::cli {

namespace {

int64_t parse_gptq_stages(const std::string& text) {
  if (text == "auto") return kGptqStagesAuto;
  size_t used = 0;
  int64_t n = -1;
  try {
    n = std::stoll(text, &used);
  } catch (const std::exception&) {
  }
  if (used != text.size() || n < 0) throw UsageError(fmt::format("--gptq-stages '{}': expected auto or a count >= 0 (0: one stage per layer)", text));
  return n;
}

std::map<std::string, int> parse_bits_for(const std::vector<std::string>& items) {
  std::map<std::string, int> out;
  for (const auto& item : items) {
    const auto eq = item.rfind('=');
    int bits = 0;
    if (eq == std::string::npos || eq == 0 || (item.substr(eq + 1) != "4" && item.substr(eq + 1) != "8"))
      throw UsageError(fmt::format("--bits-for '{}': expected NAME=4 or NAME=8", item));
    bits = item.substr(eq + 1) == "4" ? 4 : 8;
    out[item.substr(0, eq)] = bits;
  }
  return out;
}

void print_weight_plan(const WeightOnlyPlan& plan) {
  Table t({{"weight"}, {"consumer"}, {"op"}, {"shape"}, {"decision"}});
  for (const auto& w : plan.weights) t.add_row({w.tensor, w.consumer, w.op_type, shape_string(w.shape), w.reason});
  std::cout << t.render();
}

int run_weights_only(const QuantizeModeOptions& o, const SharedQuantizeOptions& s, const GlobalOptions& global) {
  WeightOnlyRequest req;
  req.model = s.model;
  req.output = s.output;
  req.plan = o.weights;
  req.plan.scheme = o.asymmetric ? WeightScheme::Asymmetric : WeightScheme::Symmetric;
  req.plan.per_tensor = s.per_tensor;
  req.plan.exclude = s.exclude;
  req.plan.bits_for = parse_bits_for(o.bits_for);
  if (s.per_tensor && o.weights.bits == 4) throw UsageError("--per-tensor applies to 8-bit weights; 4-bit weights use --block-size");
  req.inputs = s.inputs;
  req.rounding = o.rounding == "nearest" ? WeightRounding::Nearest : o.rounding == "hqq" ? WeightRounding::Hqq : WeightRounding::Auto;
  req.hessian.max_rows_per_sample = o.gptq_rows;
  req.hessian.stages = parse_gptq_stages(o.gptq_stages);
  req.mode = s.dry_run ? QuantizeMode::DryRun : QuantizeMode::Write;
  req.plan_out = s.plan_out;
  req.exec = s.exec;
  if (global.format == OutputFormat::Json || global.quiet) req.progress = ProgressMode::Off;
  const WeightOnlyResult r = quantize_model_weights_only(req);
  if (global.format == OutputFormat::Json) {
    print_json(std::cout, to_json(r));
    return 0;
  }
  if (r.mode == QuantizeMode::DryRun || global.verbose > 0) print_weight_plan(r.plan);
  std::cout << fmt::format("plan: {} of {} weights quantized (weight-only, {}-bit{})\n", r.plan.quantized_count(), r.plan.weights.size(),
                           r.plan.options.bits, r.plan.options.bits == 4 ? fmt::format(", block {}", r.plan.options.block_size) : "");
  if (!r.plan_out.empty()) std::cout << fmt::format("  plan written to {}\n", r.plan_out);
  if (!r.written) return 0;
  if (r.rounding == "gptq") {
    std::cout << fmt::format("  rounding  GPTQ on {} weights from {} calibration samples ({} stage(s), {} round(s) of statistics); {} of {} scales moved off min/max\n",
                             r.gptq.weights, r.gptq.samples, r.gptq.stages, r.gptq.rounds, r.gptq.rescaled_units, r.gptq.scale_units);
    if (r.stage_choice.tried)
      std::cout << fmt::format("            stages: {} kept (1 - cosine on the calibration samples: {:.3g} per layer, {:.3g} in one stage)\n",
                               r.stage_choice.kept == "per_layer" ? "one per layer" : "one", 1 - r.stage_choice.per_layer_cosine,
                               1 - r.stage_choice.one_stage_cosine);
    else if (!r.stage_choice.why_not_tried.empty())
      std::cout << fmt::format("            stages: {}\n", r.stage_choice.why_not_tried);
    if (r.gptq.stages > 1)
      std::cout << fmt::format("            {} weights compensate the error of the layers before them, {} biases corrected\n", r.gptq.compensated,
                               r.gptq.corrected_biases);
  } else if (r.rounding == "hqq") {
    std::cout << fmt::format("  rounding  HQQ on {} weights: {} of {} groups refitted, mean |error| {:.3g} (round-to-nearest {:.3g})\n", r.hqq.weights,
                             r.hqq.improved_groups, r.hqq.groups, r.hqq.hqq_mean_abs_error, r.hqq.rtn_mean_abs_error);
  } else {
    std::cout << "  rounding  round-to-nearest (give calibration data with -i for GPTQ, or --rounding hqq)\n";
  }
  for (const auto& n : r.notes) std::cout << "  note: " << n << "\n";
  std::cout << fmt::format("  checker   {}\n", r.checker);
  std::cout << fmt::format("verified in ONNX Runtime: cosine {:.6f} vs FP32 on {} (opset {})\n", r.first_sample.cosine,
                           verification_sample_text(!s.inputs.files.empty()), r.opset);
  std::cout << fmt::format("  wrote {} ({} -> {}, {})\n", r.output, human_bytes(r.input_bytes), human_bytes(r.output_bytes),
                           ratio_text(static_cast<double>(r.output_bytes) / r.input_bytes));
  return 0;
}

int run_dynamic(const QuantizeModeOptions& o, const SharedQuantizeOptions& s, const GlobalOptions& global) {
  if (o.rounding == "hqq") throw UsageError("--rounding hqq applies to --weights-only (dynamic INT8 rounds its weights to nearest)");
  DynamicRequest req;
  req.model = s.model;
  req.output = s.output;
  if (s.per_tensor && o.dynamic_per_channel) throw UsageError("--per-tensor and --per-channel contradict each other");
  req.plan.per_channel = o.dynamic_per_channel;
  req.plan.exclude = s.exclude;
  req.plan.min_elements = o.weights.min_elements;
  req.inputs = s.inputs;
  req.mode = s.dry_run ? QuantizeMode::DryRun : QuantizeMode::Write;
  req.plan_out = s.plan_out;
  req.exec = s.exec;
  const DynamicResult r = quantize_model_dynamic(req);
  if (global.format == OutputFormat::Json) {
    print_json(std::cout, to_json(r));
    return 0;
  }
  if (r.mode == QuantizeMode::DryRun || global.verbose > 0) {
    Table t({{"node"}, {"op"}, {"decision"}});
    for (const auto& d : r.plan.nodes) t.add_row({d.node.empty() ? d.output : d.node, d.op_type, d.reason});
    std::cout << t.render();
  }
  std::cout << fmt::format("plan: {} of {} MatMul/Gemm nodes quantized dynamically (int8 weights, uint8 activations at run time)\n",
                           r.plan.quantized_count(), r.plan.nodes.size());
  if (!r.plan_out.empty()) std::cout << fmt::format("  plan written to {}\n", r.plan_out);
  if (!r.written) return 0;
  for (const auto& n : r.notes) std::cout << "  note: " << n << "\n";
  std::cout << fmt::format("verified in ONNX Runtime {}: cosine {:.6f} vs FP32 on {}; {} DynamicQuantizeMatMul kernels\n", r.runtime_version,
                           r.first_sample.cosine, verification_sample_text(!s.inputs.files.empty()), r.fused);
  std::cout << fmt::format("  wrote {} ({} -> {}, {})\n", r.output, human_bytes(r.input_bytes), human_bytes(r.output_bytes),
                           ratio_text(static_cast<double>(r.output_bytes) / r.input_bytes));
  return 0;
}

}  // namespace

void add_quantize_mode_options(CLI::App* cmd, QuantizeModeOptions& o) {
  cmd->add_flag("--weights-only", o.weights_only, "Weight-only: int8/int4 weights dequantized in front of their op; compute stays float");
  cmd->add_flag("--dynamic", o.dynamic, "Dynamic INT8 for MatMul/Gemm: int8 weights, activations quantized at run time (DynamicQuantizeMatMul)");
  auto* g = "Weight-only / dynamic";
  cmd->add_option("--bits", o.weights.bits, "Weight-only: 8 or 4 bits")->check(CLI::IsMember({8, 4}))->group(g);
  cmd->add_option("--block-size", o.weights.block_size, "Weight-only 4-bit: values per scale along the input axis (32, 64, 128)")
      ->check(CLI::IsMember({32, 64, 128}))
      ->group(g);
  cmd->add_flag("--asymmetric", o.asymmetric, "Weight-only: asymmetric grids (a zero point per scale) instead of symmetric")->group(g);
  cmd->add_flag("--per-channel", o.dynamic_per_channel, "Dynamic: one weight scale per output column (default: per tensor, ORT's fast path)")->group(g);
  cmd->add_option("--min-elements", o.weights.min_elements, "Weights with fewer elements stay float (default 1024)")->group(g);
  cmd->add_option("--bits-for", o.bits_for, "Weight-only: NAME=4|8 for one weight or node (repeatable; wins over --bits)")->group(g);
  cmd->add_flag("--matmul-nbits", o.weights.matmul_nbits, "Weight-only 4-bit: MatMul weights as ORT's com.microsoft MatMulNBits")->group(g);
  cmd->add_option("--accuracy-level", o.weights.accuracy_level,
                  "MatMulNBits accuracy_level: 0 unset, 1 fp32, 2 fp16, 3 bf16, 4 int8 compute (default 4, ORT's fast path)")
      ->check(CLI::Range(0, 4))
      ->group(g);
  cmd->add_option("--rounding", o.rounding,
                  "Weight-only and static INT8: auto (GPTQ when -i gives calibration data) or nearest; weight-only also hqq (data-free, "
                  "each group's scale and zero point fitted under an lp norm, as ORT's HQQ quantizer)")
      ->check(CLI::IsMember({"auto", "nearest", "hqq"}))
      ->group(g);
  cmd->add_option("--gptq-rows", o.gptq_rows, "GPTQ: input rows per sample and layer used for statistics (default 256)")
      ->check(CLI::PositiveNumber)
      ->group(g);
  cmd->add_option("--gptq-stages", o.gptq_stages,
                  "Weight-only GPTQ: stages along the graph, each rounded against the model quantized by the ones before "
                  "(1: all from FP32 statistics; 0: one per layer; default auto: both on models up to 64 MiB, keeping the one "
                  "closer to FP32 on the calibration samples, else 1)")
      ->group(g);
}

int run_quantize_mode(const QuantizeModeOptions& o, const SharedQuantizeOptions& s, const GlobalOptions& global) {
  if (!s.dry_run && s.output.empty()) throw UsageError("quantize: -o/--output is required (or use --dry-run)");
  return o.weights_only ? run_weights_only(o, s, global) : run_dynamic(o, s, global);
}

}  // namespace onnxquant::cli
