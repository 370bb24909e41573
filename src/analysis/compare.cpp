#include "analysis/compare.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/errors.h"

namespace onnxquant {

void CompareAccumulator::add(const Tensor& reference, const Tensor& candidate, const std::string& what) {
  if (reference.shape != candidate.shape)
    throw DataError(what + ": shapes differ, " + shape_string(reference.shape) + " vs " + shape_string(candidate.shape));
  const std::vector<double> a = reference.to_doubles();
  const std::vector<double> b = candidate.to_doubles();
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = a[i], y = b[i];
    if (!std::isfinite(x) || !std::isfinite(y)) {
      // Matching infinities (same sign) agree; anything else is counted, not folded into the sums.
      if (!(x == y)) ++nonfinite_;
      continue;
    }
    const double e = x - y;
    dot_ += x * y;
    ref_sq_ += x * x;
    cand_sq_ += y * y;
    err_sq_ += e * e;
    abs_sum_ += std::abs(e);
    abs_max_ = std::max(abs_max_, std::abs(e));
    ++n_;
  }
}

CompareStats CompareAccumulator::stats() const {
  CompareStats s;
  s.elements = n_;
  s.nonfinite = nonfinite_;
  s.max_abs_error = abs_max_;
  s.mean_abs_error = n_ ? abs_sum_ / static_cast<double>(n_) : 0.0;
  if (ref_sq_ == 0 && cand_sq_ == 0) s.cosine = 1.0;
  else if (ref_sq_ == 0 || cand_sq_ == 0) s.cosine = 0.0;
  else s.cosine = dot_ / (std::sqrt(ref_sq_) * std::sqrt(cand_sq_));
  if (err_sq_ == 0) s.sqnr_db = std::numeric_limits<double>::infinity();
  else if (ref_sq_ == 0) s.sqnr_db = -std::numeric_limits<double>::infinity();
  else s.sqnr_db = 10.0 * std::log10(ref_sq_ / err_sq_);
  return s;
}

CompareStats compare_tensors(const Tensor& reference, const Tensor& candidate, const std::string& what) {
  CompareAccumulator acc;
  acc.add(reference, candidate, what);
  return acc.stats();
}

TopKAgreement topk_agreement(const Tensor& reference, const Tensor& candidate, int k) {
  if (reference.shape != candidate.shape || reference.shape.empty())
    throw DataError("top-k agreement needs two score tensors of the same shape");
  const int64_t classes = reference.shape.back();
  if (classes <= 0) return {};
  const std::vector<double> a = reference.to_doubles(), b = candidate.to_doubles();
  TopKAgreement r;
  r.rows = static_cast<int64_t>(a.size()) / classes;
  const int kk = static_cast<int>(std::min<int64_t>(k, classes));
  std::vector<int64_t> idx(static_cast<size_t>(classes));
  for (int64_t row = 0; row < r.rows; ++row) {
    const double* ra = a.data() + row * classes;
    const double* rb = b.data() + row * classes;
    const auto ref_top = std::max_element(ra, ra + classes) - ra;
    const auto cand_top = std::max_element(rb, rb + classes) - rb;
    r.top1_matches += ref_top == cand_top;
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + kk, idx.end(), [&](int64_t i, int64_t j) { return rb[i] > rb[j]; });
    r.ref_top1_in_cand_topk += std::find(idx.begin(), idx.begin() + kk, ref_top) != idx.begin() + kk;
  }
  return r;
}

MaskAgreement mask_agreement(const Tensor& reference, const Tensor& candidate, double threshold) {
  if (reference.shape != candidate.shape) throw DataError("mask agreement needs two tensors of the same shape");
  const std::vector<double> a = reference.to_doubles(), b = candidate.to_doubles();
  MaskAgreement m;
  for (size_t i = 0; i < a.size(); ++i) {
    const bool in_a = a[i] > threshold, in_b = b[i] > threshold;  // NaN is outside both
    m.intersection += in_a && in_b;
    m.union_ += in_a || in_b;
  }
  return m;
}

}  // namespace onnxquant
