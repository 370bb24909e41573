#include "pipeline/sensitivity_fallback.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "analysis/compare.h"
#include "exec/latency.h"
#include "ir/model.h"
#include "pipeline/quantize_job.h"

namespace onnxquant {

namespace {

struct Candidate {
  std::string node, op_type;
  double sensitivity = 0;
};

// Nodes worth returning to FP32: quantized under a rule that computes (Conv, Gemm, Add, Sigmoid, ...).
// Relu folds and pass-throughs follow their neighbours, and unnamed nodes cannot be named in `exclude`.
std::vector<Candidate> candidates(const QuantPlan& plan) {
  std::vector<Candidate> c;
  for (const auto& n : plan.nodes)
    if (n.quantized && !n.node.empty() && n.rule != "relu_folded" && n.rule != "pass_through") c.push_back({n.node, n.op_type, 0});
  return c;
}

class Judge {
 public:
  Judge(const Model& fp32, const std::vector<NamedTensors>& samples, const ExecOptions& exec) : samples_(samples) {
    Executor reference(fp32, exec);
    for (const auto& s : samples) reference_.push_back(reference.run(s));
  }
  double cosine(const Model& candidate, const ExecOptions& exec) const {
    Executor e(candidate, exec);
    return mean_output_cosine(reference_, e, samples_);
  }

 private:
  const std::vector<NamedTensors>& samples_;
  std::vector<NamedTensors> reference_;
};

StaticPlanOptions with_excluded(const StaticPlanOptions& plan, const std::vector<std::string>& nodes) {
  StaticPlanOptions o = plan;
  o.exclude.insert(o.exclude.end(), nodes.begin(), nodes.end());
  return o;
}

}  // namespace

double mean_output_cosine(const std::vector<NamedTensors>& reference_outputs, Executor& candidate, const std::vector<NamedTensors>& samples) {
  std::map<std::string, double> sums;
  for (size_t i = 0; i < samples.size(); ++i) {
    const NamedTensors got = candidate.run(samples[i]);
    for (const auto& [name, want] : reference_outputs[i]) sums[name] += compare_tensors(want, got.at(name), name).cosine;
  }
  double worst = 1.0;
  for (const auto& [name, sum] : sums) worst = std::min(worst, sum / static_cast<double>(samples.size()));
  return worst;
}

FallbackResult fall_back_to_target(const Model& fp32, const std::map<std::string, Range>& ranges, const StaticPlanOptions& plan,
                                   const std::vector<NamedTensors>& measure, const std::vector<NamedTensors>& held_out,
                                   const ExecOptions& exec, const FallbackOptions& options) {
  FallbackResult r;
  const Judge measure_judge(fp32, measure, exec);
  const Judge held_out_judge(fp32, held_out, exec);
  const LatencyOptions timing{1, options.latency_runs};
  auto latency = [&](const Model& m) {
    Executor e(m, exec);
    return measure_latency(e, held_out.front(), timing).median_ms;
  };
  r.fp32_latency_ms = latency(fp32);

  const StaticQuantization all = quantize_static(fp32, ranges, plan, options.rounded);
  r.steps.push_back({"", "", 0, held_out_judge.cosine(all.model, exec), latency(all.model)});
  if (r.steps.back().cosine >= options.target_cosine) {
    r.reached = true;
    return r;
  }
  // The model with the current exclusions (built by the last step anyway) and its cosine on the measure
  // samples, judged once per exclusion set rather than once per gains() call.
  Model last_step;
  const Model* current = &all.model;
  std::optional<double> current_cosine;
  // Leave-one-out sensitivity on the measure samples, given the nodes already returned to FP32.
  auto gains = [&](std::vector<Candidate>& pool) {
    if (!current_cosine) current_cosine = measure_judge.cosine(*current, exec);
    const double base = *current_cosine;
    for (auto& c : pool) {
      std::vector<std::string> trial = r.excluded;
      trial.push_back(c.node);
      c.sensitivity = measure_judge.cosine(quantize_static(fp32, ranges, with_excluded(plan, trial), options.rounded).model, exec) - base;
    }
    std::stable_sort(pool.begin(), pool.end(), [](const Candidate& a, const Candidate& b) { return a.sensitivity > b.sensitivity; });
  };
  std::vector<Candidate> ranked = candidates(all.plan);
  gains(ranked);
  // Greedy: what a node buys depends on which nodes are already float (noise from early layers is
  // amplified by later ones), so before each step the front of the ranking is judged again with the
  // current exclusions and the best of it taken. Only `rejudge` nodes, to bound the cost; when none of
  // them gains, the whole ranking is judged again once before giving up.
  const size_t rejudge = static_cast<size_t>(std::max(1, options.rejudge));
  bool full_ranking = true;
  while (static_cast<int>(r.excluded.size()) < options.max_layers && !ranked.empty()) {
    if (!r.excluded.empty()) {
      std::vector<Candidate> front(ranked.begin(), ranked.begin() + static_cast<ptrdiff_t>(std::min(rejudge, ranked.size())));
      gains(front);
      std::copy(front.begin(), front.end(), ranked.begin());
      full_ranking = front.size() == ranked.size();
    }
    if (ranked.front().sensitivity <= 0) {
      if (full_ranking) break;
      gains(ranked);
      full_ranking = true;
      if (ranked.front().sensitivity <= 0) break;
    }
    const Candidate c = ranked.front();
    ranked.erase(ranked.begin());
    r.excluded.push_back(c.node);
    last_step = quantize_static(fp32, ranges, with_excluded(plan, r.excluded), options.rounded).model;
    current = &last_step;
    current_cosine.reset();
    r.steps.push_back({c.node, c.op_type, c.sensitivity, held_out_judge.cosine(last_step, exec), latency(last_step)});
    if (r.steps.back().cosine >= options.target_cosine) {
      r.reached = true;
      break;
    }
  }
  if (!r.reached) {
    // Keep the step that came closest (the fewest layers on a tie): later layers can cost more than
    // they buy on the held-out samples.
    size_t best = 0;
    for (size_t i = 1; i < r.steps.size(); ++i)
      if (r.steps[i].cosine > r.steps[best].cosine) best = i;
    r.kept_step = static_cast<int>(best);
    r.excluded.resize(best);
  }
  return r;
}

}  // namespace onnxquant
