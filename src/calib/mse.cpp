// MSE calibration: the clipping range that minimizes the expected squared error between x and its
// quantized value on the target grid, estimated from the histogram:
//   E(range) = sum over clipped values of (x - edge)^2          (clipping error, exact per bin under a
//                                                                 uniform-within-bin assumption)
//            + step^2 / 12 * (values inside the range - exact zeros)   (rounding error)
// The rounding term is the usual uniform-noise model (ACIQ, Banner et al. 2019): bins are at least 8x
// finer than the grid step (>= 2048 bins vs 255 steps), so the density is nearly flat inside a step.
// Exact zeros cost nothing because 0 is on every grid we emit.
// For uint8 the grid is the one compute_qparams() really produces: the zero point is rounded, which
// shifts the grid by up to half a step, and the error is evaluated on that shifted grid.
// With prefix sums each candidate costs O(1): a coarse grid of candidates (per side), then a finer grid
// around the best one.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "calib/range_methods.h"

namespace onnxquant {

namespace {

// Histogram slots in bin units (x / bin width): slot i nominally holds [first + i, first + i + 1); the
// outermost nonzero slots are narrowed to the observed min/max so no mass is assumed beyond them.
class BinMoments {
 public:
  explicit BinMoments(const Observer& obs) {
    const Histogram& h = obs.histogram();
    const double w = h.bin_width();
    first_ = h.first_bin();
    n_ = h.counts().size();
    const double min_u = obs.min() / w, max_u = obs.max() / w;
    a_.resize(n_);
    b_.resize(n_);
    c_.resize(n_);
    p0_.assign(n_ + 1, 0.0);
    p1_.assign(n_ + 1, 0.0);
    p2_.assign(n_ + 1, 0.0);
    for (size_t i = 0; i < n_; ++i) {
      const double k = static_cast<double>(first_ + static_cast<int64_t>(i));
      a_[i] = std::clamp(k, min_u, max_u);
      b_[i] = std::clamp(k + 1.0, min_u, max_u);
      c_[i] = static_cast<double>(h.counts()[i]);
      const double mean = 0.5 * (a_[i] + b_[i]), width = b_[i] - a_[i];
      p0_[i + 1] = p0_[i] + c_[i];
      p1_[i + 1] = p1_[i] + c_[i] * mean;
      p2_[i + 1] = p2_[i] + c_[i] * (mean * mean + width * width / 12.0);
    }
    total_ = p0_[n_];
    zeros_ = static_cast<double>(obs.counts().zeros);
  }

  // Expected squared error of quantizing onto a grid clipped to [g_lo, g_hi] with the given step.
  double error(double g_lo, double g_hi, double step) const {
    const auto [count_below, sq_below] = below(g_lo);
    const auto [count_above, sq_above] = above(g_hi);
    const double inside = total_ - count_below - count_above;
    return sq_below + sq_above + step * step / 12.0 * std::max(0.0, inside - zeros_);
  }

 private:
  struct Tail {
    double count = 0.0;
    double sq = 0.0;
  };

  // Slot whose nominal interval holds g, clamped to [-1, n].
  int64_t slot_of(double g) const {
    const double s = std::floor(g) - static_cast<double>(first_);
    return static_cast<int64_t>(std::clamp(s, -1.0, static_cast<double>(n_)));
  }

  // Sum over slots [from, to) of (x - g)^2 and their count.
  Tail whole(size_t from, size_t to, double g) const {
    const double s0 = p0_[to] - p0_[from], s1 = p1_[to] - p1_[from], s2 = p2_[to] - p2_[from];
    return {s0, std::max(0.0, s2 - 2.0 * g * s1 + g * g * s0)};
  }

  Tail above(double g) const {
    const int64_t j = slot_of(g);
    if (j >= static_cast<int64_t>(n_)) return {};
    Tail t = whole(static_cast<size_t>(j + 1), n_, g);
    if (j >= 0) {
      const auto i = static_cast<size_t>(j);
      const double a = a_[i], b = b_[i], c = c_[i];
      if (c > 0.0 && b - a <= 0.0) {
        if (a > g) t.count += c, t.sq += c * (a - g) * (a - g);
      } else if (c > 0.0 && b > g) {
        const double from = std::max(a, g);
        t.count += c * (b - from) / (b - a);
        t.sq += c * (std::pow(b - g, 3) - std::pow(from - g, 3)) / (3.0 * (b - a));
      }
    }
    return t;
  }

