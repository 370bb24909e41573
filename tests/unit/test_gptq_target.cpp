// The asymmetric GPTQ target (quant/gptq_target.h): the cross moment's sums, that the target is the
// weight when the inputs carry no error, that it undoes an input error a linear map can predict, and
// that cross-validation refuses a damping that only fits the calibration rows.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "quant/cholesky.h"
#include "quant/gptq_target.h"

using namespace onnxquant;

namespace {

struct Rows {
  int64_t count = 0, dim = 0;
  std::vector<float> x, xq;  // FP32 inputs and the inputs the quantized model sees, row after row
};

// x ~ N(0, 1) with some correlation; xq = x * gain + noise (per input).
Rows make_rows(int64_t count, int64_t dim, const std::vector<float>& gain, float noise, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n01(0.f, 1.f);
  Rows r{count, dim, {}, {}};
  for (int64_t i = 0; i < count; ++i) {
    const float common = n01(rng);
    for (int64_t c = 0; c < dim; ++c) {
      const float x = 0.5f * common + n01(rng);
      r.x.push_back(x);
      r.xq.push_back(x * gain[c] + noise * n01(rng));
    }
  }
  return r;
}

struct Stats {
  std::vector<BlockHessian> h, h_half;
  std::vector<BlockCrossMoment> c, c_half;
};

Stats statistics(const Rows& r, int64_t block) {
  Stats s;
  s.h.emplace_back(r.dim, block), s.h_half.emplace_back(r.dim, block);
  s.c.emplace_back(r.dim, block), s.c_half.emplace_back(r.dim, block);
  // One "sample" per row; even-numbered ones form the cross-validation half, as in layer_hessians.cpp.
  for (int64_t i = 0; i < r.count; ++i) {
    const auto x = std::span<const float>(r.x).subspan(static_cast<size_t>(i * r.dim), static_cast<size_t>(r.dim));
    const auto xq = std::span<const float>(r.xq).subspan(static_cast<size_t>(i * r.dim), static_cast<size_t>(r.dim));
    s.h[0].add_rows(xq, 1);
    s.c[0].add_rows(xq, x, 1);
    if (i % 2 == 0) s.h_half[0].add_rows(xq, 1), s.c_half[0].add_rows(xq, x, 1);
  }
  return s;
}

MatrixView identity_view(int64_t rows, int64_t cols) {
  MatrixView v{rows, cols, {}};
  for (int64_t i = 0; i < rows * cols; ++i) v.index.push_back(i);
  return v;
}

std::vector<float> random_weight(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n01(0.f, 1.f);
  std::vector<float> w(static_cast<size_t>(n));
  for (auto& v : w) v = n01(rng);
  return w;
}

// Mean over rows and outputs of (xq . t_o - x . w_o)^2.
double output_error(const Rows& r, const std::vector<float>& t, const std::vector<float>& w, int64_t outputs) {
  double e = 0.0;
  for (int64_t i = 0; i < r.count; ++i)
    for (int64_t o = 0; o < outputs; ++o) {
      double a = 0.0, b = 0.0;
      for (int64_t c = 0; c < r.dim; ++c) {
        a += r.xq[i * r.dim + c] * t[o * r.dim + c];
        b += r.x[i * r.dim + c] * w[o * r.dim + c];
      }
      e += (a - b) * (a - b);
    }
  return e / static_cast<double>(r.count * outputs);
}

// (H + lambda I)^-1 (C w + lambda w) for every output, solved here without cross-validation.
std::vector<float> direct_target(const Stats& s, const std::vector<float>& w, int64_t outputs, double damp) {
  const int64_t n = s.h[0].dim();
  std::vector<double> a(static_cast<size_t>(n * n));
  double mean = 0.0;
  for (int64_t i = 0; i < n; ++i) mean += s.h[0].at(i, i) / n;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) a[i * n + j] = s.h[0].at(i, j) + (i == j ? damp * mean : 0.0);
  EXPECT_TRUE(cholesky_lower(a, n));
  std::vector<float> t(w.size());
  for (int64_t o = 0; o < outputs; ++o) {
    std::vector<double> b(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      b[i] = damp * mean * w[o * n + i];
      for (int64_t j = 0; j < n; ++j) b[i] += s.c[0].at(i, j) * w[o * n + j];
    }
    for (int64_t i = 0; i < n; ++i) {  // L y = b
      for (int64_t k = 0; k < i; ++k) b[i] -= a[i * n + k] * b[k];
      b[i] /= a[i * n + i];
    }
    for (int64_t i = n - 1; i >= 0; --i) {  // L^T x = y
      for (int64_t k = i + 1; k < n; ++k) b[i] -= a[k * n + i] * b[k];
      b[i] /= a[i * n + i];
    }
    for (int64_t i = 0; i < n; ++i) t[o * n + i] = static_cast<float>(b[i]);
  }
  return t;
}

}  // namespace

