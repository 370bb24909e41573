// GPTQ-style error-compensating rounding (Frantar et al., "GPTQ", 2022), applied to one weight viewed as
// a matrix W[rows = outputs, cols = inputs] with the second moment of the layer's inputs
// H = sum x x^T over calibration rows x. Columns are quantized one at a time; each column's rounding
// error, scaled by the inverse-Hessian's Cholesky factor, is pushed onto the columns not yet quantized,
// so the layer's output error ||X (W - Q)||, not the weight error, is what gets minimised. Scales and
// zero points are fixed beforehand from the float weights (quant/weight_grid.h), so the format is the
// same as round-to-nearest.
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

// Diagonal blocks of X^T X for `dim` inputs, accumulated row by row.
class BlockHessian {
 public:
  BlockHessian(int64_t dim, int64_t block = kDefaultGptqBlock);
  int64_t dim() const { return dim_; }
  int64_t block() const { return block_; }
  int64_t rows() const { return rows_; }
  size_t bytes() const { return h_.size() * sizeof(double); }
  void add_row(std::span<const float> x);
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

struct GptqOptions {
  double damp = 0.01;     // added to H's diagonal, times the block's mean diagonal
  bool act_order = true;  // round columns in decreasing order of H's diagonal
};

struct GptqStats {
  int64_t columns = 0, dead_columns = 0, rtn_fallback_blocks = 0;
};

// Overwrites q.values for the elements of `view` (q.scales / q.zero_points are used as they are).
GptqStats gptq_quantize(std::span<const float> weight, const MatrixView& view, const BlockHessian& h, QuantizedWeight& q,
                        const GptqOptions& options = {});

}  // namespace onnxquant
