#include "quant/gptq_target.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "core/errors.h"
#include "quant/cholesky.h"

namespace onnxquant {

BlockCrossMoment::BlockCrossMoment(int64_t dim, int64_t block) : dim_(dim), block_(BlockDiagonalLayout(dim, block).block) {
  c_.assign(BlockDiagonalLayout(dim_, block_).size(), 0.0);
}

size_t BlockCrossMoment::offset(int64_t i, int64_t j) const { return BlockDiagonalLayout(dim_, block_).offset(i, j); }

double BlockCrossMoment::at(int64_t i, int64_t j) const {
  if (i / block_ != j / block_) return 0.0;
  return c_[offset(i, j)];
}

void BlockCrossMoment::add_rows(std::span<const float> q_rows, std::span<const float> r_rows, int64_t count) {
  if (static_cast<int64_t>(q_rows.size()) != count * dim_ || r_rows.size() != q_rows.size())
    throw InternalError(fmt::format("cross moment batch of {} and {} values for {} rows of {} inputs", q_rows.size(), r_rows.size(), count, dim_));
  // The same batching as BlockHessian::add_rows: each input's values of a batch contiguous, summed in
  // independent float lanes, accumulated in double.
  constexpr int64_t kBatch = kMomentBatch;
  std::vector<float> qt(static_cast<size_t>(dim_ * kBatch)), rt(static_cast<size_t>(dim_ * kBatch));
  for (int64_t r0 = 0; r0 < count; r0 += kBatch) {
    const int64_t m = std::min(kBatch, count - r0);
    std::fill(qt.begin(), qt.end(), 0.f);
    std::fill(rt.begin(), rt.end(), 0.f);
    for (int64_t r = 0; r < m; ++r)
      for (int64_t i = 0; i < dim_; ++i) {
        qt[i * kBatch + r] = q_rows[(r0 + r) * dim_ + i];
        rt[i * kBatch + r] = r_rows[(r0 + r) * dim_ + i];
      }
    for (int64_t start = 0; start < dim_; start += block_) {
      const int64_t b = std::min(block_, dim_ - start);
      double* blk = c_.data() + offset(start, start);
      for (int64_t i = 0; i < b; ++i) {
        const float* xi = qt.data() + (start + i) * kBatch;
        double* row = blk + i * b;
        for (int64_t j = 0; j < b; ++j) row[j] += batch_dot(xi, rt.data() + (start + j) * kBatch);
      }
    }
    rows_ += m;
  }
}

namespace {

// One diagonal block of a view's statistics as dense matrices: H_q and the cross moment over all
// samples, and over the first half of the samples (the held-out half is the difference).
struct DenseBlock {
  int64_t start = 0, n = 0;
  std::vector<double> h, c, h_half, c_half;
};

DenseBlock dense_block(const CompensationStatistics& all, const CompensationStatistics& half, size_t v, int64_t start, int64_t n) {
  DenseBlock d{start, n, {}, {}, {}, {}};
  const auto nn = static_cast<size_t>(n * n);
  d.h.resize(nn), d.c.resize(nn), d.h_half.resize(nn), d.c_half.resize(nn);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      d.h[i * n + j] = all.hq[v].at(start + i, start + j);
      d.c[i * n + j] = all.cross[v].at(start + i, start + j);
      d.h_half[i * n + j] = half.hq[v].at(start + i, start + j);
      d.c_half[i * n + j] = half.cross[v].at(start + i, start + j);
    }
  return d;
}

// Matrices of `rows` right-hand sides are kept input-major (element (i, r) at i * rows + r), so that the
// loops below run over the rows innermost, contiguous and vectorized.

// out = M x (n x n times n x rows).
std::vector<double> multiply(const std::vector<double>& m, int64_t n, const std::vector<double>& x, int64_t rows) {
  std::vector<double> out(static_cast<size_t>(n * rows), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    double* o = out.data() + i * rows;
    for (int64_t j = 0; j < n; ++j) {
      const double mij = m[i * n + j];
      if (mij == 0.0) continue;
      const double* xj = x.data() + j * rows;
      for (int64_t r = 0; r < rows; ++r) o[r] += mij * xj[r];
    }
  }
  return out;
}

// Every row's target at relative damping `damp`: (H + lambda I)^-1 (C w + lambda w), with `cw` = C w
// precomputed. False when the damped H is not positive definite.
bool solve_targets(const std::vector<double>& h, int64_t n, double damp, const std::vector<double>& w, const std::vector<double>& cw, int64_t rows,
                   std::vector<double>& t) {
  double mean_diag = 0.0;
  for (int64_t i = 0; i < n; ++i) mean_diag += h[i * n + i];
  const double lambda = std::max(damp * mean_diag / static_cast<double>(n), 1e-12);
  std::vector<double> l = h;
  for (int64_t i = 0; i < n; ++i) l[i * n + i] += lambda;
  if (!cholesky_lower(l, n)) return false;
  t.resize(static_cast<size_t>(n * rows));
  for (size_t k = 0; k < t.size(); ++k) t[k] = cw[k] + lambda * w[k];
  for (int64_t i = 0; i < n; ++i) {  // L y = b, all rows at once
    double* ti = t.data() + i * rows;
    for (int64_t k = 0; k < i; ++k) {
      const double lik = l[i * n + k];
      const double* tk = t.data() + k * rows;
      for (int64_t r = 0; r < rows; ++r) ti[r] -= lik * tk[r];
    }
    const double inv = 1.0 / l[i * n + i];
    for (int64_t r = 0; r < rows; ++r) ti[r] *= inv;
  }
  for (int64_t i = n - 1; i >= 0; --i) {  // L^T x = y
    double* ti = t.data() + i * rows;
    for (int64_t k = i + 1; k < n; ++k) {
      const double lki = l[k * n + i];
      const double* tk = t.data() + k * rows;
      for (int64_t r = 0; r < rows; ++r) ti[r] -= lki * tk[r];
    }
    const double inv = 1.0 / l[i * n + i];
    for (int64_t r = 0; r < rows; ++r) ti[r] *= inv;
  }
  return true;
}

// Sum over rows of t^T H t - 2 t^T C w (with `cw` = C w): the held-out output error up to a term that
// does not depend on t.
double held_out_error(const std::vector<double>& h, int64_t n, const std::vector<double>& cw, const std::vector<double>& t, int64_t rows) {
  const std::vector<double> ht = multiply(h, n, t, rows);
  double total = 0.0;
  for (size_t k = 0; k < t.size(); ++k) total += t[k] * (ht[k] - 2.0 * cw[k]);
  return total;
}

}  // namespace

