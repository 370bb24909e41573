// How one weight tensor maps onto an integer grid: bits (8 or 4), symmetric or asymmetric, and which
// elements share a scale (per tensor, per channel along an axis, or blocks of `block_size` along an
// axis, the DequantizeLinear-21 `block_size` layout). Round-to-nearest lives here; GPTQ (quant/gptq.h)
// reuses the same scales and grid and only changes the rounding.
//
// Grids (values a DequantizeLinear reads, x = (q - zp) * scale):
//   8-bit symmetric  q in [-127, 127], zp 0 (DESIGN.md weight rule: -128 never used, so -w is exact)
//   8-bit asymmetric q in [-128, 127], zp chosen so that the range [min(0,lo), max(0,hi)] fits
//   4-bit symmetric  q in [-7, 7],     zp 0
//   4-bit asymmetric q in [-8, 7]
// Scales are computed in double and narrowed to float only when written.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace onnxquant {

enum class WeightScheme { Symmetric, Asymmetric };
enum class WeightGrouping { PerTensor, PerChannel, Blocked };

struct WeightGrid {
  int bits = 8;  // 8 or 4
  WeightScheme scheme = WeightScheme::Symmetric;
  WeightGrouping grouping = WeightGrouping::PerChannel;
  int64_t axis = 0;        // PerChannel: the channel axis; Blocked: the axis cut into blocks
  int64_t block_size = 0;  // Blocked only
  int32_t qmin() const;
  int32_t qmax() const;
};

std::string grid_label(const WeightGrid& g);  // "int8 symmetric per-channel axis 0", "int4 asymmetric block 32 axis 1"

// Which scale every element of a tensor of `shape` uses, and the shape of the scale tensor
// (scalar, [C], or `shape` with dim `axis` replaced by ceil(dim / block_size)).
class WeightGroups {
 public:
  WeightGroups(const Shape& shape, const WeightGrid& grid);  // throws InternalError on a bad axis/block
  int64_t groups() const { return groups_; }
  const Shape& scale_shape() const { return scale_shape_; }
  int64_t group_of(int64_t element) const;

 private:
  WeightGrouping grouping_;
  int64_t dim_ = 1, inner_ = 1, block_ = 1, blocks_ = 1, groups_ = 1;
  Shape scale_shape_;
};

struct QuantizedWeight {
  WeightGrid grid;
  Shape shape;                       // of the weight
  std::vector<int8_t> values;        // one integer per element (4-bit values too, unpacked)
  Shape scale_shape;
  std::vector<double> scales;        // one per group
  std::vector<int32_t> zero_points;  // one per group (all 0 when symmetric)
  // (q - zp) * scale for every element: what the model computes with.
  std::vector<float> dequantized() const;
};

// Each group's [min, max] of the finite weights, both widened to include 0.
struct GroupRanges {
  std::vector<double> lo, hi;
};
GroupRanges group_ranges(std::span<const float> w, const WeightGroups& groups);

// Scale and zero point of every group from its range times `range_factor` (1: the weights' min/max;
// below 1 clips the extremes, above 1 leaves headroom and moves every grid point). GPTQ searches this
// factor (quant/gptq.h); round-to-nearest uses 1.
void scales_from_ranges(const GroupRanges& ranges, const WeightGrid& grid, double range_factor, std::vector<double>& scales,
                        std::vector<int32_t>& zero_points);

// Scale and zero point of every group from the weights' min/max (min/max include 0).
void choose_scales(std::span<const float> w, const WeightGroups& groups, const WeightGrid& grid, std::vector<double>& scales,
                   std::vector<int32_t>& zero_points);

// Round-to-nearest (half to even, as ONNX QuantizeLinear) of every element, then clamp to the grid.
QuantizedWeight quantize_rtn(const Tensor& weight, const WeightGrid& grid);

// One value onto the grid with a group's parameters.
int8_t quantize_to_grid(double x, double scale, int32_t zero_point, const WeightGrid& grid);

}  // namespace onnxquant
