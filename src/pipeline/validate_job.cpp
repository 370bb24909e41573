#include "pipeline/validate_job.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "analysis/html_report.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/half.h"
#include "core/version.h"
#include "ir/model.h"

namespace onnxquant {
namespace fs = std::filesystem;

namespace {

Model load_named(const fs::path& path) { return Model::load(path); }

// ORT's refusal names the problem but not which of the two models had it.
Executor open_session(const Model& model, const fs::path& path, const ExecOptions& exec) {
  try {
    return Executor(model, exec);
  } catch (const RuntimeError& e) {
    throw RuntimeError(path.string() + ": " + e.what(), e.hint());
  }
}

std::string dims_text(const IoInfo& io) {
  std::string s = "[";
  for (size_t i = 0; i < io.shape.size(); ++i) {
    if (i) s += ",";
    s += io.shape[i] >= 0 ? std::to_string(io.shape[i]) : (io.dim_names[i].empty() ? "?" : io.dim_names[i]);
  }
  return s + "]";
}

std::string names_missing(const std::vector<IoInfo>& from, const std::vector<IoInfo>& in) {
  std::string out;
  for (const auto& f : from)
    if (std::none_of(in.begin(), in.end(), [&](const IoInfo& i) { return i.name == f.name; })) out += (out.empty() ? "'" : ", '") + f.name + "'";
  return out;
}

// Checks that both models take and give the same things; returns the candidate inputs that need a float
// type conversion (name -> candidate dtype).
std::map<std::string, DType> match_interfaces(const Executor& ref, const Executor& cand, std::vector<std::string>& notes) {
  for (const char* what : {"inputs", "outputs"}) {
    const bool inputs = std::string(what) == "inputs";
    const auto& a = inputs ? ref.inputs() : ref.outputs();
    const auto& b = inputs ? cand.inputs() : cand.outputs();
    const std::string only_a = names_missing(a, b), only_b = names_missing(b, a);
    if (!only_a.empty() || !only_b.empty()) {
      std::string msg = std::string("the two models have different ") + what + ":";
      if (!only_a.empty()) msg += " only the reference has " + only_a + ";";
      if (!only_b.empty()) msg += " only the candidate has " + only_b + ";";
      msg.pop_back();
      throw DataError(msg, "validate compares two versions of one model; their input and output names must match");
    }
  }
  std::map<std::string, DType> convert;
  for (const auto& a : ref.inputs()) {
    const auto& b = *std::find_if(cand.inputs().begin(), cand.inputs().end(), [&](const IoInfo& i) { return i.name == a.name; });
    bool same_dims = a.shape.size() == b.shape.size();
    for (size_t i = 0; same_dims && i < a.shape.size(); ++i) same_dims = a.shape[i] < 0 || b.shape[i] < 0 || a.shape[i] == b.shape[i];
    if (!same_dims)
      throw DataError(fmt::format("input '{}' has shape {} in the reference but {} in the candidate", a.name, dims_text(a), dims_text(b)));
    if (a.dtype == b.dtype) continue;
    if (!dtype_is_float(a.dtype) || !dtype_is_float(b.dtype))
      throw DataError(fmt::format("input '{}' is {} in the reference but {} in the candidate", a.name, dtype_name(a.dtype), dtype_name(b.dtype)));
    convert[a.name] = b.dtype;
    notes.push_back(fmt::format("input '{}' converted from {} to {} for the candidate", a.name, dtype_name(a.dtype), dtype_name(b.dtype)));
  }
  for (const auto& a : ref.outputs()) {
    const auto& b = *std::find_if(cand.outputs().begin(), cand.outputs().end(), [&](const IoInfo& i) { return i.name == a.name; });
    if (a.dtype != b.dtype && !(dtype_is_float(a.dtype) && dtype_is_float(b.dtype)))
      throw DataError(fmt::format("output '{}' is {} in the reference but {} in the candidate", a.name, dtype_name(a.dtype), dtype_name(b.dtype)));
  }
  return convert;
}

Tensor convert_float(const Tensor& t, DType to) {
  Tensor out(to, t.shape);
  const std::vector<double> v = t.to_doubles();
  for (size_t i = 0; i < v.size(); ++i) {
    const auto f = static_cast<float>(v[i]);
    switch (to) {
      case DType::Float32: out.as<float>()[i] = f; break;
      case DType::Float64: out.as<double>()[i] = v[i]; break;
      case DType::Float16: out.as<uint16_t>()[i] = float_to_half(f); break;
      case DType::BFloat16: out.as<uint16_t>()[i] = float_to_bfloat16(f); break;
      default: throw InternalError("convert_float: not a float type " + dtype_name(to));
    }
  }
  return out;
}

NamedTensors candidate_inputs(const NamedTensors& sample, const std::map<std::string, DType>& convert) {
  if (convert.empty()) return sample;
  NamedTensors out;
  for (const auto& [name, t] : sample) {
    auto it = convert.find(name);
    out.emplace(name, it == convert.end() ? t : convert_float(t, it->second));
  }
  return out;
}

// The class axis of an output when it holds class scores: the requested axis, or the last axis of a
// rank-2 [batch, classes] output. Fewer than two classes is not a classification.
std::optional<int64_t> class_axis(const Shape& shape, std::optional<int64_t> requested) {
  const auto rank = static_cast<int64_t>(shape.size());
  int64_t axis = -1;
  if (requested) axis = *requested < 0 ? *requested + rank : *requested;
  else if (rank == 2) axis = 1;
  if (axis < 0 || axis >= rank || shape[static_cast<size_t>(axis)] < 2) return std::nullopt;
  return axis;
}

// The tensor with `axis` moved last, as float64 rows of class scores (topk_agreement reads the last axis).
Tensor axis_last(const Tensor& t, int64_t axis) {
  const std::vector<double> v = t.to_doubles();
  const int64_t classes = t.shape[static_cast<size_t>(axis)];
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= t.shape[static_cast<size_t>(i)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < t.shape.size(); ++i) inner *= t.shape[i];
  Tensor out(DType::Float64, {outer * inner, classes});
  auto dst = out.as<double>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < classes; ++c)
      for (int64_t i = 0; i < inner; ++i) dst[static_cast<size_t>((o * inner + i) * classes + c)] = v[static_cast<size_t>((o * classes + c) * inner + i)];
  return out;
}

// Streams one output's agreement over samples.
class OutputAccumulator {
 public:
  OutputAccumulator(std::string name, std::optional<int64_t> classes_axis, std::optional<double> mask_threshold)
      : classes_axis_(classes_axis), mask_threshold_(mask_threshold) {
    m_.name = std::move(name);
  }

