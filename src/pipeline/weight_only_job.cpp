#include "pipeline/weight_only_job.h"

#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "pipeline/verify_rewrite.h"
#include "ir/graph.h"
#include "ir/tensor_proto.h"
#include "pipeline/sensitivity_fallback.h"
#include "pipeline/sequential_gptq.h"
#include "quant/gptq.h"
#include "quant/hqq.h"
#include "rewrite/extract_constants.h"
#include "rewrite/fold_initializer_identities.h"
#include "rewrite/quantize_weights_only.h"
#include "rewrite/remove_dead_nodes.h"
#include "rewrite/upgrade_opset.h"
#include "rewrite/upgrade_opset_past_converter.h"

namespace onnxquant {

namespace {

constexpr int64_t kInt8Opset = 13;  // per-channel DequantizeLinear
constexpr int64_t kInt4Opset = 21;  // INT4 tensors and blocked DequantizeLinear
constexpr int64_t kNewestCheckedOpset = 17;  // ONNX 1.12's checker


// Round-to-nearest values for every distinct (tensor, grid, format); GPTQ rewrites those it has
// statistics for. A quantized weight is dropped from the model by the rewrite, so its float bytes are
// released as soon as its last quantized copy exists: on a 2 GB model the float32 weights and all their
// quantized copies are never held at once.
// `rounded`: values GPTQ already chose stage by stage (pipeline/sequential_gptq.h), used as they are.
// `hqq`: HQQ instead of round-to-nearest for the weights GPTQ does not round (all of them: HQQ is data-free).
std::map<std::string, QuantizedWeight> weight_values(Model& model, const WeightOnlyPlan& plan, const LayerHessians* stats,
                                                     std::map<std::string, QuantizedWeight> rounded, GptqSummary& gptq, HqqSummary* hqq) {
  std::map<std::string, int> pending;  // quantized decisions per tensor not yet computed
  for (const auto& d : plan.weights)
    if (d.quantized) ++pending[d.tensor];
  std::map<std::string, onnx::TensorProto*> inits;
  for (auto& t : *model.proto().mutable_graph()->mutable_initializer()) inits.emplace(t.name(), &t);
  std::map<std::string, QuantizedWeight> values;
  for (const auto& d : plan.weights) {
    if (!d.quantized) continue;
    const std::string key = weight_key(d);
    auto it_init = inits.find(d.tensor);
    if (it_init == inits.end()) throw InternalError("weight plan names '" + d.tensor + "', which is not an initializer");
    onnx::TensorProto& init = *it_init->second;
    const bool last = --pending[d.tensor] == 0;
    if (values.count(key)) {
      if (last) std::string().swap(*init.mutable_raw_data());
      continue;
    }
    if (auto it = rounded.find(key); it != rounded.end()) {
      if (last) std::string().swap(*init.mutable_raw_data());
      values.emplace(key, std::move(it->second));
      continue;
    }
    const Tensor w = tensor_from_proto(init);
    if (last) std::string().swap(*init.mutable_raw_data());
    QuantizedWeight q;
    if (hqq) {
      HqqStats s;
      q = quantize_hqq(w, d.grid, {}, &s);
      const double n = static_cast<double>(w.elements());
      hqq->rtn_mean_abs_error += s.rtn_mean_abs_error * n;  // sums over elements here, means at the end
      hqq->hqq_mean_abs_error += s.hqq_mean_abs_error * n;
      hqq->elements += w.elements();
      hqq->groups += s.groups;
      hqq->improved_groups += s.improved_groups;
      ++hqq->weights;
    } else {
      q = quantize_rtn(w, d.grid);
    }
    if (stats) {
      if (auto it = stats->by_key.find(key); it != stats->by_key.end()) {
        const GptqStats s = gptq_quantize(w.as<float>(), it->second.views, it->second.hessians, q);
        gptq.columns += s.columns;
        gptq.dead_columns += s.dead_columns;
        gptq.fallback_blocks += s.rtn_fallback_blocks;
        gptq.scale_units += s.units;
        gptq.rescaled_units += s.rescaled_units;
        ++gptq.weights;
      }
    }
    values.emplace(key, std::move(q));
  }
  return values;
}

Model prepare(Model m, const WeightOnlyOptions& options, WeightOnlyPlan& plan, std::vector<PassReport>& passes) {
  passes.push_back(ExtractConstants().run(m));
  passes.push_back(FoldInitializerIdentities().run(m));
  passes.push_back(UpgradeOpset(kInt8Opset).run(m));
  plan = plan_weight_only(m, options);
  if (plan.needs_int4_dequantize() && m.opset() < kInt4Opset) {
    passes.push_back(UpgradeOpset(kConverterMaxOpset).run(m));
    passes.push_back(UpgradeOpsetPastConverter(kInt4Opset).run(m));
    plan = plan_weight_only(m, options);  // same decisions; names are kept by the upgrade
  }
  return m;
}

// `--gptq-stages auto`: rounds in one stage and stage by stage, and keeps the result whose outputs on
// the calibration samples are closer to FP32's (mean cosine; a tie keeps one stage, the cheaper to
// reproduce). Judged on the samples GPTQ fitted, which favours neither: both saw the same data.
GptqStageChoice choose_gptq_stages(Model& fp32, const WeightOnlyOptions& plan, const std::vector<NamedTensors>& calibration,
                                   const std::vector<NamedTensors>& fp32_outputs, HessianOptions h, WeightOnlyQuantization& kept) {
  auto judge = [&](const Model& m) {
    Executor e(m, h.exec);
    return mean_output_cosine(fp32_outputs, e, calibration);
  };
  GptqStageChoice c;
  c.tried = true;
  h.stages = 1;
  WeightOnlyQuantization one = quantize_weights_only(fp32, plan, calibration, h);
  c.one_stage_cosine = judge(one.model);
  h.stages = 0;
  WeightOnlyQuantization per_layer;
  try {
    per_layer = quantize_weights_only(std::move(fp32), plan, calibration, h);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::Internal) throw;  // a bug of ours shows, never hides behind the fallback
    // The user asked for neither way in particular: a model the per-layer pass cannot cut into stages
    // (its pruned sub-models fail to load or run) still gets the one-stage result, and says why.
    c.tried = false;
    c.why_not_tried = std::string("rounding one stage per layer failed, one stage kept: ") + e.what();
    kept = std::move(one);
    return c;
  }
  c.per_layer_cosine = judge(per_layer.model);
  c.kept = c.per_layer_cosine > c.one_stage_cosine ? "per_layer" : "one_stage";
  kept = c.kept == "per_layer" ? std::move(per_layer) : std::move(one);
  return c;
}

}  // namespace

