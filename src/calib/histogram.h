// Streaming histogram of signed values with power-of-two bin widths on a grid anchored at 0.
//
// Why signed x and not |x|: uint8 asymmetric (the default for activations) needs each side's range, and a
// ReLU output should not spend half its bins on negatives that never occur. The |x| histogram that
// TensorRT-style symmetric methods want is recovered exactly by folding (folded_abs()), because 0 is
// always a bin edge.
//
// Why power-of-two widths on a 0-anchored grid: bin k holds [k*w, (k+1)*w) with w = 2^e, so growing the
// range only ever merges whole bins (w -> 2w maps bin k to floor(k/2)), never splits one. The bin width
// and window are a pure function of the covered range, so
//   merge(histogram(A), histogram(B)) == histogram(A then B)   bit for bit,
// in any order: merging per-thread histograms is exact, associative and commutative. The price is that
// the window uses between half and all of its capacity: with the default 4096 slots the covered range
// always spans more than 2047 bin widths.
//
// The covered range always includes 0 (ranges we produce contain 0, so no resolution is lost that the
// quantization grid could use) and is widened to the observed min/max, never narrowed.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace onnxquant {

class Histogram {
 public:
  static constexpr int kDefaultCapacity = 4096;
  // Smallest bin width 2^-149 (the smallest float denormal): finer bins cannot separate floats.
  static constexpr int kMinWidthLog2 = -149;

  explicit Histogram(int capacity = kDefaultCapacity);

  // Widens the covered range to include [lo, hi] (and 0), re-binning the counts when the width or window
  // changes. lo <= hi, both finite. Cheap when nothing changes.
  void cover(float lo, float hi);
  // Counts n finite values that lie inside the covered range (call cover() with their min/max first).
  // O(n), no allocation: the hot path of calibration.
  void add_covered(const float* data, size_t n);
  // Like add_covered, but NaN and +-Inf are skipped (the observer counts them).
  void add_covered_finite_only(const float* data, size_t n);
  // Adds another histogram's counts (same capacity). Exact: see the header comment.
  void merge(const Histogram& other);

  bool empty() const { return width_log2_ == kUnset; }
  int capacity() const { return capacity_; }
  int width_log2() const { return width_log2_; }
  double bin_width() const;
  // Global index of slot 0: slot i holds [(first_bin + i) * w, (first_bin + i + 1) * w).
  int64_t first_bin() const { return first_bin_; }
  float covered_min() const { return lo_; }  // <= 0
  float covered_max() const { return hi_; }  // >= 0
  std::span<const uint64_t> counts() const { return counts_; }
  uint64_t total() const { return total_; }
  double lower_edge(size_t slot) const;

  // Slot range [begin, end) that holds the nonzero counts; empty when total() == 0.
  size_t first_nonzero() const;
  size_t end_nonzero() const;

  // Histogram of |x| at the same width: element k counts values with |x| in [k*w, (k+1)*w) (negative
  // values exactly on an edge land one bin up; irrelevant at >= 2048 bins). Trailing zeros trimmed.
  std::vector<uint64_t> folded_abs() const;
  // Positive side only (x >= 0), indexed like folded_abs(); negative side only (x < 0), folded.
  std::vector<uint64_t> positive_side() const;
  std::vector<uint64_t> negative_side() const;

  // Rebuilds a histogram from saved fields (ranges file): counts[i] is the count of global bin
  // counts_first_bin + i (leading/trailing zeros may be trimmed). The covered range is the observed range
  // widened to 0. Throws DataError when the fields are inconsistent.
  static Histogram restore(int capacity, int width_log2, float covered_min, float covered_max, int64_t counts_first_bin,
                           const std::vector<uint64_t>& counts);

  bool operator==(const Histogram& other) const;

 private:
  static constexpr int kUnset = -100000;
  // Smallest e >= min_e such that [lo, hi] fits in capacity bins of width 2^e.
  int width_for(double lo, double hi, int min_e) const;
  // Re-bins the counts to width 2^e and window starting at global bin `first`.
  void rebin(int e, int64_t first);

  int capacity_;
  int width_log2_ = kUnset;
  int64_t first_bin_ = 0;
  float lo_ = 0.0f;
  float hi_ = 0.0f;
  uint64_t total_ = 0;
  std::vector<uint64_t> counts_;  // allocated once, at construction
};

}  // namespace onnxquant