std::vector<double> default_compensation_dampings() { return {0.01, 0.1, 1.0, 10.0, 100.0}; }

std::vector<float> compensated_weight(std::span<const float> weight, const std::vector<MatrixView>& views, const CompensationStatistics& all,
                                      const CompensationStatistics& half, const std::vector<double>& dampings, CompensationChoice& choice) {
  if (views.size() != all.hq.size() || views.size() != all.cross.size() || views.size() != half.hq.size() || views.size() != half.cross.size())
    throw InternalError("GPTQ target: one H_q and one cross moment per view expected");
  std::vector<DenseBlock> blocks;
  std::vector<size_t> view_of;
  for (size_t v = 0; v < views.size(); ++v) {
    const int64_t cols = views[v].cols, block = all.hq[v].block();
    if (all.hq[v].dim() != cols || all.cross[v].dim() != cols || all.cross[v].block() != block || half.hq[v].block() != block)
      throw InternalError(fmt::format("GPTQ target: statistics for {} inputs, weight view has {} columns", all.hq[v].dim(), cols));
    for (int64_t start = 0; start < cols; start += block) {
      blocks.push_back(dense_block(all, half, v, start, std::min(block, cols - start)));
      view_of.push_back(v);
    }
  }
  auto rows_of = [&](size_t b) {  // the block's weights, input-major (n x rows)
    const MatrixView& view = views[view_of[b]];
    const DenseBlock& d = blocks[b];
    std::vector<double> w(static_cast<size_t>(view.rows * d.n));
    for (int64_t r = 0; r < view.rows; ++r)
      for (int64_t j = 0; j < d.n; ++j) w[j * view.rows + r] = weight[view.index[r * view.cols + d.start + j]];
    return w;
  };
  // Two-fold cross-validation of the damping: fit on one half of the samples, measure on the other, both
  // ways. Keeping the weight (no compensation) is always a candidate, so a layer whose input error is
  // not predictable from its input keeps its plain GPTQ objective.
  std::vector<double> score(dampings.size(), 0.0);
  double keep_score = 0.0;
  std::vector<char> usable(dampings.size(), 1);
  for (size_t b = 0; b < blocks.size(); ++b) {
    const DenseBlock& d = blocks[b];
    const int64_t rows = views[view_of[b]].rows, n = d.n;
    const std::vector<double> w = rows_of(b);
    std::vector<double> h_rest(d.h.size()), c_rest(d.c.size());
    for (size_t i = 0; i < d.h.size(); ++i) h_rest[i] = d.h[i] - d.h_half[i], c_rest[i] = d.c[i] - d.c_half[i];
    const std::vector<double> cw_half = multiply(d.c_half, n, w, rows), cw_rest = multiply(c_rest, n, w, rows);
    keep_score += held_out_error(h_rest, n, cw_rest, w, rows) + held_out_error(d.h_half, n, cw_half, w, rows);
    std::vector<double> t;
    for (size_t k = 0; k < dampings.size(); ++k) {
      if (!usable[k]) continue;
      if (!solve_targets(d.h_half, n, dampings[k], w, cw_half, rows, t)) {
        usable[k] = 0;
        continue;
      }
      score[k] += held_out_error(h_rest, n, cw_rest, t, rows);
      if (!solve_targets(h_rest, n, dampings[k], w, cw_rest, rows, t)) {
        usable[k] = 0;
        continue;
      }
      score[k] += held_out_error(d.h_half, n, cw_half, t, rows);
    }
  }
  choice = CompensationChoice{};
  double best = keep_score;
  for (size_t k = 0; k < dampings.size(); ++k)
    if (usable[k] && score[k] < best) best = score[k], choice.compensated = true, choice.damp = dampings[k];
  std::vector<float> out(weight.begin(), weight.end());
  if (!choice.compensated) return out;
  for (size_t b = 0; b < blocks.size(); ++b) {
    const DenseBlock& d = blocks[b];
    const MatrixView& view = views[view_of[b]];
    const std::vector<double> w = rows_of(b);
    std::vector<double> t;
    if (!solve_targets(d.h, d.n, choice.damp, w, multiply(d.c, d.n, w, view.rows), view.rows, t)) continue;  // keeps the block's weights
    for (int64_t r = 0; r < view.rows; ++r)
      for (int64_t j = 0; j < d.n; ++j) out[view.index[r * view.cols + d.start + j]] = static_cast<float>(t[j * view.rows + r]);
  }
  return out;
}

}  // namespace onnxquant
