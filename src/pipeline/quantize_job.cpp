#include "pipeline/quantize_job.h"

#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <nlohmann/json.hpp>

#include "calib/ranges_file.h"
#include "pipeline/validate_job.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/sha256.h"
#include "pipeline/calibrate_job.h"
#include "rewrite/div_by_constant_to_mul.h"
#include "rewrite/extract_constants.h"
#include "rewrite/hard_sigmoid_to_clip.h"
#include "rewrite/insert_qdq.h"
#include "rewrite/quantize_weights.h"
#include "rewrite/remove_dead_nodes.h"
#include "rewrite/upgrade_opset.h"

namespace onnxquant {

namespace {

// Per-channel DequantizeLinear (with `axis`) exists from opset 13.
constexpr int64_t kMinOpset = 13;

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::map<std::string, Range> obtain_ranges(const QuantizeRequest& req, QuantizeResult& r) {
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
  c.model = req.model;
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

}  // namespace

StaticQuantization quantize_static(const Model& fp32, const std::map<std::string, Range>& ranges, const StaticPlanOptions& options) {
  StaticQuantization s{{}, fp32.clone(), {}};
  // Paddle exports keep weights in Constant nodes: as initializers the planner sees them as weights.
  s.passes.push_back(ExtractConstants().run(s.model));
  s.passes.push_back(UpgradeOpset(kMinOpset).run(s.model));
  s.passes.push_back(DivByConstantToMul().run(s.model));  // ORT has QLinearMul, no integer Div
  s.passes.push_back(HardSigmoidToClip().run(s.model));   // a Clip folds into QLinearConv, HardSigmoid cannot
  s.plan = plan_static_int8(s.model, ranges, options);
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
  const Model fp32 = Model::load(req.model);
  r.input_bytes = fp32.byte_size();
  const std::map<std::string, Range> ranges = obtain_ranges(req, r);

  StaticQuantization q = quantize_static(fp32, ranges, req.plan);
  r.plan = q.plan;
  r.passes = q.passes;
  if (!req.plan_out.empty()) {
    write_file_atomically(req.plan_out, plan_to_json(r.plan).dump(2) + "\n");
    r.plan_out = req.plan_out.string();
  }
  if (req.mode == QuantizeMode::DryRun) return r;
  if (r.plan.quantized_node_count() == 0)
    r.notes.push_back("no node could be quantized (see the plan's reasons); the model is unchanged apart from preparation");

  try {
    onnx::checker::check_model(q.model.proto());
  } catch (const std::exception& e) {
    throw VerificationError("the quantized model fails the ONNX checker: " + first_line(e.what()),
                            "this is a bug in onnxquant's static INT8 rewrite; please report it with the model");
  }
  // One sample through both models: ORT must load and run the result, and it must agree with FP32.
  Executor reference(fp32, req.exec);
  InputOptions one = req.inputs;
  one.max_samples = 1;
  one.shuffle = false;
  const std::vector<NamedTensors> samples = load_model_inputs(reference.inputs(), one);
  if (samples.empty()) throw DataError(r.model + ": no input sample to verify the quantized model with");
  Executor quantized(q.model, req.exec);
  const NamedTensors want = reference.run(samples.front());
  const NamedTensors got = quantized.run(samples.front());
  CompareAccumulator acc;
  for (const auto& [name, t] : want) acc.add(t, got.at(name), name);
  r.first_sample = acc.stats();
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