  void add(const Tensor& ref, const Tensor& cand) {
    overall_.add(ref, cand, "output '" + m_.name + "'");
    const double cos = compare_tensors(ref, cand, m_.name).cosine;
    cosine_sum_ += cos;
    m_.cosine_min = m_.samples == 0 ? cos : std::min(m_.cosine_min, cos);
    ++m_.samples;
    if (mask_threshold_) {
      const MaskAgreement m = mask_agreement(ref, cand, *mask_threshold_);
      mask_.intersection += m.intersection;
      mask_.union_ += m.union_;
      mask_iou_min_ = std::min(mask_iou_min_, m.iou());
    }
    if (auto axis = class_axis(ref.shape, classes_axis_)) {
      const int64_t classes = ref.shape[static_cast<size_t>(*axis)];
      const auto a = *axis + 1 == static_cast<int64_t>(ref.shape.size()) ? ref : axis_last(ref, *axis);
      const auto b = *axis + 1 == static_cast<int64_t>(cand.shape.size()) ? cand : axis_last(cand, *axis);
      const int k = static_cast<int>(std::min<int64_t>(5, classes));
      const TopKAgreement t = topk_agreement(a, b, k);
      if (!topk_) topk_ = ClassAgreement{.axis = *axis, .k = k};
      topk_->rows += t.rows;
      top1_ += t.top1_matches;
      topk_hits_ += t.ref_top1_in_cand_topk;
    }
  }

  OutputMetrics result() const {
    OutputMetrics m = m_;
    m.overall = overall_.stats();
    m.cosine_mean = m.samples ? cosine_sum_ / static_cast<double>(m.samples) : 1.0;
    if (topk_ && topk_->rows > 0) {
      m.classes = topk_;
      m.classes->top1 = static_cast<double>(top1_) / static_cast<double>(topk_->rows);
      m.classes->topk = static_cast<double>(topk_hits_) / static_cast<double>(topk_->rows);
    }
    if (mask_threshold_) m.mask = MaskSummary{.threshold = *mask_threshold_, .iou = mask_.iou(), .iou_min = mask_iou_min_};
    return m;
  }

 private:
  OutputMetrics m_;
  std::optional<int64_t> classes_axis_;
  std::optional<double> mask_threshold_;
  MaskAgreement mask_;
  double mask_iou_min_ = 1.0;
  CompareAccumulator overall_;
  double cosine_sum_ = 0;
  std::optional<ClassAgreement> topk_;
  int64_t top1_ = 0, topk_hits_ = 0;
};

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json stats_json(const CompareStats& s) {
  return {{"cosine", s.cosine}, {"sqnr_db", number_or_null(s.sqnr_db)}, {"max_abs_error", s.max_abs_error},
          {"mean_abs_error", s.mean_abs_error}, {"nonfinite", s.nonfinite}, {"elements", s.elements}};
}

nlohmann::json latency_json(const LatencyStats& s) {
  return {{"median", s.median_ms}, {"p90", s.p90_ms}, {"min", s.min_ms}, {"mean", s.mean_ms}, {"samples_ms", s.samples_ms}};
}

}  // namespace

