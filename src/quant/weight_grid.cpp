#include "quant/weight_grid.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/errors.h"
#include "quant/quant_params.h"

namespace onnxquant {

int32_t WeightGrid::qmin() const {
  if (bits == 8) return scheme == WeightScheme::Symmetric ? -127 : -128;
  return scheme == WeightScheme::Symmetric ? -7 : -8;
}
int32_t WeightGrid::qmax() const { return bits == 8 ? 127 : 7; }

std::string grid_label(const WeightGrid& g) {
  const char* scheme = g.scheme == WeightScheme::Symmetric ? "symmetric" : "asymmetric";
  switch (g.grouping) {
    case WeightGrouping::PerTensor: return fmt::format("int{} {} per-tensor", g.bits, scheme);
    case WeightGrouping::PerChannel: return fmt::format("int{} {} per-channel axis {}", g.bits, scheme, g.axis);
    case WeightGrouping::Blocked: return fmt::format("int{} {} block {} axis {}", g.bits, scheme, g.block_size, g.axis);
  }
  return "?";
}

WeightGroups::WeightGroups(const Shape& shape, const WeightGrid& grid) : grouping_(grid.grouping) {
  if (grid.grouping == WeightGrouping::PerTensor) return;
  const auto rank = static_cast<int64_t>(shape.size());
  if (grid.axis < 0 || grid.axis >= rank)
    throw InternalError(fmt::format("weight grid axis {} is outside a tensor of shape {}", grid.axis, shape_string(shape)));
  dim_ = shape[grid.axis];
  for (int64_t k = grid.axis + 1; k < rank; ++k) inner_ *= shape[k];
  if (grid.grouping == WeightGrouping::PerChannel) {
    groups_ = dim_;
    scale_shape_ = {dim_};
    return;
  }
  if (grid.block_size < 2) throw InternalError(fmt::format("block size {} must be at least 2", grid.block_size));
  block_ = grid.block_size;
  blocks_ = (dim_ + block_ - 1) / block_;
  scale_shape_ = shape;
  scale_shape_[grid.axis] = blocks_;
  groups_ = element_count(scale_shape_);
}

int64_t WeightGroups::group_of(int64_t i) const {
  switch (grouping_) {
    case WeightGrouping::PerTensor: return 0;
    case WeightGrouping::PerChannel: return (i / inner_) % dim_;
    case WeightGrouping::Blocked: {
      const int64_t outer = i / (dim_ * inner_), d = (i / inner_) % dim_, r = i % inner_;
      return (outer * blocks_ + d / block_) * inner_ + r;
    }
  }
  return 0;
}

int8_t quantize_to_grid(double x, double scale, int32_t zero_point, const WeightGrid& grid) {
  if (std::isnan(x)) return static_cast<int8_t>(zero_point);
  const double q = std::nearbyint(x / scale) + zero_point;
  return static_cast<int8_t>(std::clamp(q, static_cast<double>(grid.qmin()), static_cast<double>(grid.qmax())));
}

GroupRanges group_ranges(std::span<const float> w, const WeightGroups& groups) {
  const int64_t n = groups.groups();
  GroupRanges r{std::vector<double>(n, 0.0), std::vector<double>(n, 0.0)};  // start at 0: every range contains 0
  for (size_t i = 0; i < w.size(); ++i) {
    const double v = w[i];
    if (!std::isfinite(v)) continue;
    const int64_t g = groups.group_of(static_cast<int64_t>(i));
    r.lo[g] = std::min(r.lo[g], v);
    r.hi[g] = std::max(r.hi[g], v);
  }
  return r;
}

void scales_from_ranges(const GroupRanges& ranges, const WeightGrid& grid, double range_factor, std::vector<double>& scales,
                        std::vector<int32_t>& zero_points) {
  const auto n = static_cast<int64_t>(ranges.lo.size());
  scales.assign(n, 1.0);
  zero_points.assign(n, 0);
  const double qmin = grid.qmin(), qmax = grid.qmax();
  for (int64_t g = 0; g < n; ++g) {
    const double lo = ranges.lo[g] * range_factor, hi = ranges.hi[g] * range_factor;
    double s;
    int32_t zp = 0;
    if (grid.scheme == WeightScheme::Symmetric) {
      s = std::max(-lo, hi) / qmax;
    } else {
      s = (hi - lo) / (qmax - qmin);
      if (s >= kMinScale) zp = static_cast<int32_t>(std::clamp(std::nearbyint(qmin - lo / s), qmin, qmax));
    }
    if (s >= kMinScale) {
      scales[g] = s;
      zero_points[g] = zp;
    }
  }
}

void choose_scales(std::span<const float> w, const WeightGroups& groups, const WeightGrid& grid, std::vector<double>& scales,
                   std::vector<int32_t>& zero_points) {
  scales_from_ranges(group_ranges(w, groups), grid, 1.0, scales, zero_points);
}

std::vector<float> QuantizedWeight::dequantized() const {
  const WeightGroups groups(shape, grid);
  std::vector<float> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const int64_t g = groups.group_of(static_cast<int64_t>(i));
    out[i] = static_cast<float>((values[i] - zero_points[g]) * scales[g]);
  }
  return out;
}

QuantizedWeight quantize_rtn(const Tensor& weight, const WeightGrid& grid) {
  if (weight.dtype != DType::Float32) throw InternalError("quantize_rtn: weight is " + dtype_name(weight.dtype) + ", not float32");
  QuantizedWeight q{grid, weight.shape, {}, {}, {}, {}};
  const WeightGroups groups(weight.shape, grid);
  q.scale_shape = groups.scale_shape();
  const auto w = weight.as<float>();
  choose_scales(w, groups, grid, q.scales, q.zero_points);
  q.values.resize(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    const int64_t g = groups.group_of(static_cast<int64_t>(i));
    q.values[i] = quantize_to_grid(w[i], q.scales[g], q.zero_points[g], grid);
  }
  return q;
}

}  // namespace onnxquant
