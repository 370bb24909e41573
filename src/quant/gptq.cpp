#include "quant/gptq.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/errors.h"

namespace onnxquant {

BlockHessian::BlockHessian(int64_t dim, int64_t block) : dim_(dim), block_(std::max<int64_t>(1, std::min(block, dim))) {
  size_t total = 0;
  for (int64_t start = 0; start < dim_; start += block_) {
    const auto b = static_cast<size_t>(std::min(block_, dim_ - start));
    total += b * b;
  }
  h_.assign(total, 0.0);
}

size_t BlockHessian::offset(int64_t i, int64_t j) const {
  const int64_t blk = i / block_;
  const auto full = static_cast<size_t>(block_ * block_);
  const int64_t b = std::min(block_, dim_ - blk * block_);
  return static_cast<size_t>(blk) * full + static_cast<size_t>((i - blk * block_) * b + (j - blk * block_));
}

void BlockHessian::add_row(std::span<const float> x) {
  if (static_cast<int64_t>(x.size()) != dim_) throw InternalError(fmt::format("Hessian row of {} values for {} inputs", x.size(), dim_));
  for (int64_t start = 0; start < dim_; start += block_) {
    const int64_t b = std::min(block_, dim_ - start);
    double* blk = h_.data() + offset(start, start);
    for (int64_t i = 0; i < b; ++i) {
      const double xi = x[start + i];
      if (xi == 0.0) continue;
      double* row = blk + i * b;
      const float* xs = x.data() + start;
      for (int64_t j = i; j < b; ++j) row[j] += xi * xs[j];
    }
  }
  ++rows_;
}

void BlockHessian::merge(const BlockHessian& o) {
  if (o.dim_ != dim_ || o.block_ != block_) throw InternalError("merging Hessians of different layouts");
  for (size_t i = 0; i < h_.size(); ++i) h_[i] += o.h_[i];
  rows_ += o.rows_;
}

double BlockHessian::at(int64_t i, int64_t j) const {
  if (i > j) std::swap(i, j);
  if (i / block_ != j / block_) return 0.0;
  return h_[offset(i, j)];
}

namespace {

// In-place Cholesky A = L L^T (lower, row-major n x n). False when not positive definite.
bool cholesky(std::vector<double>& a, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (int64_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0.0)) return false;
    d = std::sqrt(d);
    a[j * n + j] = d;
    for (int64_t i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      for (int64_t k = 0; k < j; ++k) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / d;
    }
    for (int64_t k = j + 1; k < n; ++k) a[j * n + k] = 0.0;
  }
  return true;
}

// The upper Cholesky factor U of H^-1 (H^-1 = U^T U), which GPTQ's column updates use. False when H is
// not positive definite.
bool inverse_cholesky_upper(std::vector<double> h, int64_t n, std::vector<double>& u) {
  if (!cholesky(h, n)) return false;  // h = L, H = L L^T
  // Linv (lower) by forward substitution.
  std::vector<double> linv(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    linv[i * n + i] = 1.0 / h[i * n + i];
    for (int64_t j = 0; j < i; ++j) {
      double s = 0.0;
      for (int64_t k = j; k < i; ++k) s += h[i * n + k] * linv[k * n + j];
      linv[i * n + j] = -s / h[i * n + i];
    }
  }
  // H^-1 = Linv^T Linv.
  std::vector<double> inv(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j) {
      double s = 0.0;
      for (int64_t k = j; k < n; ++k) s += linv[k * n + i] * linv[k * n + j];
      inv[i * n + j] = inv[j * n + i] = s;
    }
  if (!cholesky(inv, n)) return false;  // inv = L2, H^-1 = L2 L2^T; U = L2^T
  u.assign(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j) u[i * n + j] = inv[j * n + i];
  return true;
}

}  // namespace

GptqStats gptq_quantize(std::span<const float> weight, const MatrixView& view, const BlockHessian& h, QuantizedWeight& q,
                        const GptqOptions& options) {
  if (h.dim() != view.cols) throw InternalError(fmt::format("GPTQ: Hessian for {} inputs, weight view has {} columns", h.dim(), view.cols));
  const WeightGroups groups(q.shape, q.grid);
  GptqStats stats;
  const int64_t R = view.rows;
  auto elem = [&](int64_t r, int64_t c) { return view.index[static_cast<size_t>(r * view.cols + c)]; };
  auto round_elem = [&](int64_t e, double x) {
    const int64_t g = groups.group_of(e);
    const int8_t v = quantize_to_grid(x, q.scales[g], q.zero_points[g], q.grid);
    q.values[e] = v;
    return (v - q.zero_points[g]) * q.scales[g];
  };
  for (int64_t start = 0; start < view.cols; start += h.block()) {
    const int64_t n = std::min(h.block(), view.cols - start);
    // Act-order: columns with the largest input energy first, while the most columns are left to absorb
    // their error (GPTQ paper, "act_order"); the permutation only changes the order of rounding.
    std::vector<int64_t> perm(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) perm[i] = start + i;
    if (options.act_order)
      std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return h.at(a, a) > h.at(b, b); });
    std::vector<double> hb(static_cast<size_t>(n * n));
    double mean_diag = 0.0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) hb[i * n + j] = h.at(perm[i], perm[j]);
    std::vector<bool> dead(n, false);
    for (int64_t i = 0; i < n; ++i) {
      mean_diag += hb[i * n + i];
      if (hb[i * n + i] <= 0.0) {
        dead[i] = true;
        hb[i * n + i] = 1.0;
        ++stats.dead_columns;
      }
    }
    mean_diag = std::max(mean_diag / n, 1e-12);
    for (int64_t i = 0; i < n; ++i) hb[i * n + i] += options.damp * mean_diag;
    stats.columns += n;
    std::vector<double> u;
    const bool ok = inverse_cholesky_upper(std::move(hb), n, u);
    if (!ok) ++stats.rtn_fallback_blocks;
    // Work on a double copy of the block's columns, row by row.
    std::vector<double> w(static_cast<size_t>(R * n));
    for (int64_t r = 0; r < R; ++r)
      for (int64_t c = 0; c < n; ++c) w[r * n + c] = weight[elem(r, perm[c])];
    for (int64_t c = 0; c < n; ++c) {
      for (int64_t r = 0; r < R; ++r) {
        const double x = w[r * n + c];
        const double deq = round_elem(elem(r, perm[c]), x);
        if (!ok || dead[c]) continue;
        const double err = (x - deq) / u[c * n + c];
        double* row = w.data() + r * n;
        const double* urow = u.data() + c * n;
        for (int64_t k = c + 1; k < n; ++k) row[k] -= err * urow[k];
      }
    }
  }
  return stats;
}

}  // namespace onnxquant