TEST(GptqTarget, CrossMomentSumsProductsOfQuantizedAndReferenceRows) {
  const int64_t dim = 21, n = 130, block = 8;
  const Rows r = make_rows(n, dim, std::vector<float>(dim, 0.7f), 0.3f, 4);
  BlockCrossMoment c(dim, block);
  c.add_rows(r.xq, r.x, n);
  EXPECT_EQ(c.rows(), n);
  for (int64_t i = 0; i < dim; ++i)
    for (int64_t j = 0; j < dim; ++j) {
      double want = 0.0;
      if (i / block == j / block)
        for (int64_t k = 0; k < n; ++k) want += double(r.xq[k * dim + i]) * r.x[k * dim + j];
      EXPECT_NEAR(c.at(i, j), want, 1e-3 * (1 + std::fabs(want))) << i << "," << j;
    }
}

TEST(GptqTarget, ExactInputsKeepTheWeight) {
  const int64_t dim = 24, outputs = 5;
  const Rows r = make_rows(400, dim, std::vector<float>(dim, 1.f), 0.f, 5);
  const Stats s = statistics(r, 16);
  const std::vector<float> w = random_weight(outputs * dim, 6);
  CompensationChoice choice;
  const std::vector<float> t =
      compensated_weight(w, {identity_view(outputs, dim)}, {s.h, s.c}, {s.h_half, s.c_half}, default_compensation_dampings(), choice);
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(t[i], w[i], 1e-4 * (1 + std::fabs(w[i])));
}

TEST(GptqTarget, UndoesAnInputErrorALinearMapPredicts) {
  // The quantized prefix scales every input by its own gain (a per-channel scale error upstream): the
  // target that restores the FP32 output divides each weight column by that gain.
  const int64_t dim = 32, outputs = 6;
  std::vector<float> gain(dim);
  for (int64_t c = 0; c < dim; ++c) gain[c] = 0.8f + 0.4f * static_cast<float>(c) / dim;
  const Rows r = make_rows(2000, dim, gain, 0.01f, 7);
  const Stats s = statistics(r, 512);
  const std::vector<float> w = random_weight(outputs * dim, 8);
  CompensationChoice choice;
  const std::vector<float> t =
      compensated_weight(w, {identity_view(outputs, dim)}, {s.h, s.c}, {s.h_half, s.c_half}, default_compensation_dampings(), choice);
  EXPECT_TRUE(choice.compensated);
  EXPECT_LE(choice.damp, 0.1);
  for (int64_t o = 0; o < outputs; ++o)
    for (int64_t c = 0; c < dim; ++c) EXPECT_NEAR(t[o * dim + c], w[o * dim + c] / gain[c], 0.02 * (1 + std::fabs(w[o * dim + c])));
  const Rows fresh = make_rows(500, dim, gain, 0.01f, 9);
  EXPECT_LT(output_error(fresh, t, w, outputs), 0.01 * output_error(fresh, w, w, outputs));
}

TEST(GptqTarget, CrossValidationRefusesADampingThatOnlyFitsTheCalibrationRows) {
  // Fewer rows than inputs and an input error that is pure noise: a lightly damped target reproduces
  // the calibration outputs exactly and is worse than the weight on any other row.
  const int64_t dim = 64, outputs = 4;
  const Rows r = make_rows(24, dim, std::vector<float>(dim, 1.f), 0.5f, 10);
  const Stats s = statistics(r, 512);
  const std::vector<float> w = random_weight(outputs * dim, 11);
  CompensationChoice choice;
  const std::vector<float> t = compensated_weight(w, {identity_view(outputs, dim)}, {s.h, s.c}, {s.h_half, s.c_half}, {0.01}, choice);
  EXPECT_FALSE(choice.compensated);
  EXPECT_EQ(t, w);
  // What it refused: the target at that damping fits the calibration rows and fails elsewhere.
  const std::vector<float> overfit = direct_target(s, w, outputs, 0.01);
  EXPECT_LT(output_error(r, overfit, w, outputs), 0.1 * output_error(r, w, w, outputs));
  const Rows fresh = make_rows(1000, dim, std::vector<float>(dim, 1.f), 0.5f, 12);
  EXPECT_GT(output_error(fresh, overfit, w, outputs), output_error(fresh, w, w, outputs));
}