ValidateResult validate_models(const ValidateRequest& req) {
  ValidateResult r;
  r.reference = req.reference.string();
  r.candidate = req.candidate.string();
  r.threads = req.exec.intra_op_threads;
  r.fail_below = req.fail_below;
  r.command_line = req.command_line;
  r.runtime_version = runtime_version();
  if (!req.report_html.empty()) {
    // Fail before the slow part, not after it, when the page cannot be written.
    const fs::path dir = req.report_html.parent_path().empty() ? fs::path(".") : req.report_html.parent_path();
    if (!fs::is_directory(dir)) throw IoError("cannot write " + req.report_html.string() + ": folder " + dir.string() + " does not exist");
  }
  const Model reference = load_named(req.reference);
  const Model candidate = load_named(req.candidate);
  r.reference_bytes = reference.byte_size();
  r.candidate_bytes = candidate.byte_size();
  r.size_ratio = r.reference_bytes ? static_cast<double>(r.candidate_bytes) / static_cast<double>(r.reference_bytes) : 0;

  Executor a = open_session(reference, req.reference, req.exec);
  Executor b = open_session(candidate, req.candidate, req.exec);
  const auto convert = match_interfaces(a, b, r.notes);
  std::optional<PerLayerComparison> layers;
  if (req.per_layer == PerLayer::On) layers.emplace(reference, candidate, req.exec);

  InputSource source(a.inputs(), req.inputs);
  r.synthetic_inputs = req.inputs.files.empty();
  std::vector<OutputAccumulator> acc;
  for (const auto& o : a.outputs()) acc.emplace_back(o.name, req.classes_axis, req.mask_threshold);
  NamedTensors first_a, first_b;
  Progress progress("validating", source.size(), req.progress);
  while (auto sample = source.next()) {
    NamedTensors cand_in = candidate_inputs(*sample, convert);
    NamedTensors out_a, out_b;
    try {
      out_a = a.run(*sample);
    } catch (const RuntimeError& e) {
      throw RuntimeError(r.reference + ": " + e.what(), e.hint());
    }
    try {
      out_b = b.run(cand_in);
    } catch (const RuntimeError& e) {
      throw RuntimeError(r.candidate + ": " + e.what(), e.hint());
    }
    for (size_t i = 0; i < acc.size(); ++i) acc[i].add(out_a.at(a.outputs()[i].name), out_b.at(a.outputs()[i].name));
    if (layers) layers->add(*sample, cand_in);
    if (r.samples++ == 0) {
      first_a = std::move(*sample);
      first_b = std::move(cand_in);
    }
    progress.advance();
  }
  progress.finish();
  if (r.samples == 0) throw DataError("the input options give no sample to run");
  if (r.synthetic_inputs)
    r.notes.push_back("inputs are synthetic (random values): errors on real data can differ; pass real samples with -i");
  for (const auto& o : acc) r.outputs.push_back(o.result());
  r.verdict = judge(r.outputs);
  // --fail-below judges the same cosine as the verdict; NaN/Inf in the candidate fails it whatever the cosine.
  const bool nonfinite = std::any_of(r.outputs.begin(), r.outputs.end(), [](const OutputMetrics& o) { return o.overall.nonfinite > 0; });
  r.passed = req.fail_below <= 0 || (r.verdict.cosine >= req.fail_below && !nonfinite);
  if (req.latency.runs > 0) r.latency = measure_paired(a, first_a, b, first_b, req.latency);
  r.fusion = fusion_report(candidate, req.exec);
  if (layers) r.per_layer = layers->result();
  if (!req.report_html.empty()) {
    write_validation_report(r, req.report_html);
    r.report_html = req.report_html.string();
  }
  return r;
}

