#include "quant/gptq.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/errors.h"
#include "quant/cholesky.h"

namespace onnxquant {

BlockDiagonalLayout::BlockDiagonalLayout(int64_t d, int64_t b) : dim(d), block(std::max<int64_t>(1, std::min(b, d))) {}

size_t BlockDiagonalLayout::size() const {
  size_t total = 0;
  for (int64_t start = 0; start < dim; start += block) {
    const auto b = static_cast<size_t>(std::min(block, dim - start));
    total += b * b;
  }
  return total;
}

size_t BlockDiagonalLayout::offset(int64_t i, int64_t j) const {
  const int64_t blk = i / block;
  const auto full = static_cast<size_t>(block * block);
  const int64_t b = std::min(block, dim - blk * block);
  return static_cast<size_t>(blk) * full + static_cast<size_t>((i - blk * block) * b + (j - blk * block));
}

BlockHessian::BlockHessian(int64_t dim, int64_t block) : dim_(dim), block_(BlockDiagonalLayout(dim, block).block) {
  h_.assign(BlockDiagonalLayout(dim_, block_).size(), 0.0);
}

size_t BlockHessian::offset(int64_t i, int64_t j) const { return BlockDiagonalLayout(dim_, block_).offset(i, j); }

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

void BlockHessian::add_rows(std::span<const float> rows, int64_t count) {
  if (static_cast<int64_t>(rows.size()) != count * dim_)
    throw InternalError(fmt::format("Hessian batch of {} values for {} rows of {} inputs", rows.size(), count, dim_));
  constexpr int64_t kBatch = kMomentBatch;
  std::vector<float> xt(static_cast<size_t>(dim_ * kBatch));  // transposed batch: input i's values contiguous
  std::vector<char> live(static_cast<size_t>(dim_));
  for (int64_t r0 = 0; r0 < count; r0 += kBatch) {
    const int64_t m = std::min(kBatch, count - r0);
    std::fill(xt.begin(), xt.end(), 0.f);  // rows past m stay 0 and add nothing
    for (int64_t r = 0; r < m; ++r)
      for (int64_t i = 0; i < dim_; ++i) xt[i * kBatch + r] = rows[(r0 + r) * dim_ + i];
    for (int64_t i = 0; i < dim_; ++i) {
      bool any = false;
      for (int64_t r = 0; r < m; ++r) any = any || xt[i * kBatch + r] != 0.f;
      live[i] = any;
    }
    for (int64_t start = 0; start < dim_; start += block_) {
      const int64_t b = std::min(block_, dim_ - start);
      double* blk = h_.data() + offset(start, start);
      for (int64_t i = 0; i < b; ++i) {
        if (!live[start + i]) continue;
        const float* xi = xt.data() + (start + i) * kBatch;
        double* row = blk + i * b;
        for (int64_t j = i; j < b; ++j) row[j] += batch_dot(xi, xt.data() + (start + j) * kBatch);
      }
    }
    rows_ += m;
  }
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

// The upper Cholesky factor U of H^-1 (H^-1 = U^T U), which GPTQ's column updates use. False when H is
// not positive definite.
bool inverse_cholesky_upper(std::vector<double> h, int64_t n, std::vector<double>& u) {
  if (!cholesky_lower(h, n)) return false;  // h = L, H = L L^T
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
  if (!cholesky_lower(inv, n)) return false;  // inv = L2, H^-1 = L2 L2^T; U = L2^T
  u.assign(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j) u[i * n + j] = inv[j * n + i];
  return true;
}

}  // namespace

std::vector<double> default_range_factors() {
  std::vector<double> f;
  for (int i = -20; i <= 20; ++i) f.push_back(1.0 + 0.01 * i);
  return f;
}

namespace {

// One diagonal block of H, prepared for rounding: its columns in rounding order and the upper Cholesky
// factor of the damped inverse (in float: the column updates are the hot loop).
struct PreparedBlock {
  std::vector<int64_t> cols;  // view columns, in rounding order
  std::vector<float> u;       // n x n, row-major, upper triangle
  std::vector<char> dead;     // H_ii = 0: the input is always 0 there
  std::vector<double> diag;   // undamped H_ii (the error weight when the block falls back)
  bool ok = true;
};

std::vector<PreparedBlock> prepare_blocks(const BlockHessian& h, int64_t cols, const GptqOptions& options, GptqStats& stats) {
  std::vector<PreparedBlock> blocks;
  for (int64_t start = 0; start < cols; start += h.block()) {
    const int64_t n = std::min(h.block(), cols - start);
    PreparedBlock b;
    for (int64_t i = 0; i < n; ++i) b.cols.push_back(start + i);
    // Act-order: columns with the largest input energy first, while the most columns are left to absorb
    // their error (GPTQ paper, "act_order"); the permutation only changes the order of rounding.
    if (options.act_order)
      std::stable_sort(b.cols.begin(), b.cols.end(), [&](int64_t x, int64_t y) { return h.at(x, x) > h.at(y, y); });
    std::vector<double> hb(static_cast<size_t>(n * n));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) hb[i * n + j] = h.at(b.cols[i], b.cols[j]);
    b.dead.assign(n, 0);
    b.diag.resize(n);
    double mean_diag = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      b.diag[i] = hb[i * n + i];
      mean_diag += hb[i * n + i];
      if (hb[i * n + i] <= 0.0) {
        b.dead[i] = 1;
        hb[i * n + i] = 1.0;
        ++stats.dead_columns;
      }
    }
    mean_diag = std::max(mean_diag / n, 1e-12);
    for (int64_t i = 0; i < n; ++i) hb[i * n + i] += options.damp * mean_diag;
    stats.columns += n;
    std::vector<double> u;
    b.ok = inverse_cholesky_upper(std::move(hb), n, u);
    if (!b.ok) ++stats.rtn_fallback_blocks;
    b.u.assign(u.begin(), u.end());
    blocks.push_back(std::move(b));
  }
  return blocks;
}

