// GPTQ-style error-compensating rounding (Frantar et al., "GPTQ", 2022), applied to one weight viewed as
// matrices W[rows = outputs, cols = inputs] with the second moment of the layer's inputs
// H = sum x x^T over calibration rows x. Columns are quantized one at a time; each column's rounding
// error, scaled by the inverse-Hessian's Cholesky factor, is pushed onto the columns not yet quantized,
// so the layer's output error ||X (W - Q)||, not the weight error, is what gets minimised.
//
// The grid's scales are searched too. GPTQ only moves a weight within its group's grid, and on layers
// with few inputs (a 1x1 conv over 16 channels, a depthwise 3x3 with 9 taps) there is little to move
// onto: measured on mobilenet_v2, GPTQ at the min/max scale cut such layers' output error to only
// 0.7-0.9x of round-to-nearest, and those early narrow layers carry most of the end-to-end loss. Each
// candidate `range_factor` scales every group's min/max range (below 1 clips, above 1 moves every grid
// point); GPTQ runs at each, and every search unit (a row: its per-channel scale or its blocks; the
// whole tensor when one scale is shared) keeps the factor with the smallest output error
// sum_c (err_c / U_cc)^2, which is exactly (w - q)^T H (w - q) with the damped H. The factor 1 is always
// a candidate, so the search never does worse than plain GPTQ on the calibration statistics. The
// format is unchanged: one scale (and zero point) per group, as round-to-nearest writes it.
//
// To bound time and memory on wide layers (a 3x3 conv over 512 channels has 4608 inputs) H is kept as
// independent diagonal blocks of at most `block` columns: errors are compensated within a block only.
// Dead inputs (H_ii = 0) are rounded to nearest. A block whose damped H is not positive definite falls
// back to round-to-nearest for its columns (reported through the return value).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "quant/weight_grid.h"

namespace onnxquant {

inline constexpr int64_t kDefaultGptqBlock = 512;

// The diagonal blocks of a dim x dim matrix, `block` wide (the last one narrower), stored one after the
// other, each square and row-major: the layout of BlockHessian and of quant/gptq_target.h's cross moment.
struct BlockDiagonalLayout {
  BlockDiagonalLayout(int64_t dim, int64_t block);  // block is clamped to [1, dim]
  int64_t dim, block;
  size_t size() const;  // values stored
  bool same_block(int64_t i, int64_t j) const { return i / block == j / block; }
  size_t offset(int64_t i, int64_t j) const;  // of entry (i, j), both in one block
};

// Both statistics are summed over batches of rows transposed so that one input's values are contiguous.
inline constexpr int64_t kMomentBatch = 64;
// The dot product of two inputs' values over one such batch, in float with independent lanes (the
// compiler vectorizes it without reassociating), summed in double.
inline double batch_dot(const float* a, const float* b) {
  constexpr int64_t kLanes = 8;
  float acc[kLanes] = {};
  for (int64_t r = 0; r < kMomentBatch; r += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) acc[l] += a[r + l] * b[r + l];
  double sum = 0.0;
  for (float x : acc) sum += x;
  return sum;
}

// Diagonal blocks of X^T X for `dim` inputs, accumulated from rows of calibration inputs.
class BlockHessian {
 public:
  BlockHessian(int64_t dim, int64_t block = kDefaultGptqBlock);
  int64_t dim() const { return dim_; }
  int64_t block() const { return block_; }
  int64_t rows() const { return rows_; }
  size_t bytes() const { return h_.size() * sizeof(double); }
  void add_row(std::span<const float> x);
  // `count` rows of `dim` values, one after the other. Same result as add_row on each, but the rows
  // are summed in batches, so each block of H is streamed once per batch instead of once per row.
  void add_rows(std::span<const float> rows, int64_t count);
  void merge(const BlockHessian& other);  // same dim and block
  // Entry (i, j) of the block holding i and j (both in the same block).
  double at(int64_t i, int64_t j) const;

 private:
  int64_t dim_, block_, rows_ = 0;
  std::vector<double> h_;  // blocks one after the other, each square, upper triangle filled
  size_t offset(int64_t i, int64_t j) const;
};

// A weight seen as a matrix: element (r, c) is weight element index[r * cols + c].
struct MatrixView {
  int64_t rows = 0, cols = 0;
  std::vector<int64_t> index;
};

// 0.80, 0.81, ..., 1.20: fine steps, because what the search finds is mostly a grid that happens to fit
// the row's weights (mobilenet_v2 end to end: steps of 0.02 kept 0.58x of round-to-nearest's loss, 0.01 0.55x).
std::vector<double> default_range_factors();

struct GptqOptions {
  double damp = 0.01;     // added to H's diagonal, times the block's mean diagonal
  bool act_order = true;  // round columns in decreasing order of H's diagonal
  std::vector<double> range_factors = default_range_factors();  // scale candidates; {1} = min/max only
  // Round on the grid q.scales / q.zero_points already hold, with no search: static INT8 keeps its
  // plan's scales, which the integer kernels and the int32 biases are built from.
  bool keep_scales = false;
};

struct GptqStats {
  int64_t columns = 0, dead_columns = 0, rtn_fallback_blocks = 0;
  int64_t units = 0, rescaled_units = 0;  // search units, and those whose best factor is not 1
};

// Quantizes every element the views cover (one Hessian per view; a grouped Conv has one view per
// group) and sets q.values, q.scales and q.zero_points (only q.values with keep_scales). `weight` is the whole float tensor.
GptqStats gptq_quantize(std::span<const float> weight, const std::vector<MatrixView>& views, const std::vector<BlockHessian>& hessians,
                        QuantizedWeight& q, const GptqOptions& options = {});
GptqStats gptq_quantize(std::span<const float> weight, const MatrixView& view, const BlockHessian& h, QuantizedWeight& q,
                        const GptqOptions& options = {});

}  // namespace onnxquant
