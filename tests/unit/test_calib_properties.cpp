// Property-based tests (RapidCheck): quantization round trip, exact zero, histogram merge algebra,
// counts preserved by re-binning, every method's range contains 0 and stays inside the observed range.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "calib/observer.h"
#include "calib/range_methods.h"
#include "quant/quant_params.h"

using namespace onnxquant;

namespace {

// Floats spread over many magnitudes: k / 1000 * 2^e, so ranges from ~1e-9 to ~1e9 and exact zeros occur.
rc::Gen<float> scaled_float(int min_exp, int max_exp) {
  return rc::gen::map(rc::gen::pair(rc::gen::inRange(-100000, 100001), rc::gen::inRange(min_exp, max_exp + 1)),
                      [](std::pair<int, int> p) { return std::ldexp(static_cast<float>(p.first) / 1000.0f, p.second); });
}

rc::Gen<std::vector<float>> float_batch() { return rc::gen::container<std::vector<float>>(scaled_float(-30, 30)); }

// A range with min <= 0 <= max from two magnitudes (either may be 0).
Range gen_range() {
  const float a = std::abs(*scaled_float(-40, 40));
  const float b = std::abs(*scaled_float(-40, 40));
  return {-static_cast<double>(a), static_cast<double>(b)};
}

Observer observe_all(const std::vector<std::vector<float>>& batches) {
  Observer o;
  for (const auto& b : batches) o.observe(b);
  return o;
}

}  // namespace

RC_GTEST_PROP(CalibProperties, AsymmetricRoundTripWithinHalfAStep, ()) {
  const Range r = gen_range();
  const QuantParams p = compute_qparams(r, QuantTarget::UInt8Asymmetric);
  const double t = *rc::gen::inRange(0, 1000001) / 1e6;
  const double x = r.min + t * (r.max - r.min);
  const double back = dequantize_value(quantize_value(x, p), p);
  // scale / 2, plus a few ulps of the double arithmetic.
  RC_ASSERT(std::abs(back - x) <= p.scale / 2 * (1 + 1e-9) + 1e-300);
}

RC_GTEST_PROP(CalibProperties, SymmetricRoundTripWithinHalfAStep, ()) {
  const Range r = gen_range();
  const QuantParams p = compute_qparams(r, QuantTarget::Int8Symmetric);
  const double m = std::max(-r.min, r.max);
  const double x = -m + *rc::gen::inRange(0, 1000001) / 1e6 * 2 * m;
  RC_ASSERT(std::abs(dequantize_value(quantize_value(x, p), p) - x) <= p.scale / 2 * (1 + 1e-9) + 1e-300);
}

RC_GTEST_PROP(CalibProperties, ZeroIsExactForEveryAsymmetricRange, ()) {
  const Range r = gen_range();
  const QuantParams p = compute_qparams(r, QuantTarget::UInt8Asymmetric);
  RC_ASSERT(p.zero_point >= 0 && p.zero_point <= 255);
  RC_ASSERT(quantize_value(0.0, p) == p.zero_point);
  RC_ASSERT(dequantize_value(p.zero_point, p) == 0.0);
  // Also after the scale is narrowed to float, as it is stored in the model.
  QuantParams f = p;
  f.scale = static_cast<float>(p.scale);
  RC_ASSERT(dequantize_value(quantize_value(0.0, f), f) == 0.0);
}

RC_GTEST_PROP(CalibProperties, HistogramMergeIsCommutative, ()) {
  const auto a = *float_batch(), b = *float_batch();
  Observer ab = observe_all({a}), ba = observe_all({b});
  ab.merge(observe_all({b}));
  ba.merge(observe_all({a}));
  RC_ASSERT(ab == ba);
  RC_ASSERT(ab == observe_all({a, b}));
}

RC_GTEST_PROP(CalibProperties, HistogramMergeIsAssociative, ()) {
  const auto a = *float_batch(), b = *float_batch(), c = *float_batch();
  Observer left = observe_all({a});
  left.merge(observe_all({b}));
  left.merge(observe_all({c}));
  Observer bc = observe_all({b});
  bc.merge(observe_all({c}));
  Observer right = observe_all({a});
  right.merge(bc);
  RC_ASSERT(left == right);
  RC_ASSERT(left == observe_all({a, b, c}));
}

RC_GTEST_PROP(CalibProperties, RebinningPreservesTheTotalCount, ()) {
  // Batches of growing magnitude force re-binning at nearly every step.
  const auto batches = *rc::gen::container<std::vector<std::vector<float>>>(float_batch());
  Observer o;
  uint64_t n = 0;
  for (size_t i = 0; i < batches.size(); ++i) {
    std::vector<float> scaled = batches[i];
    // Up to 2^40 more per batch; values past FLT_MAX become inf, which the observer counts apart.
    for (auto& x : scaled) x = std::ldexp(x, static_cast<int>(std::min<size_t>(i, 40)));
    o.observe(scaled);
    n += static_cast<uint64_t>(std::count_if(scaled.begin(), scaled.end(), [](float x) { return std::isfinite(x); }));
    const auto counts = o.histogram().counts();
    RC_ASSERT(o.histogram().total() == n);
    RC_ASSERT(std::accumulate(counts.begin(), counts.end(), uint64_t{0}) == n);
  }
}

RC_GTEST_PROP(CalibProperties, EveryMethodGivesARangeWithZeroInsideTheObservedRange, ()) {
  const auto v = *rc::gen::nonEmpty(float_batch());
  const Observer o = observe_all({v});
  const double lo = std::min(0.0f, o.min()), hi = std::max(0.0f, o.max());
  for (auto m : {RangeMethod::MinMax, RangeMethod::Percentile, RangeMethod::Entropy, RangeMethod::Mse}) {
    for (auto t : {QuantTarget::UInt8Asymmetric, QuantTarget::Int8Symmetric}) {
      RangeOptions opt;
      opt.method = m;
      opt.target = t;
      const Range r = select_range(o, opt);
      RC_ASSERT(std::isfinite(r.min) && std::isfinite(r.max));
      RC_ASSERT(r.min <= 0.0 && 0.0 <= r.max);
      if (t == QuantTarget::Int8Symmetric) {
        RC_ASSERT(r.min == -r.max);
        RC_ASSERT(r.max <= std::max(-lo, hi));
      } else {
        RC_ASSERT(r.min >= lo && r.max <= hi);
      }
      compute_qparams(r, t);  // never throws for a selected range
    }
  }
}
