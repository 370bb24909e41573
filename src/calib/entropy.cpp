// Entropy (KL-divergence) calibration, as in NVIDIA's "8-bit Inference with TensorRT" (GTC 2017):
//   for each candidate threshold of i bins (i from `levels` up):
//     P = bins[0..i), with all the mass beyond (the outliers) added to P[i-1]
//     Q = bins[0..i) merged into `levels` groups, each group's mass spread evenly over the group's bins
//         where P is nonzero (as MXNet's implementation does)
//     KL(P || Q) after normalizing both
//   threshold = i* x bin width for the i* with the smallest divergence.
// Evaluated naively that is O(bins^2) per tensor. Because Q is constant inside a group, the divergence
// only needs per-group sums, so with prefix sums of h, h*log(h) and of nonzero counts each candidate is
// O(levels): the exhaustive search over every i (no stride) costs ~bins x levels operations.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "calib/range_methods.h"

namespace onnxquant {

namespace {

double xlogx(double x) { return x > 0.0 ? x * std::log(x) : 0.0; }

// Threshold (in value units) for one side's histogram: h[k] counts |x| in [k*w, (k+1)*w).
double kl_threshold(std::vector<uint64_t> h, double width, int levels, int max_bins) {
  while (h.size() > static_cast<size_t>(max_bins)) {
    // Pair merges are exact because bins are aligned at 0 (histogram.h).
    std::vector<uint64_t> coarse((h.size() + 1) / 2, 0);
    for (size_t k = 0; k < h.size(); ++k) coarse[k / 2] += h[k];
    h.swap(coarse);
    width *= 2.0;
  }
  while (!h.empty() && h.back() == 0) h.pop_back();
  const size_t n = h.size();
  const auto L = static_cast<size_t>(levels);
  if (n <= L) return static_cast<double>(n) * width;  // already no finer than the quantization grid

  std::vector<double> sum(n + 1, 0.0), sum_xlogx(n + 1, 0.0);
  std::vector<int64_t> nonzero(n + 1, 0);
  for (size_t k = 0; k < n; ++k) {
    const double c = static_cast<double>(h[k]);
    sum[k + 1] = sum[k] + c;
    sum_xlogx[k + 1] = sum_xlogx[k] + xlogx(c);
    nonzero[k + 1] = nonzero[k] + (h[k] != 0);
  }
  const double total = sum[n];

  double best_kl = std::numeric_limits<double>::infinity();
  size_t best_i = n;
  for (size_t i = L; i <= n; ++i) {
    const double outliers = total - sum[i];
    const double last = static_cast<double>(h[i - 1]);
    const double p_last = last + outliers;
    // KL = (1/SP) * sum P log P - (1/SP) * sum P log Q + log(SQ / SP), with SP = total, SQ = sum[i].
    const double sum_plogp = sum_xlogx[i] - xlogx(last) + xlogx(p_last);
    if (sum[i] <= 0.0) continue;
    double sum_plogq = 0.0;
    bool infinite = false;
    for (size_t g = 0; g < L; ++g) {
      const size_t a = g * i / L, b = (g + 1) * i / L;  // even split; every group has >= 1 bin as i >= L
      const double q_mass = sum[b] - sum[a];
      double p_mass = q_mass;
      int64_t support = nonzero[b] - nonzero[a];
      if (b == i) {
        p_mass += outliers;
        if (last == 0.0 && outliers > 0.0) ++support;  // P[i-1] became nonzero through the outliers
      }
      if (p_mass <= 0.0) continue;
      if (q_mass <= 0.0) {  // P has mass where Q has none: infinite divergence
        infinite = true;
        break;
      }
      sum_plogq += p_mass * std::log(q_mass / static_cast<double>(support));
    }
    if (infinite) continue;
    const double kl = (sum_plogp - sum_plogq) / total + std::log(sum[i] / total);
    if (kl < best_kl) {
      best_kl = kl;
      best_i = i;
    }
  }
  return static_cast<double>(best_i) * width;
}

// Exact zeros (ReLU outputs, padding) are exact on every grid, so they carry no information about the
// threshold; left in, their spike in bin 0 dominates the KL and drags the threshold to wherever bin 0 still
// has a quantization group of its own (e.g. i < 2 * levels), whatever the rest of the distribution.
std::vector<uint64_t> without_zeros(std::vector<uint64_t> h, uint64_t zeros) {
  if (!h.empty()) h[0] -= std::min(h[0], zeros);
  return h;
}

// Below this many levels a side is too coarse for the KL search to mean anything: keep its extent.
constexpr int kMinSideLevels = 16;

double side_threshold(std::vector<uint64_t> side, double width, double extent, int levels, int max_bins) {
  if (extent <= 0.0) return 0.0;
  if (levels < kMinSideLevels) return extent;
  return std::min(extent, kl_threshold(std::move(side), width, levels, max_bins));
}

}  // namespace

Range entropy_range(const Observer& observer, QuantTarget target, const EntropyOptions& options) {
  const Range full = minmax_range(observer, target);  // throws the "no finite values" error for an empty observer
  if (observer.min() == observer.max()) return full;  // constant: nothing to trade off
  const Histogram& h = observer.histogram();
  const double pos_extent = std::max(0.0, static_cast<double>(observer.max()));
  const double neg_extent = std::max(0.0, -static_cast<double>(observer.min()));
  const uint64_t zeros = observer.counts().zeros;  // all in bin 0 of the |x| and positive-side histograms
  if (target == QuantTarget::Int8Symmetric) {
    // The thresholds beyond the observed magnitude mean nothing: clamp (bins extend past the max).
    const double extent = std::max(pos_extent, neg_extent);
    const double t = extent <= 0.0 ? 0.0 : std::min(extent, kl_threshold(without_zeros(h.folded_abs(), zeros), h.bin_width(), options.levels, options.max_bins));
    return {-t, t};
  }
  // uint8 asymmetric: one search per side, the 2 * levels grid levels shared in proportion to the sides'
  // extents (a ReLU output gets all 256 on the positive side; a symmetric distribution 128 per side, which
  // is exactly TensorRT's search on each side).
  const double extent = pos_extent + neg_extent;
  if (extent <= 0.0) return {0.0, 0.0};
  const int total_levels = 2 * options.levels;
  const int pos_levels = static_cast<int>(std::lround(total_levels * pos_extent / extent));
  const int neg_levels = total_levels - pos_levels;
  const double hi = side_threshold(without_zeros(h.positive_side(), zeros), h.bin_width(), pos_extent, pos_levels, options.max_bins);
  const double lo = side_threshold(h.negative_side(), h.bin_width(), neg_extent, neg_levels, options.max_bins);
  return {-lo, hi};
}

}  // namespace onnxquant