// GPTQ of rows [r0, r0 + t) of one view over one block, at the given scales: writes their values
// (view order) and adds each row's output error to err[r].
void quantize_tile(std::span<const float> weight, const MatrixView& view, std::span<const int64_t> group_of, const PreparedBlock& b, int64_t r0,
                   int64_t t, const std::vector<double>& scales, const std::vector<int32_t>& zero_points, const WeightGrid& grid,
                   std::vector<int8_t>& values, double* err) {
  const auto n = static_cast<int64_t>(b.cols.size());
  std::vector<float> work(static_cast<size_t>(n * t));  // column-major: a column's t rows are contiguous
  std::vector<float> e(static_cast<size_t>(t));
  for (int64_t c = 0; c < n; ++c)
    for (int64_t k = 0; k < t; ++k) work[c * t + k] = weight[view.index[(r0 + k) * view.cols + b.cols[c]]];
  for (int64_t c = 0; c < n; ++c) {
    const double ucc = b.ok ? b.u[c * n + c] : 1.0;
    for (int64_t k = 0; k < t; ++k) {
      const int64_t at = (r0 + k) * view.cols + b.cols[c];
      const int64_t g = group_of[at];
      const double x = work[c * t + k];
      const int8_t v = quantize_to_grid(x, scales[g], zero_points[g], grid);
      values[at] = v;
      const double d = x - (v - zero_points[g]) * scales[g];
      e[k] = 0.f;
      if (b.dead[c]) continue;
      if (!b.ok) {
        err[r0 + k] += d * d * b.diag[c];
        continue;
      }
      e[k] = static_cast<float>(d / ucc);
      err[r0 + k] += (d / ucc) * (d / ucc);
    }
    if (!b.ok || b.dead[c]) continue;
    const float* urow = b.u.data() + c * n;
    for (int64_t j = c + 1; j < n; ++j) {
      const float ucj = urow[j];
      float* wj = work.data() + j * t;
      for (int64_t k = 0; k < t; ++k) wj[k] -= e[k] * ucj;
    }
  }
}

// Rows of all views that share a scale are searched together: union-find over the groups they use.
std::vector<int64_t> search_units(const std::vector<MatrixView>& views, const std::vector<std::vector<int64_t>>& group_of, int64_t groups,
                                  int64_t& unit_count) {
  int64_t total = 0;
  for (const auto& v : views) total += v.rows;
  std::vector<int64_t> parent(static_cast<size_t>(total));
  for (int64_t i = 0; i < total; ++i) parent[i] = i;
  auto find = [&](int64_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  std::vector<int64_t> owner(static_cast<size_t>(groups), -1);
  int64_t base = 0;
  for (size_t v = 0; v < views.size(); ++v) {
    for (int64_t r = 0; r < views[v].rows; ++r)
      for (int64_t c = 0; c < views[v].cols; ++c) {
        const int64_t g = group_of[v][r * views[v].cols + c];
        if (owner[g] < 0) owner[g] = base + r;
        else parent[find(base + r)] = find(owner[g]);
      }
    base += views[v].rows;
  }
  std::vector<int64_t> unit(static_cast<size_t>(total));
  std::vector<int64_t> id(static_cast<size_t>(total), -1);
  unit_count = 0;
  for (int64_t i = 0; i < total; ++i) {
    const int64_t root = find(i);
    if (id[root] < 0) id[root] = unit_count++;
    unit[i] = id[root];
  }
  return unit;
}

}  // namespace

