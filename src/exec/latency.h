// Latency measurement: warm-up runs, then timed runs, summarized robustly (median, p90, min).
#pragma once
#include <vector>

#include "core/tensor.h"

namespace onnxquant {

class Executor;

struct LatencyOptions {
  int warmup = 3;
  int runs = 20;
};

struct LatencyStats {
  std::vector<double> samples_ms;  // in run order
  double median_ms = 0, p90_ms = 0, min_ms = 0, mean_ms = 0;
};

LatencyStats summarize_latency(std::vector<double> samples_ms);
LatencyStats measure_latency(Executor& executor, const NamedTensors& inputs, const LatencyOptions& options = {});

}  // namespace onnxquant
