#include "pipeline/dynamic_job.h"

#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <nlohmann/json.hpp>

#include "analysis/fusion_report.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "pipeline/verify_rewrite.h"
#include "rewrite/dynamic_quant.h"
#include "rewrite/extract_constants.h"
#include "rewrite/fold_initializer_identities.h"
#include "rewrite/remove_dead_nodes.h"
#include "rewrite/upgrade_opset.h"

namespace onnxquant {

namespace {
constexpr int64_t kMinOpset = 13;
}  // namespace

DynamicQuantization quantize_dynamic(const Model& fp32, const DynamicOptions& options) {
  DynamicQuantization q{{}, fp32.clone(), {}};
  q.passes.push_back(ExtractConstants().run(q.model));
  q.passes.push_back(FoldInitializerIdentities().run(q.model));
  q.passes.push_back(UpgradeOpset(kMinOpset).run(q.model));
  q.plan = plan_dynamic(q.model, options);
  q.passes.push_back(DynamicQuant(q.plan).run(q.model));
  q.passes.push_back(RemoveDeadNodes().run(q.model));
  return q;
}

DynamicResult quantize_model_dynamic(const DynamicRequest& req) {
  if (req.mode == QuantizeMode::Write && req.output.empty()) throw UsageError("quantize: an output file (-o) is required");
  DynamicResult r;
  r.model = req.model.string();
  r.mode = req.mode;
  const Model fp32 = Model::load(req.model);
  r.input_bytes = fp32.byte_size();
  DynamicQuantization q = quantize_dynamic(fp32, req.plan);
  r.plan = q.plan;
  r.passes = q.passes;
  if (!req.plan_out.empty()) {
    write_file_atomically(req.plan_out, dynamic_plan_to_json(r.plan).dump(2) + "\n");
    r.plan_out = req.plan_out.string();
  }
  if (req.mode == QuantizeMode::DryRun) return r;
  if (r.plan.quantized_count() == 0) r.notes.push_back("no MatMul/Gemm could be quantized (see the plan's reasons)");
  check_rewritten_model(q.model, "dynamic INT8");
  Executor reference(fp32, req.exec);
  r.first_sample = compare_on_first_sample(reference, q.model, req.inputs, req.exec, r.model);
  const FusionReport fusion = fusion_report(q.model, req.exec);
  r.runtime_version = fusion.runtime_version;
  for (const auto& [op, count] : fusion.integer_kernels)
    if (op.find("DynamicQuantizeMatMul") != std::string::npos || op.find("MatMulIntegerToFloat") != std::string::npos) r.fused += count;
  if (r.fused < r.plan.quantized_count())
    r.notes.push_back(fmt::format("ORT fused {} of {} quantized MatMul/Gemm nodes; the rest run as separate integer ops", r.fused, r.plan.quantized_count()));
  r.output_bytes = q.model.byte_size();
  q.model.save(req.output);
  r.output = req.output.string();
  r.written = true;
  return r;
}

nlohmann::json to_json(const DynamicResult& r) {
  nlohmann::json j{{"command", "quantize"}, {"schema_version", 1}, {"mode", r.mode == QuantizeMode::DryRun ? "dry_run" : "dynamic"}};
  j["model"] = r.model;
  j["output"] = r.written ? nlohmann::json(r.output) : nlohmann::json(nullptr);
  j["written"] = r.written;
  j["plan"] = dynamic_plan_to_json(r.plan);
  j["plan_out"] = r.plan_out.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.plan_out);
  nlohmann::json passes = nlohmann::json::array();
  for (const auto& p : r.passes) passes.push_back({{"pass", p.pass}, {"changes", p.changes}, {"notes", p.notes}});
  j["passes"] = passes;
  if (r.written) {
    j["size"] = {{"input_bytes", r.input_bytes}, {"output_bytes", r.output_bytes},
                 {"ratio", r.input_bytes ? nlohmann::json(static_cast<double>(r.output_bytes) / r.input_bytes) : nlohmann::json(nullptr)}};
    j["verification"] = {{"cosine", r.first_sample.cosine}, {"max_abs_error", r.first_sample.max_abs_error}, {"samples", 1}};
    j["fusion"] = {{"dynamic_quantize_matmul", r.fused}, {"quantized", r.plan.quantized_count()}, {"runtime_version", r.runtime_version}};
  }
  j["notes"] = r.notes;
  return j;
}

}  // namespace onnxquant