WeightOnlyQuantization quantize_weights_only(const Model& fp32, const WeightOnlyOptions& options, const std::vector<NamedTensors>& calibration,
                                             const HessianOptions& hessian, WeightRounding rounding) {
  return quantize_weights_only(fp32.clone(), options, calibration, hessian, rounding);
}

WeightOnlyQuantization quantize_weights_only(Model&& fp32, const WeightOnlyOptions& options, const std::vector<NamedTensors>& given_calibration,
                                             const HessianOptions& hessian, WeightRounding rounding) {
  WeightOnlyQuantization q;
  q.model = prepare(std::move(fp32), options, q.plan, q.passes);
  std::optional<LayerHessians> stats;
  std::map<std::string, QuantizedWeight> rounded;
  static const std::vector<NamedTensors> kNoData;
  const auto& calibration = rounding == WeightRounding::Auto ? given_calibration : kNoData;
  if (!calibration.empty() && hessian.stages != 1 && hessian.stages != kGptqStagesAuto) {
    SequentialGptq seq = sequential_gptq(q.model, q.plan, calibration, hessian);
    q.gptq.samples = static_cast<int64_t>(calibration.size());
    q.gptq.rounds = seq.rounds;
    q.gptq.stages = seq.stages;
    q.gptq.unsupported = std::move(seq.unsupported);
    q.gptq.weights = seq.weights;
    q.gptq.columns = seq.stats.columns;
    q.gptq.dead_columns = seq.stats.dead_columns;
    q.gptq.fallback_blocks = seq.stats.rtn_fallback_blocks;
    q.gptq.scale_units = seq.stats.units;
    q.gptq.rescaled_units = seq.stats.rescaled_units;
    rounded = std::move(seq.values);
    for (auto& t : *q.model.proto().mutable_graph()->mutable_initializer())
      if (auto it = seq.biases.find(t.name()); it != seq.biases.end()) tensor_to_proto(it->second, it->first, t);
    q.gptq.corrected_biases = static_cast<int64_t>(seq.biases.size());
    q.gptq.compensated = seq.compensated;
  } else if (!calibration.empty()) {
    stats = collect_layer_hessians(q.model, q.plan, calibration, hessian);
    q.gptq.samples = stats->samples;
    q.gptq.rounds = stats->rounds;
    q.gptq.stages = 1;
    q.gptq.unsupported = stats->unsupported;
  }
  const bool hqq = rounding == WeightRounding::Hqq;
  const auto values = weight_values(q.model, q.plan, stats ? &*stats : nullptr, std::move(rounded), q.gptq, hqq ? &q.hqq : nullptr);
  if (q.hqq.elements > 0) {
    q.hqq.rtn_mean_abs_error /= static_cast<double>(q.hqq.elements);
    q.hqq.hqq_mean_abs_error /= static_cast<double>(q.hqq.elements);
  }
  q.rounding = hqq ? "hqq" : calibration.empty() ? "nearest" : "gptq";
  q.passes.push_back(QuantizeWeightsOnly(q.plan, values).run(q.model));
  q.passes.push_back(RemoveDeadNodes().run(q.model));
  // Every quantized weight must be gone in float: anything else stores it twice.
  const Graph g(q.model.proto().graph());
  for (const auto& d : q.plan.weights)
    if (d.quantized && g.initializer(d.tensor))
      throw VerificationError(fmt::format("weight '{}' was quantized for {} '{}' but is still stored in float32", d.tensor, d.op_type, d.consumer),
                              "this is a bug in onnxquant's weight-only plan; --exclude the weight meanwhile");
  return q;
}