nlohmann::json to_json(const ValidateResult& r) {
  nlohmann::json j;
  j["command"] = "validate";
  j["schema_version"] = 1;
  j["reference"] = r.reference;
  j["candidate"] = r.candidate;
  j["samples"] = r.samples;
  j["synthetic_inputs"] = r.synthetic_inputs;
  j["verdict"] = {{"level", verdict_name(r.verdict.level)}, {"cosine", r.verdict.cosine}, {"sqnr_db", number_or_null(r.verdict.sqnr_db)},
                  {"output", r.verdict.output}, {"limited_by", r.verdict.limited_by}, {"message", r.verdict.message}};
  j["passed"] = r.passed;
  j["fail_below"] = r.fail_below > 0 ? nlohmann::json(r.fail_below) : nlohmann::json(nullptr);
  j["outputs"] = nlohmann::json::array();
  for (const auto& o : r.outputs) {
    auto e = stats_json(o.overall);
    e["name"] = o.name;
    e["samples"] = o.samples;
    e["cosine_mean"] = o.cosine_mean;
    e["cosine_min"] = o.cosine_min;
    e["classes"] = o.classes ? nlohmann::json{{"axis", o.classes->axis}, {"rows", o.classes->rows}, {"k", o.classes->k},
                                              {"top1_agreement", o.classes->top1}, {"topk_agreement", o.classes->topk}}
                             : nlohmann::json(nullptr);
    e["mask"] = o.mask ? nlohmann::json{{"threshold", o.mask->threshold}, {"iou", o.mask->iou}, {"iou_min", o.mask->iou_min}}
                       : nlohmann::json(nullptr);
    j["outputs"].push_back(std::move(e));
  }
  if (r.latency)
    j["latency"] = {{"threads", r.threads},      {"runs", r.latency->a.samples_ms.size()}, {"warmup", r.latency->warmup},
                    {"reference_ms", latency_json(r.latency->a)}, {"candidate_ms", latency_json(r.latency->b)},
                    {"speedup", r.latency->speedup}, {"speedup_ci95", {r.latency->speedup_low, r.latency->speedup_high}}};
  else
    j["latency"] = nullptr;
  j["size"] = {{"reference_bytes", r.reference_bytes}, {"candidate_bytes", r.candidate_bytes},
               {"ratio", r.reference_bytes ? nlohmann::json(r.size_ratio) : nlohmann::json(nullptr)}};
  const auto& f = r.fusion;
  auto tally = [](const OpFusionTally& t) {
    return nlohmann::json{{"quantized", t.quantized}, {"fused", t.fused}, {"int8", t.int8}, {"float", t.float_}, {"unknown", t.unknown}};
  };
  nlohmann::json by_op = nlohmann::json::object(), ops = nlohmann::json::array();
  for (const auto& [op, t] : f.by_op) by_op[op] = tally(t);
  for (const auto& q : f.quantized_ops)
    ops.push_back({{"node", q.node}, {"op_type", q.op_type}, {"output", q.output}, {"status", fusion_status_name(q.status)},
                   {"runs_as", q.runs_as}, {"reason", q.reason}});
  j["fusion"] = {{"integer_kernels", f.integer_kernels}, {"integer_kernel_total", f.integer_kernel_total}, {"total", tally(f.total)},
                 {"by_op", by_op}, {"quantized_ops", ops},
                 {"qdq", {{"quantize_in_model", f.quantize_in_model}, {"dequantize_in_model", f.dequantize_in_model},
                          {"quantize_at_runtime", f.quantize_at_runtime}, {"dequantize_at_runtime", f.dequantize_at_runtime}}},
                 {"nodes_in_model", f.nodes_in_model}, {"nodes_at_runtime", f.nodes_at_runtime}};
  if (r.per_layer) {
    j["per_layer"] = nlohmann::json::array();
    for (const auto& l : *r.per_layer) {
      auto e = stats_json(l.stats);
      e["tensor"] = l.tensor;
      e["node"] = l.node;
      e["op_type"] = l.op_type;
      e["position"] = l.position;
      e["probe"] = layer_probe_name(l.probe);
      e["local_sqnr_db"] = number_or_null(l.local_sqnr_db);
      j["per_layer"].push_back(std::move(e));
    }
  } else {
    j["per_layer"] = nullptr;
  }
  j["notes"] = r.notes;
  j["onnxruntime"] = r.runtime_version;
  j["report_html"] = r.report_html.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.report_html);
  return j;
}

void write_validation_report(const ValidateResult& r, const fs::path& path) {
  HtmlReportInput in;
  in.reference = r.reference;
  in.candidate = r.candidate;
  in.command_line = r.command_line;
  in.generator = fmt::format("onnxquant {} with ONNX Runtime {}", ONNXQ_VERSION, r.runtime_version);
  in.samples = r.samples;
  in.synthetic_inputs = r.synthetic_inputs;
  in.verdict = r.verdict;
  in.fail_below = r.fail_below;
  in.passed = r.passed;
  in.outputs = r.outputs;
  in.per_layer = r.per_layer;
  if (r.latency)
    in.latency = HtmlLatency{.reference = r.latency->a, .candidate = r.latency->b, .speedup = r.latency->speedup,
                             .speedup_low = r.latency->speedup_low, .speedup_high = r.latency->speedup_high, .threads = r.threads};
  in.reference_bytes = r.reference_bytes;
  in.candidate_bytes = r.candidate_bytes;
  in.fusion = r.fusion;
  in.notes = r.notes;
  write_file_atomically(path, render_html_report(in));
}

}  // namespace onnxquant