GptqStats gptq_quantize(std::span<const float> weight, const std::vector<MatrixView>& views, const std::vector<BlockHessian>& hessians,
                        QuantizedWeight& q, const GptqOptions& options) {
  if (views.size() != hessians.size()) throw InternalError("GPTQ: one Hessian per weight view expected");
  if (options.range_factors.empty()) throw InternalError("GPTQ: no scale candidates");
  const WeightGroups groups(q.shape, q.grid);
  GptqStats stats;
  std::vector<std::vector<PreparedBlock>> blocks;
  std::vector<std::vector<int64_t>> group_of;  // per view, in view order
  for (size_t v = 0; v < views.size(); ++v) {
    if (hessians[v].dim() != views[v].cols)
      throw InternalError(fmt::format("GPTQ: Hessian for {} inputs, weight view has {} columns", hessians[v].dim(), views[v].cols));
    blocks.push_back(prepare_blocks(hessians[v], views[v].cols, options, stats));
    std::vector<int64_t> g(views[v].index.size());
    for (size_t i = 0; i < g.size(); ++i) g[i] = groups.group_of(views[v].index[i]);
    group_of.push_back(std::move(g));
  }
  const std::vector<int64_t> unit = search_units(views, group_of, groups.groups(), stats.units);
  const GroupRanges ranges = group_ranges(weight, groups);

  constexpr int64_t kTile = 64;  // rows rounded together: each U row is read once per tile
  std::vector<double> best_err(static_cast<size_t>(stats.units), std::numeric_limits<double>::infinity());
  std::vector<double> best_factor(static_cast<size_t>(stats.units), 1.0);
  std::vector<std::vector<int8_t>> best_values(views.size()), values(views.size());
  for (size_t v = 0; v < views.size(); ++v) values[v].assign(views[v].index.size(), 0), best_values[v] = values[v];
  std::vector<double> scales;
  std::vector<int32_t> zero_points;
  // 1 first, so that a tie keeps the min/max scale.
  std::vector<double> factors{1.0};
  if (!options.keep_scales)
    for (double f : options.range_factors)
      if (f != 1.0) factors.push_back(f);
  for (double f : factors) {
    if (options.keep_scales)
      scales = q.scales, zero_points = q.zero_points;
    else
      scales_from_ranges(ranges, q.grid, f, scales, zero_points);
    std::vector<double> err(unit.size(), 0.0), unit_err(static_cast<size_t>(stats.units), 0.0);
    int64_t base = 0;
    for (size_t v = 0; v < views.size(); ++v) {
      for (const auto& b : blocks[v])
        for (int64_t r0 = 0; r0 < views[v].rows; r0 += kTile) {
          quantize_tile(weight, views[v], group_of[v], b, r0, std::min(kTile, views[v].rows - r0), scales, zero_points, q.grid, values[v],
                        err.data() + base);
        }
      base += views[v].rows;
    }
    for (size_t i = 0; i < unit.size(); ++i) unit_err[unit[i]] += err[i];
    base = 0;
    for (size_t v = 0; v < views.size(); ++v) {
      const int64_t cols = views[v].cols;
      for (int64_t r = 0; r < views[v].rows; ++r) {
        const int64_t u = unit[base + r];
        if (!(unit_err[u] < best_err[u])) continue;
        std::copy_n(values[v].begin() + r * cols, cols, best_values[v].begin() + r * cols);
      }
      base += views[v].rows;
    }
    for (int64_t u = 0; u < stats.units; ++u)
      if (unit_err[u] < best_err[u]) best_err[u] = unit_err[u], best_factor[u] = f;
  }
  // Every group takes its unit's factor (a group belongs to exactly one unit).
  std::vector<double> group_factor(static_cast<size_t>(groups.groups()), 1.0);
  int64_t base = 0;
  for (size_t v = 0; v < views.size(); ++v) {
    for (int64_t i = 0; i < static_cast<int64_t>(views[v].index.size()); ++i) {
      group_factor[group_of[v][i]] = best_factor[unit[base + i / views[v].cols]];
      q.values[views[v].index[i]] = best_values[v][i];
    }
    base += views[v].rows;
  }
  std::vector<double> s_f;
  std::vector<int32_t> z_f;
  if (!options.keep_scales)
    for (double f : factors) {
      scales_from_ranges(ranges, q.grid, f, s_f, z_f);
      for (int64_t g = 0; g < groups.groups(); ++g)
        if (group_factor[g] == f) q.scales[g] = s_f[g], q.zero_points[g] = z_f[g];
    }
  for (int64_t u = 0; u < stats.units; ++u) stats.rescaled_units += best_factor[u] != 1.0;
  return stats;
}

GptqStats gptq_quantize(std::span<const float> weight, const MatrixView& view, const BlockHessian& h, QuantizedWeight& q,
                        const GptqOptions& options) {
  return gptq_quantize(weight, std::vector<MatrixView>{view}, std::vector<BlockHessian>{h}, q, options);
}

}  // namespace onnxquant
