// minmax and percentile, the dispatcher and the method parameters. Entropy and MSE live in their own
// files (entropy.cpp, mse.cpp).
#include "calib/range_methods.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>

#include "core/errors.h"

namespace onnxquant {

const char* method_name(RangeMethod m) {
  switch (m) {
    case RangeMethod::MinMax: return "minmax";
    case RangeMethod::Percentile: return "percentile";
    case RangeMethod::Entropy: return "entropy";
    case RangeMethod::Mse: return "mse";
  }
  return "unknown";
}

std::optional<RangeMethod> parse_method(std::string_view name) {
  for (auto m : {RangeMethod::MinMax, RangeMethod::Percentile, RangeMethod::Entropy, RangeMethod::Mse})
    if (name == method_name(m)) return m;
  return std::nullopt;
}

void validate_range_options(const RangeOptions& o) {
  const double p = o.percentile.percentile;
  if (!(p > 0.0 && p <= 100.0)) throw UsageError("percentile " + std::to_string(p) + " must be in (0, 100]");
  if (o.entropy.levels < 2 || o.entropy.levels > 1 << 15)
    throw UsageError("entropy levels " + std::to_string(o.entropy.levels) + " must be in [2, 32768]");
  if (o.entropy.max_bins < o.entropy.levels)
    throw UsageError("entropy max_bins " + std::to_string(o.entropy.max_bins) + " must be at least levels (" +
                     std::to_string(o.entropy.levels) + ")");
  if (o.mse.candidates < 2 || o.mse.candidates > 1 << 14)
    throw UsageError("mse candidates " + std::to_string(o.mse.candidates) + " must be in [2, 16384]");
}

static void require_values(const Observer& obs) {
  if (obs.empty()) throw CalibrationError("no finite values were observed, so no range can be chosen");
}

Range select_range(const Observer& observer, const RangeOptions& options) {
  validate_range_options(options);
  switch (options.method) {
    case RangeMethod::MinMax: return minmax_range(observer, options.target);
    case RangeMethod::Percentile: return percentile_range(observer, options.target, options.percentile);
    case RangeMethod::Entropy: return entropy_range(observer, options.target, options.entropy);
    case RangeMethod::Mse: return mse_range(observer, options.target, options.mse);
  }
  throw InternalError("select_range: unknown method");
}

Range minmax_range(const Observer& observer, QuantTarget target) {
  require_values(observer);
  const double lo = std::min(0.0, static_cast<double>(observer.min()));
  const double hi = std::max(0.0, static_cast<double>(observer.max()));
  if (target == QuantTarget::Int8Symmetric) {
    const double t = std::max(-lo, hi);
    return {-t, t};
  }
  return {lo, hi};
}

namespace {

// The value below which `mass` of the counts lie (counts over consecutive bins of width `width` starting
// at `origin`), interpolating linearly inside the bin where the cumulative count crosses.
double quantile(std::span<const uint64_t> counts, double origin, double width, double mass) {
  double cumulative = 0.0;
  for (size_t k = 0; k < counts.size(); ++k) {
    const double c = static_cast<double>(counts[k]);
    if (c > 0.0 && cumulative + c >= mass) {
      const double frac = std::clamp((mass - cumulative) / c, 0.0, 1.0);
      return origin + (static_cast<double>(k) + frac) * width;
    }
    cumulative += c;
  }
  return origin + static_cast<double>(counts.size()) * width;
}

}  // namespace

Range percentile_range(const Observer& observer, QuantTarget target, const PercentileOptions& options) {
  require_values(observer);
  // A constant is a point mass: any interpolated quantile would land a hair inside it.
  if (observer.min() == observer.max()) return minmax_range(observer, target);
  const double p = options.percentile;
  if (!(p > 0.0 && p <= 100.0)) throw UsageError("percentile " + std::to_string(p) + " must be in (0, 100]");
  const Histogram& h = observer.histogram();
  const double total = static_cast<double>(h.total());
  const double lo = observer.min(), hi = observer.max();
  if (target == QuantTarget::Int8Symmetric) {
    const auto folded = h.folded_abs();
    const double t = quantile(folded, 0.0, h.bin_width(), total * p / 100.0);
    const double t_clamped = std::min(t, std::max(std::abs(lo), std::abs(hi)));
    return {-t_clamped, t_clamped};
  }
  // Interpolated quantiles can land past the observed extremes (bins extend beyond them): clamp back.
  const double cut = total * (100.0 - p) / 200.0;
  const double origin = h.lower_edge(0);
  const double q_lo = std::clamp(quantile(h.counts(), origin, h.bin_width(), cut), lo, hi);
  const double q_hi = std::clamp(quantile(h.counts(), origin, h.bin_width(), total - cut), lo, hi);
  return {std::min(0.0, q_lo), std::max(0.0, q_hi)};
}

nlohmann::json method_params_to_json(const RangeOptions& o) {
  switch (o.method) {
    case RangeMethod::MinMax: return nlohmann::json::object();
    case RangeMethod::Percentile: return {{"percentile", o.percentile.percentile}};
    case RangeMethod::Entropy: return {{"levels", o.entropy.levels}, {"max_bins", o.entropy.max_bins}};
    case RangeMethod::Mse: return {{"candidates", o.mse.candidates}};
  }
  return nlohmann::json::object();
}

namespace {
template <typename T>
void read_param(const nlohmann::json& params, const char* key, T& out) {
  if (!params.contains(key)) return;
  const auto& v = params.at(key);
  if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer()) throw DataError(std::string("parameter '") + key + "' must be an integer");
  } else {
    if (!v.is_number()) throw DataError(std::string("parameter '") + key + "' must be a number");
  }
  out = v.get<T>();
}
}  // namespace

void method_params_from_json(const nlohmann::json& params, RangeOptions& o) {
  if (!params.is_object()) throw DataError("method parameters must be an object");
  read_param(params, "percentile", o.percentile.percentile);
  read_param(params, "levels", o.entropy.levels);
  read_param(params, "max_bins", o.entropy.max_bins);
  read_param(params, "candidates", o.mse.candidates);
  try {
    validate_range_options(o);
  } catch (const UsageError& e) {
    throw DataError(e.what());
  }
}

}  // namespace onnxquant
