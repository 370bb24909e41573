// Calibration hot path: Observer::observe() throughput (reported as bytes/s of float input), plus the
// per-tensor cost of merging and of each range method. ResNet50 exposes ~150 tensors, some with 800k
// floats per sample, so observe() must run far faster than the model produces activations.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <vector>

#include "calib/observer.h"
#include "calib/range_methods.h"

using namespace onnxquant;

namespace {

constexpr size_t kFloats = 1 << 20;  // 1M floats = 4 MiB, about one large ResNet50 activation

enum class Shape { Gaussian, Relu };

std::vector<float> make_data(Shape shape, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(kFloats);
  for (auto& x : v) x = shape == Shape::Relu ? std::max(0.0f, d(rng)) : d(rng);
  return v;
}

// Steady state: the range no longer grows, so each call is the two O(n) passes and nothing else.
void BM_ObserveSteadyState(benchmark::State& state, Shape shape) {
  const auto data = make_data(shape, 1);
  Observer o;
  o.observe(data);
  for (auto _ : state) {
    o.observe(data);
    benchmark::DoNotOptimize(o.counts().finite);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size() * sizeof(float)));
}
BENCHMARK_CAPTURE(BM_ObserveSteadyState, gaussian, Shape::Gaussian)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ObserveSteadyState, relu_half_zeros, Shape::Relu)->Unit(benchmark::kMicrosecond);

// A fresh observer every time: includes the first cover (and, with the scaled second half, a re-bin).
void BM_ObserveFreshGrowing(benchmark::State& state) {
  auto data = make_data(Shape::Gaussian, 2);
  for (size_t i = data.size() / 2; i < data.size(); ++i) data[i] *= 8.0f;
  for (auto _ : state) {
    Observer o;
    o.observe(data.data(), data.size() / 2);
    o.observe(data.data() + data.size() / 2, data.size() / 2);
    benchmark::DoNotOptimize(o.counts().finite);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size() * sizeof(float)));
}
BENCHMARK(BM_ObserveFreshGrowing)->Unit(benchmark::kMicrosecond);

void BM_Merge(benchmark::State& state) {
  Observer a, b;
  a.observe(make_data(Shape::Gaussian, 3));
  auto wide = make_data(Shape::Gaussian, 4);
  for (auto& x : wide) x *= 3.0f;
  b.observe(wide);
  for (auto _ : state) {
    Observer m = a;
    m.merge(b);
    benchmark::DoNotOptimize(m.counts().finite);
  }
}
BENCHMARK(BM_Merge)->Unit(benchmark::kMicrosecond);

// Per-tensor cost of choosing a range: this runs once per tensor after calibration.
void BM_SelectRange(benchmark::State& state, RangeMethod method, QuantTarget target) {
  Observer o;
  o.observe(make_data(Shape::Gaussian, 5));
  RangeOptions options;
  options.method = method;
  options.target = target;
  for (auto _ : state) benchmark::DoNotOptimize(select_range(o, options));
}
BENCHMARK_CAPTURE(BM_SelectRange, minmax, RangeMethod::MinMax, QuantTarget::UInt8Asymmetric)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_SelectRange, percentile, RangeMethod::Percentile, QuantTarget::UInt8Asymmetric)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_SelectRange, entropy_sym, RangeMethod::Entropy, QuantTarget::Int8Symmetric)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_SelectRange, entropy_asym, RangeMethod::Entropy, QuantTarget::UInt8Asymmetric)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_SelectRange, mse_sym, RangeMethod::Mse, QuantTarget::Int8Symmetric)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_SelectRange, mse_asym, RangeMethod::Mse, QuantTarget::UInt8Asymmetric)->Unit(benchmark::kMicrosecond);

}  // namespace
