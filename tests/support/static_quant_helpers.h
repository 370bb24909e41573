// Shared by the static INT8 unit tests: a min/max calibration stand-in, random samples, op counts, and
// the cosine of a quantized model's outputs against FP32 when ORT runs both.
#pragma once
#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "analysis/compare.h"
#include "exec/executor.h"
#include "ir/model.h"
#include "quant/quant_params.h"
#include "quant/quant_plan.h"
#include "quant/static_planner.h"
#include "rewrite/expose_tensors.h"
#include "support/graph_builder.h"

namespace onnxquant::test {

// Plan options for a given CPU. kVnni: weights use the full [-127, 127] grid whatever machine runs the tests.
inline StaticPlanOptions for_cpu(CpuTarget cpu) {
  StaticPlanOptions o;
  o.target_cpu = cpu;
  return o;
}
inline const StaticPlanOptions kVnni = for_cpu(CpuTarget::Avx512Vnni);

// Calibration stand-in: min/max (always including 0) of every float tensor over the samples.
inline std::map<std::string, Range> minmax_ranges(const Model& model, const std::vector<NamedTensors>& samples) {
  Model exposed = model.clone();
  ExposeTensors(intermediate_tensor_names(exposed)).run(exposed);
  Executor ex(exposed);
  std::map<std::string, Range> ranges;
  auto observe = [&](const std::string& name, const Tensor& t) {
    if (t.dtype != DType::Float32) return;
    Range& r = ranges[name];
    for (float v : t.as<float>()) {
      r.min = std::min(r.min, double(v));
      r.max = std::max(r.max, double(v));
    }
  };
  for (const auto& s : samples) {
    for (const auto& [n, t] : s) observe(n, t);
    for (const auto& [n, t] : ex.run(s)) observe(n, t);
  }
  return ranges;
}

inline std::vector<NamedTensors> random_samples(const std::string& input, const Shape& shape, int count, float lo = -1.f, float hi = 1.f) {
  std::vector<NamedTensors> out;
  for (int i = 0; i < count; ++i) out.push_back({{input, random_float_tensor(shape, 100 + i, lo, hi)}});
  return out;
}

inline int count_ops(const Model& m, const std::string& op_type) {
  int n = 0;
  for (const auto& node : m.proto().graph().node()) n += node.op_type() == op_type;
  return n;
}

inline double cosine_vs_fp32(const Model& fp32, const Model& q, const std::vector<NamedTensors>& samples) {
  Executor a(fp32), b(q);
  CompareAccumulator acc;
  for (const auto& s : samples) {
    const auto x = a.run(s), y = b.run(s);
    for (const auto& [n, t] : x) acc.add(t, y.at(n), n);
  }
  return acc.stats().cosine;
}

inline const NodeDecision& node_decision(const QuantPlan& p, const std::string& name) {
  for (const auto& n : p.nodes)
    if (n.node == name) return n;
  throw std::runtime_error("no decision for node " + name);
}

inline std::vector<const TensorDecision*> param_decisions(const QuantPlan& p, const std::string& consumer, TensorRole role) {
  std::vector<const TensorDecision*> out;
  for (const auto& t : p.tensors)
    if (t.consumer == consumer && t.role == role) out.push_back(&t);
  return out;
}

inline Tensor initializer(const Model& m, const std::string& name) {
  for (const auto& t : m.proto().graph().initializer())
    if (t.name() == name) return tensor_from_proto(t);
  throw std::runtime_error("no initializer " + name);
}

}  // namespace onnxquant::test