  Tail below(double g) const {
    const int64_t j = slot_of(g);
    if (j < 0) return {};
    Tail t = whole(0, static_cast<size_t>(std::min<int64_t>(j, static_cast<int64_t>(n_))), g);
    if (j < static_cast<int64_t>(n_)) {
      const auto i = static_cast<size_t>(j);
      const double a = a_[i], b = b_[i], c = c_[i];
      if (c > 0.0 && b - a <= 0.0) {
        if (a < g) t.count += c, t.sq += c * (g - a) * (g - a);
      } else if (c > 0.0 && a < g) {
        const double to = std::min(b, g);
        t.count += c * (to - a) / (b - a);
        t.sq += c * (std::pow(g - a, 3) - std::pow(g - to, 3)) / (3.0 * (b - a));
      }
    }
    return t;
  }

  int64_t first_ = 0;
  size_t n_ = 0;
  double total_ = 0.0, zeros_ = 0.0;
  std::vector<double> a_, b_, c_, p0_, p1_, p2_;
};

constexpr int kRefineSteps = 32;

struct Best {
  double error = std::numeric_limits<double>::infinity();
  double lo = 0.0, hi = 0.0;
  void offer(double e, double l, double h) {
    if (e < error) error = e, lo = l, hi = h;
  }
};

// int8 symmetric: grid [-t, t] with step t / 127; t is searched over (0, extent].
double search_symmetric(const BinMoments& m, double extent, int candidates) {
  Best best;
  auto eval = [&](double t) { best.offer(m.error(-t, t, t / 127.0), -t, t); };
  const double step = extent / candidates;
  for (int k = 1; k <= candidates; ++k) eval(step * k);
  const double center = best.hi;
  for (int r = -kRefineSteps; r <= kRefineSteps; ++r) {
    const double t = center + step * r / kRefineSteps;
    if (t > 0.0 && t <= extent) eval(t);
  }
  return best.hi;
}

// uint8 asymmetric: candidate [lo, hi] (lo in [lo_extent, 0], hi in [0, hi_extent]) evaluated on the grid
// compute_qparams() would produce for it.
Range search_asymmetric(const BinMoments& m, double lo_extent, double hi_extent, int candidates) {
  Best best;
  auto eval = [&](double lo, double hi) {
    if (!(hi > lo) || lo > 0.0 || hi < 0.0) return;
    const double scale = (hi - lo) / 255.0;
    const double zp = std::clamp(std::nearbyint(-lo / scale), 0.0, 255.0);
    best.offer(m.error(-zp * scale, (255.0 - zp) * scale, scale), lo, hi);
  };
  const int lo_steps = lo_extent < 0.0 ? candidates : 0, hi_steps = hi_extent > 0.0 ? candidates : 0;
  const double lo_step = lo_steps ? lo_extent / lo_steps : 0.0, hi_step = hi_steps ? hi_extent / hi_steps : 0.0;
  for (int j = 0; j <= lo_steps; ++j)
    for (int k = 0; k <= hi_steps; ++k) eval(lo_step * j, hi_step * k);
  const double lo_center = best.lo, hi_center = best.hi;
  const int lo_refine = lo_steps ? kRefineSteps / 2 : 0, hi_refine = hi_steps ? kRefineSteps / 2 : 0;
  for (int j = -lo_refine; j <= lo_refine; ++j) {
    const double lo = lo_center + lo_step * j / std::max(lo_refine, 1);
    if (lo < lo_extent) continue;
    for (int k = -hi_refine; k <= hi_refine; ++k) {
      const double hi = hi_center + hi_step * k / std::max(hi_refine, 1);
      if (hi <= hi_extent) eval(lo, hi);
    }
  }
  return {best.lo, best.hi};
}

}  // namespace

Range mse_range(const Observer& observer, QuantTarget target, const MseOptions& options) {
  const Range full = minmax_range(observer, target);  // also throws for an empty observer
  // A constant tensor is a point mass: the uniform rounding-noise model does not hold (the constant lands
  // exactly on the grid's end), and the right answer is known: keep it.
  if (full.max - full.min <= 0.0 || observer.min() == observer.max()) return full;
  const double w = observer.histogram().bin_width();
  const BinMoments moments(observer);
  if (target == QuantTarget::Int8Symmetric) {
    const double t = search_symmetric(moments, full.max / w, options.candidates) * w;
    return {-t, t};
  }
  const Range r = search_asymmetric(moments, full.min / w, full.max / w, options.candidates);
  // Bin units back to values; min/max keep 0 inside against the last-ulp rounding of the product.
  return {std::min(0.0, r.min * w), std::max(0.0, r.max * w)};
}

}  // namespace onnxquant