WeightOnlyResult quantize_model_weights_only(const WeightOnlyRequest& req) {
  if (req.mode == QuantizeMode::Write && req.output.empty()) throw UsageError("quantize: an output file (-o) is required");
  WeightOnlyResult r;
  r.model = req.model.string();
  r.mode = req.mode;
  // Weights stay on disk while the float32 session runs (it reads its own copy from the file); our copy
  // is read after that session is closed and then quantized in place (README "Hardening").
  Model fp32 = Model::load(req.model, {.external_data = ExternalDataLoad::Defer});
  r.input_bytes = fp32.byte_size();

  auto save_plan = [&] {
    if (req.plan_out.empty()) return;
    write_file_atomically(req.plan_out, weight_plan_to_json(r.plan).dump(2) + "\n");
    r.plan_out = req.plan_out.string();
  };
  if (req.mode == QuantizeMode::DryRun) {
    fp32.load_deferred_data();
    prepare(std::move(fp32), req.plan, r.plan, r.passes);
    save_plan();
    return r;
  }
  std::vector<NamedTensors> calibration;
  std::vector<NamedTensors> calibration_outputs;  // FP32's, to judge `--gptq-stages auto`'s two results
  ReferenceSample first;
  const bool gptq = req.rounding == WeightRounding::Auto && !req.inputs.files.empty();
  const bool auto_stages = gptq && req.hessian.stages == kGptqStagesAuto;
  const bool try_both = auto_stages && r.input_bytes <= req.auto_stages_max_bytes;
  {
    Executor reference = open_loaded_model(fp32, req.model, req.exec);
    if (gptq) {
      InputOptions in = req.inputs;
      if (in.max_samples == 0) in.max_samples = req.gptq_samples;
      calibration = load_model_inputs(reference.inputs(), in);
      if (calibration.empty()) throw DataError(r.model + ": the calibration data holds no sample");
      if (try_both)
        for (const auto& s : calibration) calibration_outputs.push_back(reference.run(s));
    }
    first = reference_first_sample(reference, req.inputs, r.model);
  }
  HessianOptions h = req.hessian;
  h.exec = req.exec;
  h.progress = req.progress;
  fp32.load_deferred_data();
  WeightOnlyQuantization q;
  if (try_both) {
    r.stage_choice = choose_gptq_stages(fp32, req.plan, calibration, calibration_outputs, h, q);
  } else {
    if (auto_stages) {
      h.stages = 1;
      r.stage_choice.why_not_tried = fmt::format("the model is over {} MiB: one stage only (per layer costs about 4x the time)",
                                                 req.auto_stages_max_bytes >> 20);
    }
    q = quantize_weights_only(std::move(fp32), req.plan, calibration, h, req.rounding);
  }
  r.plan = q.plan;
  r.passes = q.passes;
  r.rounding = q.rounding;
  r.gptq = q.gptq;
  r.hqq = q.hqq;
  save_plan();
  if (r.plan.quantized_count() == 0) r.notes.push_back("no weight was quantized (see the plan's reasons)");
  for (const auto& u : r.gptq.unsupported) r.notes.push_back("round-to-nearest (GPTQ does not handle it): " + u);
  bool dequantize_linear = false;
  for (const auto& d : r.plan.weights) dequantize_linear = dequantize_linear || (d.quantized && d.format == WeightFormat::DequantizeLinear);
  // Measured on the corpus with ORT 1.30: mobilenet_v2 int8 1.7x, resnet50 1.3x, the MLP int4 80x FP32 latency.
  if (dequantize_linear)
    r.notes.push_back("ORT's CPU EP dequantizes DequantizeLinear weights on every run (it does not constant-fold them): the gain is size, "
                      "latency is above FP32; 4-bit MatMul weights run natively with --matmul-nbits");

  Model& out = q.model;
  r.opset = out.opset();
  if (r.opset <= kNewestCheckedOpset) {
    check_rewritten_model(out, "weight-only");
    r.checker = "passed";
  } else {
    r.checker = fmt::format("not applicable: ONNX 1.12's checker knows opsets up to {}, the model has {}; ORT {} validated it on load",
                            kNewestCheckedOpset, r.opset, runtime_version());
  }
  r.first_sample = compare_with_reference(first, out, req.exec);
  r.output_bytes = out.byte_size();
  if (r.plan.quantized_count() > 0 && r.output_bytes >= r.input_bytes)
    throw VerificationError(fmt::format("the weight-only model is not smaller ({} bytes vs {})", r.output_bytes, r.input_bytes));
  out.save(req.output);
  r.output = req.output.string();
  r.written = true;
  return r;
}

