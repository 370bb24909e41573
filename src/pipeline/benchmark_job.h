// `onnxquant benchmark MODEL...`: how fast and how heavy each model is on ONNX Runtime, side by side;
// and the paired A/B timing `validate` uses to say how much faster a candidate is than its reference.
//
// Peak memory: each model is measured in a forked child process (MemoryIsolation::ForkPerModel) so that
// one model's allocations, ORT's arenas and the allocator's cached pages cannot inflate the next one's.
// The child resets the kernel's high-water mark (writes 5 to /proc/self/clear_refs), reads VmRSS, loads
// the model, creates the session, runs warm-up and timed runs, then reads VmHWM: `peak_rss_delta_bytes` =
// VmHWM - VmRSS-before is the memory the model cost; `peak_rss_bytes` is VmHWM itself. Where the reset is
// not allowed the high-water mark can include the parent's peak; the result says which method held.
//
// Session creation time is ORT's own load + graph optimization of the file (Executor(path)).
// Throughput is inferences per second over the timed runs (1000 / mean ms), one sample per inference.
#pragma once
#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "exec/executor.h"
#include "exec/latency.h"
#include "io/model_inputs.h"

namespace onnxquant {

enum class MemoryIsolation {
  ForkPerModel,  // clean per-model peak RSS (default)
  InProcess,     // no fork (for callers that must not fork); peaks are upper bounds after the first model
};

struct BenchmarkRequest {
  std::vector<std::filesystem::path> models;
  InputOptions inputs;  // the same data options for every model (first sample is timed)
  ExecOptions exec;
  LatencyOptions latency{.warmup = 3, .runs = 50};
  MemoryIsolation isolation = MemoryIsolation::ForkPerModel;
};

struct BenchmarkEntry {
  std::string model;
  uint64_t file_bytes = 0;
  double session_create_ms = 0;
  LatencyStats latency;
  double throughput_per_s = 0;
  uint64_t peak_rss_bytes = 0;
  uint64_t peak_rss_delta_bytes = 0;
  std::string memory_method;  // "clear_refs" (reset high-water mark) or "hwm" (not reset)
};

struct BenchmarkResult {
  std::vector<BenchmarkEntry> entries;  // in request order
  int threads = 1;
  int runs = 0, warmup = 0;
  std::string isolation;  // "fork" or "in-process"
  std::string runtime_version;
};

// Throws LoadError / RuntimeError / DataError naming the model that failed.
BenchmarkResult benchmark_models(const BenchmarkRequest& request);
nlohmann::json to_json(const BenchmarkResult& result);

// Paired timing of two models: after warm-up, runs alternate A, B, A, B, ... so that machine noise
// (other processes, frequency changes) hits both alike. `speedup` = median(A) / median(B): above 1 means
// B is faster. Its spread is a 95% paired bootstrap interval: 2000 resamples of the (A_i, B_i) pairs,
// the ratio of medians of each, 2.5th and 97.5th percentiles (fixed seed, so reruns of the same timings
// give the same interval).
struct PairedLatency {
  LatencyStats a, b;
  int warmup = 0;
  double speedup = 0, speedup_low = 0, speedup_high = 0;
};
PairedLatency measure_paired(Executor& a, const NamedTensors& a_inputs, Executor& b, const NamedTensors& b_inputs,
                             const LatencyOptions& options);
// The bootstrap interval alone (exposed for tests): {low, high}.
std::pair<double, double> bootstrap_speedup_interval(const std::vector<double>& a_ms, const std::vector<double>& b_ms);

}  // namespace onnxquant
