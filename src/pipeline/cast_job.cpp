#include "pipeline/cast_job.h"

#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/half.h"
#include "ir/model.h"

namespace onnxquant {

namespace {

// Below this speedup half counts as slower; between it and its inverse, as "about the same" (timing
// noise on a busy machine is a few percent even with interleaved runs).
constexpr double kSameSpeedBand = 0.97;

std::string checker_error(const Model& m) {
  try {
    onnx::checker::check_model(m.proto());
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// ORT's own words, without the executor's "ONNX Runtime refused the model: " lead-in.
std::string ort_reason(const std::string& what) {
  const std::string lead = "ONNX Runtime refused the model: ";
  const std::string line = first_line(what);
  return line.rfind(lead, 0) == 0 ? line.substr(lead.size()) : line;
}

// Samples are float32 for the original; a half-io model gets the same values in its own input types.
NamedTensors adapt_inputs(const NamedTensors& sample, const std::vector<IoInfo>& wanted) {
  NamedTensors out = sample;
  for (const auto& info : wanted) {
    auto it = out.find(info.name);
    if (it == out.end() || it->second.dtype == info.dtype || it->second.dtype != DType::Float32) continue;
    if (info.dtype != DType::Float16 && info.dtype != DType::BFloat16) continue;
    Tensor h(info.dtype, it->second.shape);
    const auto src = it->second.as<float>();
    auto dst = h.as<uint16_t>();
    for (size_t i = 0; i < src.size(); ++i) dst[i] = info.dtype == DType::Float16 ? float_to_half(src[i]) : float_to_bfloat16(src[i]);
    it->second = std::move(h);
  }
  return out;
}

struct Candidate {
  Model model;
  CastStats stats;
  HalfCompute compute;
};

// The rewrite edits `original` in place (each weight is replaced by its half copy as it is converted), so
// a 2 GB model is never held twice.
Candidate rewrite(Model original, const CastRequest& req, HalfCompute compute, bool original_passes_checker) {
  Candidate c{std::move(original), {}, compute};
  c.stats = cast_precision(c.model, {.type = req.precision, .compute = compute,
                                     .io = req.keep_io_types ? IoTypes::KeepFloat32 : IoTypes::Half});
  // A model that failed the checker before the rewrite cannot be held to it after.
  if (const std::string err = original_passes_checker ? checker_error(c.model) : ""; !err.empty())
    throw VerificationError("the " + std::string(half_type_name(req.precision)) + " model fails the ONNX checker: " + first_line(err),
                            "this is a bug in onnxquant's cast pass; please report it with the model");
  return c;
}

// The input model with its weights left on disk (checked, not read): sessions of it read them from the
// file, and only the rewrite brings them into memory.
Model load_deferred(const std::filesystem::path& path) { return Model::load(path, {.external_data = ExternalDataLoad::Defer}); }

Model load_whole(const std::filesystem::path& path) {
  Model m = load_deferred(path);
  m.load_deferred_data();
  return m;
}

nlohmann::json stats_json(const CompareStats& s) {
  nlohmann::json j{{"cosine", s.cosine}, {"max_abs_error", s.max_abs_error}, {"mean_abs_error", s.mean_abs_error}, {"nonfinite", s.nonfinite}};
  j["sqnr_db"] = std::isfinite(s.sqnr_db) ? nlohmann::json(s.sqnr_db) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json latency_json(const LatencyStats& s) {
  return {{"median", s.median_ms}, {"p90", s.p90_ms}, {"min", s.min_ms}, {"mean", s.mean_ms}};
}

void add_speed_notes(CastResult& r) {
  const char* type = half_type_name(r.precision);
  if (r.compute == HalfCompute::WeightsOnly) {
    r.notes.push_back(fmt::format("weights are stored in {} and the model computes in float32: ONNX Runtime converts them back at "
                                  "load, so it runs at float32 speed; the gain is the file size ({:.2f}x)",
                                  type, r.size_ratio));
    return;
  }
  if (!r.float_latency || !r.half_latency) return;
  const std::string threads = r.threads == 0 ? "all cores" : fmt::format("{} thread{}", r.threads, r.threads == 1 ? "" : "s");
  const std::string where = fmt::format("with {} on ONNX Runtime {} (CPU)", threads, r.runtime_version);
  if (r.half_slower)
    r.notes.push_back(fmt::format(
        "{} is SLOWER than float32 here: {:.2f} ms vs {:.2f} ms median ({:.2f}x) {}. ORT's CPU EP has no {} kernels for "
        "most ops: it casts to float32 and computes there, and some of its float32 fusions no longer apply. "
        "The gain is the file size ({:.2f}x), not speed; for speed on this machine keep float32, or use --weights-only for a "
        "half-size file that runs at float32 speed",
        type, r.half_latency->median_ms, r.float_latency->median_ms, r.speedup, where, type, r.size_ratio));
  else if (r.speedup < 1 / kSameSpeedBand)
    r.notes.push_back(fmt::format("{} runs at about float32 speed here ({:.2f} ms vs {:.2f} ms median) {}", type, r.half_latency->median_ms,
                                  r.float_latency->median_ms, where));
}

}  // namespace

CastResult cast_model(const CastRequest& req) {
  // Memory: one copy of the weights at a time, ours or a session's; only the latency runs hold both
  // sessions, after our copy is written out and freed (README "Hardening").
  Model original = load_deferred(req.input);
  CastResult r;
  r.input = req.input.string();
  r.precision = req.precision;
  r.keep_io_types = req.keep_io_types;
  r.threads = req.exec.intra_op_threads;
  r.runtime_version = runtime_version();
  r.input_bytes = original.byte_size();

  // The float32 outputs of every sample, computed first so that the float32 session is gone before our
  // copy of the weights is read and rewritten.
  std::vector<NamedTensors> samples = req.samples;
  std::vector<IoInfo> reference_outputs_info;
  std::vector<NamedTensors> reference_outputs;
  {
    Executor reference = open_loaded_model(original, req.input, req.exec);
    if (samples.empty()) samples = load_model_inputs(reference.inputs(), req.inputs);
    if (samples.empty()) throw DataError(r.input + ": no input sample to verify the cast model with");
    reference_outputs_info = reference.outputs();
    for (const auto& sample : samples) reference_outputs.push_back(reference.run(sample));
  }

  original.load_deferred_data();
  const int64_t opset = original.opset("");
  const std::string original_check = checker_error(original);
  if (!original_check.empty())
    r.notes.push_back("the original model already fails the ONNX checker (" + first_line(original_check) + "); the result was not held to it");

  Candidate cand = rewrite(std::move(original), req, req.compute == CastCompute::WeightsOnly ? HalfCompute::WeightsOnly : HalfCompute::Full,
                           original_check.empty());
  if (req.compute == CastCompute::Auto && cand.stats.half_nodes == 0) {
    // The schemas let nothing compute in half (bfloat16 before opset 13): half weights still halve the file.
    Candidate weights = rewrite(load_whole(req.input), req, HalfCompute::WeightsOnly, original_check.empty());
    if (weights.stats.constants_converted > 0) {
      r.notes.push_back(fmt::format("at opset {} the ONNX schemas allow {} for none of this model's compute nodes; stored the weights in {} "
                                    "with float32 compute instead",
                                    opset, half_type_name(req.precision), half_type_name(req.precision)));
      cand = std::move(weights);
    }
  }
  if (cand.stats.half_nodes == 0 && cand.stats.constants_converted == 0)
    throw UnsupportedOpError(fmt::format("nothing in {} can be stored or computed in {} (opset {}{}); no model written", r.input,
                                         half_type_name(req.precision), opset,
                                         cand.stats.kept_float.empty() ? "" : ": " + cand.stats.kept_float.front().reason),
                             "try --precision fp16");
  std::optional<Executor> half;
  NamedTensors first_outputs;
  std::optional<PendingFiles> output;
  auto load_and_run_once = [&] {
    r.output_bytes = cand.model.byte_size();
    // The output goes to its temp file (published at the end, after every check) and our copy of the
    // weights is handed to the session, which frees it before ORT reads its own.
    output.reset();
    if (!req.output.empty()) cand.model.save(req.output, output.emplace());
    half.emplace(std::move(cand.model), req.exec);
    first_outputs = half->run(adapt_inputs(samples.front(), half->inputs()));
  };
  try {
    load_and_run_once();
  } catch (const RuntimeError& e) {
    if (req.compute != CastCompute::Auto || cand.compute != HalfCompute::Full)
      throw RuntimeError(std::string("ONNX Runtime refused the ") + half_type_name(req.precision) + " model: " + ort_reason(e.what()),
                         "try --weights-only (half weights, float32 compute)");
    r.notes.push_back(fmt::format("ONNX Runtime {} refused {} compute ({}); fell back to {} weights with float32 compute", r.runtime_version,
                                  half_type_name(req.precision), ort_reason(e.what()), half_type_name(req.precision)));
    cand = rewrite(load_whole(req.input), req, HalfCompute::WeightsOnly, original_check.empty());
    load_and_run_once();
  }
  r.compute = cand.compute;
  r.rewrite = cand.stats;
  r.size_ratio = r.input_bytes ? static_cast<double>(r.output_bytes) / static_cast<double>(r.input_bytes) : 0;

  // Accuracy: every output of every sample, against the original on the same inputs.
  CompareAccumulator overall;
  std::vector<CompareAccumulator> per_output(reference_outputs_info.size());
  for (size_t s = 0; s < samples.size(); ++s) {
    const NamedTensors& ref = reference_outputs[s];
    const NamedTensors got = s == 0 ? first_outputs : half->run(adapt_inputs(samples[s], half->inputs()));
    for (size_t o = 0; o < reference_outputs_info.size(); ++o) {
      const std::string& name = reference_outputs_info[o].name;
      per_output[o].add(ref.at(name), got.at(name), name);
      overall.add(ref.at(name), got.at(name), name);
    }
  }
  reference_outputs.clear();
  r.samples = static_cast<int64_t>(samples.size());
  r.accuracy = overall.stats();
  for (size_t o = 0; o < per_output.size(); ++o) r.outputs.push_back({reference_outputs_info[o].name, per_output[o].stats()});
  if (req.min_cosine > 0 && !(r.accuracy.cosine >= req.min_cosine))
    throw VerificationError(fmt::format("cosine {:.6f} vs float32 is below the required {:.6f}; nothing written", r.accuracy.cosine, req.min_cosine));

  // Latency: interleaved A,B runs after warm-up, so drift (thermal, other load) hits both equally.
  if (req.latency.runs > 0) {
    const Model reloaded = load_deferred(req.input);
    Executor reference = open_loaded_model(reloaded, req.input, req.exec);
    const NamedTensors& a_in = samples.front();
    const NamedTensors b_in = adapt_inputs(samples.front(), half->inputs());
    for (int i = 0; i < req.latency.warmup; ++i) { reference.run(a_in); half->run(b_in); }
    std::vector<double> a_ms, b_ms;
    auto timed = [](Executor& ex, const NamedTensors& in) {
      const auto t0 = std::chrono::steady_clock::now();
      ex.run(in);
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    };
    for (int i = 0; i < req.latency.runs; ++i) {
      a_ms.push_back(timed(reference, a_in));
      b_ms.push_back(timed(*half, b_in));
    }
    r.float_latency = summarize_latency(std::move(a_ms));
    r.half_latency = summarize_latency(std::move(b_ms));
    r.speedup = r.half_latency->median_ms > 0 ? r.float_latency->median_ms / r.half_latency->median_ms : 0;
    r.half_slower = r.compute == HalfCompute::Full && r.speedup < kSameSpeedBand;
  }

  add_speed_notes(r);
  if (r.rewrite.clamped_values)
    r.notes.push_back(fmt::format("{} weight values beyond ±65504 were clamped to fit float16", r.rewrite.clamped_values));
  if (r.accuracy.nonfinite)
    r.notes.push_back(fmt::format("{} output values are NaN/Inf in only one of the two models (activations beyond the {} range?)",
                                  r.accuracy.nonfinite, half_type_name(r.precision)));
  if (output) {
    output->commit();
    r.output = req.output.string();
    r.written = true;
  }
  return r;
}

nlohmann::json to_json(const CastResult& r) {
  nlohmann::json j{{"command", "cast"}, {"schema_version", 1}};
  j["input"] = r.input;
  j["output"] = r.written ? nlohmann::json(r.output) : nlohmann::json(nullptr);
  j["written"] = r.written;
  j["precision"] = half_type_name(r.precision);
  j["compute"] = r.compute == HalfCompute::Full ? "half" : "weights_only";
  j["io_types"] = r.keep_io_types || r.compute == HalfCompute::WeightsOnly ? "float32" : "half";
  j["size"] = {{"input_bytes", r.input_bytes}, {"output_bytes", r.output_bytes},
               {"ratio", r.input_bytes ? nlohmann::json(r.size_ratio) : nlohmann::json(nullptr)}};
  const auto& s = r.rewrite;
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& k : s.kept_float) kept.push_back({{"op_type", k.op_type}, {"reason", k.reason}, {"count", k.count}});
  j["rewrite"] = {{"half_nodes", s.half_nodes},
                  {"float_nodes", s.float_nodes},
                  {"casts_inserted", s.casts_inserted},
                  {"casts_retyped", s.casts_retyped},
                  {"constants_converted", s.constants_converted},
                  {"constants_duplicated", s.constants_duplicated},
                  {"half_weight_elements", s.half_weight_elements},
                  {"clamped_values", s.clamped_values},
                  {"kept_float", kept}};
  nlohmann::json acc = stats_json(r.accuracy);
  acc["samples"] = r.samples;
  acc["outputs"] = nlohmann::json::array();
  for (const auto& o : r.outputs) {
    nlohmann::json oj = stats_json(o.stats);
    oj["name"] = o.name;
    acc["outputs"].push_back(oj);
  }
  j["accuracy"] = acc;
  if (r.float_latency && r.half_latency)
    j["latency"] = {{"threads", r.threads},
                    {"runs", r.float_latency->samples_ms.size()},
                    {"float32_ms", latency_json(*r.float_latency)},
                    {"half_ms", latency_json(*r.half_latency)},
                    {"speedup", r.speedup}};
  else
    j["latency"] = nullptr;
  j["half_slower"] = r.half_slower;
  j["onnxruntime"] = r.runtime_version;
  j["notes"] = r.notes;
  return j;
}

}  // namespace onnxquant
