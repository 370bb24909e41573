#include "exec/latency.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "exec/executor.h"

namespace onnxquant {

static double percentile_sorted(const std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

LatencyStats summarize_latency(std::vector<double> samples) {
  LatencyStats s;
  s.samples_ms = samples;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.median_ms = percentile_sorted(samples, 0.5);
  s.p90_ms = percentile_sorted(samples, 0.9);
  s.min_ms = samples.front();
  s.mean_ms = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
  return s;
}

LatencyStats measure_latency(Executor& executor, const NamedTensors& inputs, const LatencyOptions& options) {
  for (int i = 0; i < options.warmup; ++i) executor.run(inputs);
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(std::max(options.runs, 0)));
  for (int i = 0; i < options.runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    executor.run(inputs);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return summarize_latency(std::move(ms));
}

}  // namespace onnxquant
