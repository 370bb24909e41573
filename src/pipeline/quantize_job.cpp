#include "pipeline/quantize_job.h"

#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "calib/clip_to_consumers.h"
#include "calib/ranges_file.h"
#include "pipeline/validate_job.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/sha256.h"
#include "core/temp_dir.h"
#include "pipeline/bias_correction.h"
#include "pipeline/calibrate_job.h"
#include "pipeline/static_weight_rounding.h"
#include "pipeline/verify_rewrite.h"
#include "rewrite/div_by_constant_to_mul.h"
#include "rewrite/equalize_cross_layer.h"
#include "rewrite/expose_tensors.h"
#include "rewrite/extract_constants.h"
#include "rewrite/hard_sigmoid_to_clip.h"
#include "rewrite/insert_qdq.h"
#include "rewrite/quantize_weights.h"
#include "rewrite/remove_dead_nodes.h"
#include "rewrite/use_rounded_weights.h"
#include "rewrite/upgrade_opset.h"

namespace onnxquant {

namespace {

// Per-channel DequantizeLinear (with `axis`) exists from opset 13.
constexpr int64_t kMinOpset = 13;


// `calibrated_model`: the file calibration runs on (the float model as it will be quantized, which
// differs from the input file after cross-layer equalization).
std::map<std::string, Range> obtain_ranges(const QuantizeRequest& req, const std::filesystem::path& calibrated_model, QuantizeResult& r) {
  if (!req.ranges_file.empty()) {
    const RangesFile file = load_ranges(req.ranges_file);
    check_ranges_match_model(file, sha256_file_hex(req.model), req.model);
    if (file.method.target != req.plan.activations)
      r.notes.push_back(fmt::format("the ranges file was selected for {} and is used for {} activations", target_name(file.method.target),
                                    target_name(req.plan.activations)));
    r.ranges_source = req.ranges_file.string();
    r.calibration_samples = static_cast<int64_t>(file.samples);
    return file.ranges();
  }
  CalibrateRequest c;
  c.model = calibrated_model;
  c.inputs = req.inputs;
  c.range = req.range;
  c.range.target = req.plan.activations;
  c.exec = req.exec;
  c.progress = req.progress;
  const CalibrateResult cal = calibrate_model(c);
  r.ranges_source = "calibrated";
  r.calibration_samples = cal.samples;
  return cal.ranges.ranges();
}

// Weights as initializers (Paddle exports keep them in Constant nodes) and opset >= 13, so that the float
// rewrites below see every weight and quantize_static's own preparation has nothing left to do.
Model prepare_float_model(Model m, QuantizeResult& r) {
  r.passes.push_back(ExtractConstants().run(m));
  r.passes.push_back(UpgradeOpset(kMinOpset).run(m));
  return m;
}

// Per-channel max |value| (axis 1) of each link tensor of the equalizable pairs, over the first samples
// of the calibration data, in the float model: what activation-aware equalization balances.
std::map<std::string, std::vector<double>> measure_link_ranges(const QuantizeRequest& req, const Model& fp32) {
  const std::vector<std::string> links = equalizable_links(fp32);
  if (links.empty()) return {};
  Model probe = fp32.clone();
  ExposeTensors(links).run(probe);
  Executor e(probe, req.exec);
  InputOptions data = req.inputs;
  data.max_samples = req.inputs.max_samples > 0 ? std::min(req.inputs.max_samples, req.accuracy.equalize_samples) : req.accuracy.equalize_samples;
  std::map<std::string, std::vector<double>> ranges;
  for (const auto& sample : load_model_inputs(e.inputs(), data)) {
    const NamedTensors out = e.run(sample, links);
    for (const auto& [name, t] : out) {
      if (t.shape.size() < 2) continue;
      const int64_t n = t.shape[0], c = t.shape[1], inner = t.elements() / std::max<int64_t>(1, n * c);
      auto& r = ranges[name];
      r.resize(static_cast<size_t>(c), 0.0);
      const auto v = t.as<float>();
      for (int64_t i = 0; i < t.elements(); ++i) {
        const auto ch = static_cast<size_t>((i / inner) % c);
        r[ch] = std::max(r[ch], std::fabs(static_cast<double>(v[i])));
      }
    }
  }
  return ranges;
}

// Cross-layer equalization changes activations between the pairs, so a ranges file measured on the input
// model does not fit the equalized one: equalize only when calibrating here.
void equalize(const QuantizeRequest& req, Model& fp32, QuantizeResult& r) {
  if (!req.accuracy.equalize) return;
  if (!req.ranges_file.empty()) {
    r.notes.push_back("cross-layer equalization skipped: it needs calibration on the equalized model (-i DATA), not a --ranges file");
    return;
  }
  EqualizeOptions o;
  if (!req.inputs.files.empty()) o.link_ranges = measure_link_ranges(req, fp32);
  PassReport p = EqualizeCrossLayer(o).run(fp32);
  r.equalized = p.changes > 0;
  r.passes.push_back(std::move(p));
}

// GPTQ on the plan's own grid, from the FP32 inputs of each layer (pipeline/static_weight_rounding.h).
RoundedWeights round_weights(const QuantizeRequest& req, const Model& fp32, const std::map<std::string, Range>& ranges, QuantizeResult& r) {
  if (req.accuracy.rounding != StaticWeightRounding::Auto || req.inputs.files.empty()) return {};
  InputOptions data = req.inputs;
  data.max_samples = req.inputs.max_samples > 0 ? std::min(req.inputs.max_samples, req.accuracy.rounding_samples) : req.accuracy.rounding_samples;
  const std::vector<NamedTensors> samples = load_model_inputs(Executor(fp32, req.exec).inputs(), data);
  HessianOptions h;
  h.max_rows_per_sample = req.accuracy.rounding_rows_per_sample;
  h.exec = req.exec;
  h.progress = req.progress;
  StaticRoundingReport report;
  RoundedWeights rounded = round_static_weights(fp32, quantize_static(fp32, ranges, req.plan).plan, samples, h, report);
  r.rounding = rounded.empty() ? "nearest" : "gptq";
  r.rounded_weights = report.weights;
  r.rounding_samples = report.samples;
  PassReport p{"gptq_weight_rounding", report.weights, {}};
  p.notes.push_back(fmt::format("{} weight(s) rounded by GPTQ on {} calibration samples", report.weights, report.samples));
  for (const auto& s : report.skipped) p.notes.push_back("round-to-nearest: " + s);
  r.passes.push_back(std::move(p));
  return rounded;
}

void correct_bias(const QuantizeRequest& req, Model& fp32, const std::map<std::string, Range>& ranges, const RoundedWeights& rounded, QuantizeResult& r) {
  if (!req.accuracy.bias_correction) return;
  if (req.inputs.files.empty()) {
    r.notes.push_back("bias correction skipped: it measures the quantized model's output shift on calibration data (-i DATA)");
    return;
  }
  InputOptions data = req.inputs;
  data.max_samples = req.accuracy.bias_correction_samples;
  if (req.inputs.max_samples > 0) data.max_samples = std::min(req.inputs.max_samples, data.max_samples);
  const std::vector<NamedTensors> samples = load_model_inputs(Executor(fp32, req.exec).inputs(), data);
  BiasCorrectionOptions o;
  o.layers_per_step = req.accuracy.bias_correction_layers_per_step;
  o.rounded = &rounded;
  const BiasCorrectionReport b = correct_biases(fp32, ranges, req.plan, samples, req.exec, o);
  r.bias_corrected_nodes = b.corrected_nodes;
  r.bias_correction_samples = b.samples;
  PassReport p{"bias_correction", b.corrected_nodes, {}};
  p.notes.push_back(fmt::format("{} Conv/Gemm biases corrected on {} samples in {} sequential step(s); largest shift {:.3g} x the channel's RMS ({})",
                                b.corrected_nodes, b.samples, b.steps, b.largest_shift, b.largest_shift_node));
  r.passes.push_back(std::move(p));
}

// The first and the last `fallback_samples` calibration samples: ranking on one set and judging on the
// other keeps the choice from being fitted to the samples it is judged on.
void fall_back(const QuantizeRequest& req, const Model& fp32, const std::map<std::string, Range>& ranges, const RoundedWeights& rounded,
               StaticPlanOptions& plan, QuantizeResult& r) {
  if (req.accuracy.target_cosine <= 0) return;
  if (req.inputs.files.empty()) throw UsageError("--target-cosine needs calibration data (-i DATA) to measure the quantized model on");
  std::vector<NamedTensors> all = load_model_inputs(Executor(fp32, req.exec).inputs(), req.inputs);
  const size_t n = static_cast<size_t>(std::max<int64_t>(1, req.accuracy.fallback_samples));
  if (all.size() < 2) throw DataError("--target-cosine needs at least 2 calibration samples (one to rank layers on, one to judge)");
  const size_t split = std::min(n, all.size() / 2);
  std::vector<NamedTensors> measure(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(split));
  std::vector<NamedTensors> held_out(all.end() - static_cast<std::ptrdiff_t>(std::min(n, all.size() - split)), all.end());
  FallbackOptions o;
  o.target_cosine = req.accuracy.target_cosine;
  o.max_layers = req.accuracy.fallback_max_layers;
  o.rounded = &rounded;
  r.fallback = fall_back_to_target(fp32, ranges, plan, measure, held_out, req.exec, o);
  r.fallback_ran = true;
  plan.exclude.insert(plan.exclude.end(), r.fallback.excluded.begin(), r.fallback.excluded.end());
  if (!r.fallback.reached)
    r.notes.push_back(fmt::format("--target-cosine {}: not reached in {} step(s); kept step {} ({} layer(s) in FP32, held-out cosine {:.5f})",
                                  o.target_cosine, r.fallback.steps.size() - 1, r.fallback.kept_step, r.fallback.excluded.size(),
                                  r.fallback.steps[static_cast<size_t>(r.fallback.kept_step)].cosine));
}

}  // namespace

StaticQuantization quantize_static(const Model& fp32, const std::map<std::string, Range>& ranges, const StaticPlanOptions& options,
                                   const RoundedWeights* rounded) {
  return quantize_static(fp32.clone(), ranges, options, rounded);
}

StaticQuantization quantize_static(Model&& fp32, const std::map<std::string, Range>& ranges, const StaticPlanOptions& options,
                                   const RoundedWeights* rounded) {
  StaticQuantization s{{}, std::move(fp32), {}};
  // Paddle exports keep weights in Constant nodes: as initializers the planner sees them as weights.
  s.passes.push_back(ExtractConstants().run(s.model));
  s.passes.push_back(UpgradeOpset(kMinOpset).run(s.model));
  s.passes.push_back(DivByConstantToMul().run(s.model));  // ORT has QLinearMul, no integer Div
  s.passes.push_back(HardSigmoidToClip().run(s.model));   // a Clip folds into QLinearConv, HardSigmoid cannot
  s.plan = plan_static_int8(s.model, ranges, options);
  if (rounded) s.passes.push_back(UseRoundedWeights(s.plan, *rounded).run(s.model));
  s.passes.push_back(QuantizeWeights(s.plan).run(s.model));
  s.passes.push_back(InsertQdq(s.plan).run(s.model));
  s.passes.push_back(RemoveDeadNodes().run(s.model));
  return s;
}

QuantizeResult quantize_model(const QuantizeRequest& req) {
  if (req.mode == QuantizeMode::Write && req.output.empty()) throw UsageError("quantize: an output file (-o) is required");
  QuantizeResult r;
  r.model = req.model.string();
  r.mode = req.mode;
  // Memory (README "Hardening"): the weights stay on disk while calibration and the float32 reference run
  // (their sessions read them from files); ours are read only for the rewrite, which edits them in place.
  Model loaded = Model::load(req.model, {.external_data = ExternalDataLoad::Defer});
  r.input_bytes = loaded.byte_size();
  // ONNX's version converter rebuilds every tensor from its bytes: an old-opset model is read whole first.
  if (loaded.opset() < kMinOpset) loaded.load_deferred_data();
  Model prepared = prepare_float_model(std::move(loaded), r);
  if (req.accuracy.equalize) prepared.load_deferred_data();
  equalize(req, prepared, r);
  std::map<std::string, Range> ranges;
  if (r.equalized) {
    TempDir dir("onnxquant-equalized");
    prepared.save(dir / "equalized.onnx");
    ranges = obtain_ranges(req, dir / "equalized.onnx", r);
  } else {
    ranges = obtain_ranges(req, req.model, r);
  }
  if (req.accuracy.clip_ranges) {
    const int narrowed = clip_ranges_to_consumers(prepared, ranges);
    r.passes.push_back({"clip_ranges_to_consumers", narrowed, {fmt::format("{} activation range(s) cut to (or, when calibration skipped them, taken from) the Clip/Relu that alone read them", narrowed)}});
  }
  // One sample through the input model now, so that its session is closed before our copy of the weights
  // is read; the quantized model is compared with it below.
  std::optional<ReferenceSample> first;
  if (req.mode == QuantizeMode::Write) {
    const Model input = Model::load(req.model, {.external_data = ExternalDataLoad::Defer});
    Executor reference = open_loaded_model(input, req.model, req.exec);
    first = reference_first_sample(reference, req.inputs, r.model);
  }
  prepared.load_deferred_data();
  StaticPlanOptions plan = req.plan;
  RoundedWeights rounded;
  if (req.mode == QuantizeMode::Write) {
    rounded = round_weights(req, prepared, ranges, r);
    correct_bias(req, prepared, ranges, rounded, r);
    fall_back(req, prepared, ranges, rounded, plan, r);
  }

  StaticQuantization q = quantize_static(std::move(prepared), ranges, plan, &rounded);
  r.plan = q.plan;
  for (auto& p : q.passes)
    if (p.changes > 0 || (p.pass != "extract_constants" && p.pass != "upgrade_opset")) r.passes.push_back(std::move(p));
  if (!req.plan_out.empty()) {
    write_file_atomically(req.plan_out, plan_to_json(r.plan).dump(2) + "\n");
    r.plan_out = req.plan_out.string();
  }
  if (req.mode == QuantizeMode::DryRun) return r;
  if (r.plan.quantized_node_count() == 0)
    r.notes.push_back("no node could be quantized (see the plan's reasons); the model is unchanged apart from preparation");

  check_rewritten_model(q.model, "static INT8");
  // ORT must load and run the result, and it must agree with FP32 on the first sample.
  r.first_sample = compare_with_reference(*first, q.model, req.exec);
  r.fusion = fusion_report(q.model, req.exec);
  r.output_bytes = q.model.byte_size();

  q.model.save(req.output);
  r.output = req.output.string();
  r.written = true;
  if (!req.report_html.empty()) {
    ValidateRequest v;
    v.reference = req.model;
    v.candidate = req.output;
    v.inputs = req.inputs;
    v.inputs.max_samples = req.report_samples;
    v.exec = req.exec;
    v.per_layer = PerLayer::On;
    v.report_html = req.report_html;
    v.command_line = req.command_line;
    v.progress = req.progress;
    validate_models(v);
    r.report = req.report_html.string();
  }
  return r;
}

nlohmann::json to_json(const QuantizeResult& r) {
  nlohmann::json j{{"command", "quantize"}, {"schema_version", 1}, {"mode", r.mode == QuantizeMode::DryRun ? "dry_run" : "static_int8"}};
  j["model"] = r.model;
  j["output"] = r.written ? nlohmann::json(r.output) : nlohmann::json(nullptr);
  j["written"] = r.written;
  j["report"] = r.report.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.report);
  j["ranges"] = {{"source", r.ranges_source}, {"samples", r.calibration_samples}};
  j["accuracy"] = {{"equalized", r.equalized}, {"rounding", r.rounding}, {"rounded_weights", r.rounded_weights}, {"rounding_samples", r.rounding_samples}, {"bias_corrected_nodes", r.bias_corrected_nodes}, {"bias_correction_samples", r.bias_correction_samples}};
  if (r.fallback_ran) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : r.fallback.steps)
      steps.push_back({{"node", s.node.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.node)}, {"op_type", s.op_type},
                       {"sensitivity", s.sensitivity}, {"cosine", s.cosine}, {"latency_ms", s.latency_ms},
                       {"speedup", s.latency_ms > 0 ? nlohmann::json(r.fallback.fp32_latency_ms / s.latency_ms) : nlohmann::json(nullptr)}});
    j["accuracy"]["fallback"] = {{"reached", r.fallback.reached}, {"kept_step", r.fallback.reached ? nlohmann::json(nullptr) : nlohmann::json(r.fallback.kept_step)}, {"fp32_latency_ms", r.fallback.fp32_latency_ms}, {"excluded", r.fallback.excluded}, {"steps", steps}};
  } else {
    j["accuracy"]["fallback"] = nullptr;
  }
  j["plan"] = plan_to_json(r.plan);
  j["plan_out"] = r.plan_out.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.plan_out);
  nlohmann::json passes = nlohmann::json::array();
  for (const auto& p : r.passes) passes.push_back({{"pass", p.pass}, {"changes", p.changes}, {"notes", p.notes}});
  j["passes"] = passes;
  if (r.written) {
    j["size"] = {{"input_bytes", r.input_bytes}, {"output_bytes", r.output_bytes},
                 {"ratio", r.input_bytes ? nlohmann::json(static_cast<double>(r.output_bytes) / r.input_bytes) : nlohmann::json(nullptr)}};
    j["verification"] = {{"cosine", r.first_sample.cosine}, {"max_abs_error", r.first_sample.max_abs_error}, {"samples", 1}};
    nlohmann::json by_op = nlohmann::json::object();
    for (const auto& [op, t] : r.fusion.by_op)
      by_op[op] = {{"quantized", t.quantized}, {"fused", t.fused}, {"int8", t.int8}, {"float", t.float_}, {"unknown", t.unknown}};
    j["fusion"] = {{"integer_kernels", r.fusion.integer_kernels},
                   {"by_op", by_op},
                   {"quantize_at_runtime", r.fusion.quantize_at_runtime},
                   {"dequantize_at_runtime", r.fusion.dequantize_at_runtime},
                   {"runtime_version", r.fusion.runtime_version}};
  }
  j["notes"] = r.notes;
  return j;
}

}  // namespace onnxquant
