// Per-tensor calibration statistics gathered while the model runs: min/max of the finite values, counts
// (finite, exact zeros, NaN, +-Inf) and a histogram. Activations are never kept; one observer is a few
// tens of KB whatever the tensor size or sample count. Range methods (range_methods.h) read only this, so
// switching method never re-runs the model.
//
// Threads: give each thread its own observers and merge() them at the end; merging is exact (merging
// two observers gives exactly the observer that saw both streams, see histogram.h).
//
// NaN/Inf: counted, excluded from min/max and the histogram. The observer does not throw: the pipeline
// checks has_nonfinite() after each sample and reports the tensor and sample by name.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "calib/histogram.h"

namespace onnxquant {

struct ObserverOptions {
  int histogram_capacity = Histogram::kDefaultCapacity;
};

// What a range method needs besides the histogram; also what the ranges file stores.
struct ObserverCounts {
  uint64_t finite = 0;
  uint64_t zeros = 0;  // exact 0.0 (e.g. after ReLU): exact on every grid, so MSE does not charge them noise
  uint64_t nan = 0;
  uint64_t pos_inf = 0;
  uint64_t neg_inf = 0;
  bool operator==(const ObserverCounts&) const = default;
};

class Observer {
 public:
  explicit Observer(ObserverOptions options = {});

  // O(n) with no allocation: one pass for min/max/zeros/non-finite check, one binning pass. Re-bins (O(bins))
  // only when the range grows.
  void observe(const float* data, size_t n);
  void observe(std::span<const float> data) { observe(data.data(), data.size()); }
  void merge(const Observer& other);

  bool empty() const { return counts_.finite == 0; }  // no finite value seen
  // Finite min/max; only meaningful when !empty().
  float min() const { return min_; }
  float max() const { return max_; }
  const ObserverCounts& counts() const { return counts_; }
  uint64_t nonfinite_count() const { return counts_.nan + counts_.pos_inf + counts_.neg_inf; }
  bool has_nonfinite() const { return nonfinite_count() != 0; }
  const Histogram& histogram() const { return histogram_; }

  // Rebuilds an observer from a ranges file that kept its histogram, so another method can be applied
  // without running the model. Throws DataError when the parts disagree.
  static Observer restore(float min, float max, const ObserverCounts& counts, Histogram histogram);

  bool operator==(const Observer& other) const;

 private:
  void observe_with_nonfinite(const float* data, size_t n);

  float min_;
  float max_;
  ObserverCounts counts_;
  Histogram histogram_;
};

}  // namespace onnxquant
