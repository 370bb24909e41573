#include "quant/hqq.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "quant/quant_params.h"

namespace onnxquant {

namespace {

// The lp proximal step: the part of an error that is worth keeping as an outlier (0 for small errors).
// `cut` = (1/beta)^(1/(2-p)): below it (less a margin for the 1e-8) the result is 0 without a pow().
double shrink(double x, double beta, double p, double cut) {
  const double a = std::fabs(x);
  if (a < cut * (1 - 1e-6)) return 0.0;
  const double kept = a - std::pow(a + 1e-8, p - 1) / beta;
  return kept > 0 ? std::copysign(kept, x) : 0.0;
}

// Per-group sums of one pass: the integers q, the targets t (weights minus their outlier part), and the
// squared error of the current parameters.
struct GroupSums {
  double n = 0, q = 0, t = 0, qq = 0, qt = 0, sq_error = 0;
};

}  // namespace

QuantizedWeight quantize_hqq(const Tensor& weight, const WeightGrid& grid, const HqqOptions& o, HqqStats* stats) {
  QuantizedWeight q = quantize_rtn(weight, grid);  // min/max parameters: the starting point
  std::vector<float> nearest;                      // its dequantized values, for the stats
  if (stats) nearest = q.dequantized();
  const WeightGroups groups(weight.shape, grid);
  const auto w = weight.as<float>();
  const auto n_groups = static_cast<size_t>(groups.groups());
  const double qmin = grid.qmin(), qmax = grid.qmax();
  const bool symmetric = grid.scheme == WeightScheme::Symmetric;

  std::vector<double> scale = q.scales, best_scale = q.scales;
  std::vector<double> zero(q.zero_points.begin(), q.zero_points.end()), best_zero = zero;
  std::vector<double> best_error(n_groups, std::numeric_limits<double>::infinity());
  std::vector<char> active(n_groups, 1);
  std::vector<GroupSums> sums(n_groups);
  double beta = o.beta;
  for (int it = 0; it < o.iterations; ++it) {
    std::fill(sums.begin(), sums.end(), GroupSums{});
    const double cut = std::pow(1.0 / beta, 1.0 / (2.0 - o.lp_norm));
    for (size_t i = 0; i < w.size(); ++i) {
      const auto g = static_cast<size_t>(groups.group_of(static_cast<int64_t>(i)));
      if (!active[g] || !std::isfinite(w[i])) continue;
      const double x = w[i], s = scale[g], z = zero[g];
      const double qi = std::clamp(std::nearbyint(x / s + z), qmin, qmax);
      const double r = (qi - z) * s;
      const double t = x - shrink(x - r, beta, o.lp_norm, cut);
      GroupSums& a = sums[g];
      a.n += 1, a.q += qi, a.t += t, a.qq += qi * qi, a.qt += qi * t, a.sq_error += (x - r) * (x - r);
    }
    bool any = false;
    for (size_t g = 0; g < n_groups; ++g) {
      if (!active[g]) continue;
      const GroupSums& a = sums[g];
      if (a.n == 0) {
        active[g] = 0;
        continue;
      }
      const double err = a.sq_error / a.n;
      if (err < best_error[g]) {
        best_error[g] = err, best_scale[g] = scale[g], best_zero[g] = zero[g];
      } else {
        active[g] = 0;  // stops at the first step that does not improve, as ORT's HQQ does
        continue;
      }
      // Refit the grid to the targets: t ~ (q - z) * s with z on the integer grid.
      double z = 0;
      if (!symmetric) {
        const double var = a.qq - a.q * a.q / a.n;
        if (var <= 0) {
          active[g] = 0;
          continue;
        }
        const double slope = (a.qt - a.q * a.t / a.n) / var;
        const double intercept = (a.t - slope * a.q) / a.n;
        if (!(std::fabs(slope) >= kMinScale)) {
          active[g] = 0;
          continue;
        }
        z = std::clamp(std::nearbyint(-intercept / slope), qmin, qmax);
      }
      const double den = a.qq - 2 * z * a.q + a.n * z * z;
      const double s = den > 0 ? (a.qt - z * a.t) / den : 0;
      if (!(s >= kMinScale) || !std::isfinite(s)) {
        active[g] = 0;
        continue;
      }
      scale[g] = s, zero[g] = z;
      any = true;
    }
    beta *= o.kappa;
    if (!any) break;
  }

  HqqStats st;
  st.groups = static_cast<int64_t>(n_groups);
  for (size_t g = 0; g < n_groups; ++g) {
    if (!std::isfinite(best_error[g])) continue;  // no finite weight: min/max parameters stay
    if (best_scale[g] != q.scales[g] || static_cast<int32_t>(best_zero[g]) != q.zero_points[g]) ++st.improved_groups;
    q.scales[g] = best_scale[g];
    q.zero_points[g] = static_cast<int32_t>(best_zero[g]);
  }
  for (size_t i = 0; i < w.size(); ++i) {
    const int64_t g = groups.group_of(static_cast<int64_t>(i));
    q.values[i] = quantize_to_grid(w[i], q.scales[g], q.zero_points[g], grid);
  }
  if (stats) {
    double rtn = 0, hqq = 0;
    int64_t n = 0;
    const std::vector<float> fitted = q.dequantized();
    for (size_t i = 0; i < w.size(); ++i) {
      if (!std::isfinite(w[i])) continue;
      rtn += std::fabs(w[i] - nearest[i]), hqq += std::fabs(w[i] - fitted[i]), ++n;
    }
    st.rtn_mean_abs_error = n ? rtn / n : 0;
    st.hqq_mean_abs_error = n ? hqq / n : 0;
    *stats = st;
  }
  return q;
}

}  // namespace onnxquant