nlohmann::json to_json(const WeightOnlyResult& r) {
  nlohmann::json j{{"command", "quantize"}, {"schema_version", 1}, {"mode", r.mode == QuantizeMode::DryRun ? "dry_run" : "weights_only"}};
  j["model"] = r.model;
  j["output"] = r.written ? nlohmann::json(r.output) : nlohmann::json(nullptr);
  j["written"] = r.written;
  j["plan"] = weight_plan_to_json(r.plan);
  j["plan_out"] = r.plan_out.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.plan_out);
  nlohmann::json passes = nlohmann::json::array();
  for (const auto& p : r.passes) passes.push_back({{"pass", p.pass}, {"changes", p.changes}, {"notes", p.notes}});
  j["passes"] = passes;
  j["rounding"] = r.rounding.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.rounding);
  if (r.rounding == "gptq")
    j["gptq"] = {{"weights", r.gptq.weights}, {"samples", r.gptq.samples}, {"stages", r.gptq.stages}, {"rounds", r.gptq.rounds},
                 {"compensated", r.gptq.compensated}, {"corrected_biases", r.gptq.corrected_biases}, {"columns", r.gptq.columns},
                 {"dead_columns", r.gptq.dead_columns}, {"fallback_blocks", r.gptq.fallback_blocks},
                 {"scale_units", r.gptq.scale_units}, {"rescaled_units", r.gptq.rescaled_units}, {"unsupported", r.gptq.unsupported}};
  if (r.rounding == "hqq")
    j["hqq"] = {{"weights", r.hqq.weights}, {"elements", r.hqq.elements}, {"groups", r.hqq.groups}, {"improved_groups", r.hqq.improved_groups},
                {"nearest_mean_abs_error", r.hqq.rtn_mean_abs_error}, {"hqq_mean_abs_error", r.hqq.hqq_mean_abs_error}};
  if (r.rounding == "gptq") {
    const GptqStageChoice& c = r.stage_choice;
    j["gptq"]["stage_choice"] =
        c.tried ? nlohmann::json{{"tried", true}, {"one_stage_cosine", c.one_stage_cosine}, {"per_layer_cosine", c.per_layer_cosine}, {"kept", c.kept}}
                : nlohmann::json{{"tried", false}, {"why_not", c.why_not_tried.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.why_not_tried)}};
  }
  if (r.written) {
    j["opset"] = r.opset;
    j["checker"] = r.checker;
    j["size"] = {{"input_bytes", r.input_bytes}, {"output_bytes", r.output_bytes},
                 {"ratio", r.input_bytes ? nlohmann::json(static_cast<double>(r.output_bytes) / r.input_bytes) : nlohmann::json(nullptr)}};
    j["verification"] = {{"cosine", r.first_sample.cosine}, {"max_abs_error", r.first_sample.max_abs_error}, {"samples", 1}};
  }
  j["notes"] = r.notes;
  return j;
}

}  // namespace onnxquant
