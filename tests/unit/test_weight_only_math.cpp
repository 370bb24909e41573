// Weight-only math without ORT: grids and scales (quant/weight_grid.h), 4-bit packing
// (quant/int4_pack.h) and GPTQ (quant/gptq.h) against round-to-nearest on correlated inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <random>

#include "quant/gptq.h"
#include "quant/int4_pack.h"
#include "quant/weight_grid.h"
#include "support/graph_builder.h"

using namespace onnxquant;
using onnxquant::test::make_float_tensor;
using onnxquant::test::random_float_tensor;

TEST(WeightGrid, Int8SymmetricPerChannelScalesAndValues) {
  const Tensor w = make_float_tensor({2, 3}, {127.f, -63.5f, 0.f, 1.f, -254.f, 254.f});
  WeightGrid g;  // int8 symmetric per-channel axis 0
  const QuantizedWeight q = quantize_rtn(w, g);
  ASSERT_EQ(q.scales.size(), 2u);
  EXPECT_DOUBLE_EQ(q.scales[0], 1.0);
  EXPECT_DOUBLE_EQ(q.scales[1], 2.0);
  EXPECT_EQ(q.values, (std::vector<int8_t>{127, -64, 0, 0, -127, 127}));  // -63.5 and 0.5 round half to even
  EXPECT_EQ(q.zero_points, (std::vector<int32_t>{0, 0}));
  EXPECT_EQ(q.scale_shape, (Shape{2}));
}

TEST(WeightGrid, AsymmetricUsesTheWholeGridAndKeepsZeroExact) {
  const Tensor w = make_float_tensor({4}, {0.f, 1.f, 2.f, 2.55f});
  WeightGrid g;
  g.scheme = WeightScheme::Asymmetric;
  g.grouping = WeightGrouping::PerTensor;
  const QuantizedWeight q = quantize_rtn(w, g);
  EXPECT_NEAR(q.scales[0], 0.01, 1e-9);  // 2.55f / 255
  EXPECT_EQ(q.zero_points[0], -128);
  EXPECT_EQ(q.values[0], -128);
  EXPECT_EQ(q.values[3], 127);
  EXPECT_FLOAT_EQ(q.dequantized()[0], 0.f);
}

TEST(WeightGrid, Int4BlocksAlongTheInputAxis) {
  // MatMul weight [K=6, N=2] blocked along axis 0 in blocks of 4: scale shape [2, 2].
  const Tensor w = make_float_tensor({6, 2}, {7, 1, -7, 2, 3.5f, 3, 0, 4, 14, 0.5f, -1, 0.25f});
  WeightGrid g{4, WeightScheme::Symmetric, WeightGrouping::Blocked, 0, 4};
  const WeightGroups groups(w.shape, g);
  EXPECT_EQ(groups.scale_shape(), (Shape{2, 2}));
  EXPECT_EQ(groups.group_of(0), 0);   // k=0, n=0
  EXPECT_EQ(groups.group_of(7), 1);   // k=3, n=1
  EXPECT_EQ(groups.group_of(8), 2);   // k=4, n=0
  EXPECT_EQ(groups.group_of(11), 3);  // k=5, n=1
  const QuantizedWeight q = quantize_rtn(w, g);
  EXPECT_NEAR(q.scales[0], 1.0, 1e-12);        // max |.| 7 in block (0, n=0) / 7
  EXPECT_NEAR(q.scales[1], 4.0 / 7, 1e-12);    // block (0, n=1)
  EXPECT_NEAR(q.scales[2], 2.0, 1e-12);        // block (1, n=0): 14 / 7
  EXPECT_EQ(q.values[0], 7);
  EXPECT_EQ(q.values[2], -7);
  EXPECT_EQ(q.values[8], 7);
  EXPECT_EQ(q.values[10], 0);  // -1 / 2 = -0.5 rounds half to even
}

TEST(Int4Pack, LowNibbleFirstAndSignExtension) {
  const std::vector<int8_t> v{1, -1, 7, -8, 3};
  const std::string bytes = pack_int4(v);
  ASSERT_EQ(bytes.size(), 3u);
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 0xF1);
  EXPECT_EQ(static_cast<uint8_t>(bytes[1]), 0x87);
  EXPECT_EQ(static_cast<uint8_t>(bytes[2]), 0x03);
  EXPECT_EQ(unpack_int4(bytes, 5, true), v);
  EXPECT_EQ(unpack_int4(bytes, 2, false), (std::vector<int8_t>{1, 15}));
}

namespace {

// ||X (W - Wq)^T||^2 over rows of X, for W as [rows, cols] (row-major, rows = outputs).
double output_error(const std::vector<std::vector<float>>& xs, const std::vector<float>& w, const std::vector<float>& wq, int64_t rows, int64_t cols) {
  double e = 0;
  for (const auto& x : xs)
    for (int64_t r = 0; r < rows; ++r) {
      double d = 0;
      for (int64_t c = 0; c < cols; ++c) d += x[c] * (double(w[r * cols + c]) - wq[r * cols + c]);
      e += d * d;
    }
  return e;
}

}  // namespace

TEST(Gptq, CompensatedRoundingBeatsNearestOnCorrelatedInputs) {
  const int64_t rows = 16, cols = 64;
  const Tensor w = random_float_tensor({rows, cols}, 7);
  // Strongly correlated inputs: a few latent factors plus a little noise.
  std::mt19937 rng(3);
  std::normal_distribution<float> n01(0.f, 1.f);
  std::vector<std::vector<float>> mix(4, std::vector<float>(cols));
  for (auto& m : mix)
    for (auto& v : m) v = n01(rng);
  std::vector<std::vector<float>> xs;
  BlockHessian h(cols, 512);
  for (int i = 0; i < 400; ++i) {
    std::vector<float> x(cols);
    float z[4];
    for (float& v : z) v = n01(rng);
    for (int64_t c = 0; c < cols; ++c) x[c] = z[0] * mix[0][c] + z[1] * mix[1][c] + z[2] * mix[2][c] + z[3] * mix[3][c] + 0.05f * n01(rng);
    h.add_row(x);
    xs.push_back(std::move(x));
  }
  EXPECT_EQ(h.rows(), 400);
  for (int bits : {8, 4}) {
    WeightGrid g{bits, WeightScheme::Symmetric, WeightGrouping::PerChannel, 0, 0};
    const QuantizedWeight rtn = quantize_rtn(w, g);
    QuantizedWeight gq = rtn;
    MatrixView view{rows, cols, {}};
    for (int64_t i = 0; i < rows * cols; ++i) view.index.push_back(i);
    const GptqStats s = gptq_quantize(w.as<float>(), view, h, gq);
    EXPECT_EQ(s.columns, cols);
    EXPECT_EQ(s.rtn_fallback_blocks, 0);
    EXPECT_EQ(s.units, rows);  // per-channel: each row searches its own scale
    // Same format: one scale per channel, the min/max scale times one of the candidate factors.
    ASSERT_EQ(gq.scales.size(), rtn.scales.size());
    for (size_t c = 0; c < gq.scales.size(); ++c) {
      const double f = gq.scales[c] / rtn.scales[c];
      EXPECT_GE(f, 0.8 - 1e-9);
      EXPECT_LE(f, 1.2 + 1e-9);
      EXPECT_NEAR(f * 100, std::round(f * 100), 1e-6) << "factor " << f << " is not on the 0.01 grid";
    }
    const auto wf = std::vector<float>(w.as<float>().begin(), w.as<float>().end());
    const double e_rtn = output_error(xs, wf, rtn.dequantized(), rows, cols);
    const double e_gptq = output_error(xs, wf, gq.dequantized(), rows, cols);
    EXPECT_LT(e_gptq, 0.5 * e_rtn) << bits << "-bit: GPTQ " << e_gptq << " vs RTN " << e_rtn;
    for (int8_t v : gq.values) EXPECT_LE(std::abs(v), bits == 8 ? 127 : 7);
  }
}

TEST(Gptq, DeadInputsRoundToNearest) {
  const Tensor w = random_float_tensor({4, 8}, 11);
  BlockHessian h(8, 512);  // no rows: every input dead
  WeightGrid g;
  QuantizedWeight q = quantize_rtn(w, g);
  const auto rtn_values = q.values;
  MatrixView view{4, 8, {}};
  for (int64_t i = 0; i < 32; ++i) view.index.push_back(i);
  const GptqStats s = gptq_quantize(w.as<float>(), view, h, q);
  EXPECT_EQ(s.dead_columns, 8);
  EXPECT_EQ(q.values, rtn_values);
}

// The scale search keeps, per row, the factor with the smallest output error; 1 is a candidate, so on
// the calibration statistics it is never worse than GPTQ at the min/max scale. On a layer with few,
// weakly correlated inputs (where GPTQ alone has little to compensate with) it must be clearly better.
TEST(Gptq, ScaleSearchLowersTheOutputErrorOnNarrowLayers) {
  const int64_t rows = 64, cols = 16;
  const Tensor w = random_float_tensor({rows, cols}, 5);
  std::mt19937 rng(9);
  std::normal_distribution<float> n01(0.f, 1.f);
  std::vector<std::vector<float>> xs;
  BlockHessian h(cols, 512);
  for (int i = 0; i < 2000; ++i) {
    std::vector<float> x(cols);
    for (auto& v : x) v = n01(rng);
    h.add_row(x);
    xs.push_back(std::move(x));
  }
  MatrixView view{rows, cols, {}};
  for (int64_t i = 0; i < rows * cols; ++i) view.index.push_back(i);
  const auto wf = std::vector<float>(w.as<float>().begin(), w.as<float>().end());
  for (int bits : {8, 4}) {
    WeightGrid g{bits, WeightScheme::Symmetric, WeightGrouping::PerChannel, 0, 0};
    QuantizedWeight plain = quantize_rtn(w, g), searched = plain;
    GptqOptions fixed;
    fixed.range_factors = {1.0};
    const GptqStats sp = gptq_quantize(w.as<float>(), view, h, plain, fixed);
    const GptqStats ss = gptq_quantize(w.as<float>(), view, h, searched);
    EXPECT_EQ(sp.rescaled_units, 0);
    EXPECT_GT(ss.rescaled_units, rows / 2);
    const double e_plain = output_error(xs, wf, plain.dequantized(), rows, cols);
    const double e_searched = output_error(xs, wf, searched.dequantized(), rows, cols);
    EXPECT_LT(e_searched, (bits == 8 ? 0.8 : 0.9) * e_plain) << bits << "-bit: searched " << e_searched << " vs min/max scale " << e_plain;
    std::cout << "  " << bits << "-bit: searched/min-max output error " << e_searched / e_plain << "\n";
  }
}

// Static INT8 rounds on its plan's scales (the kernels and int32 biases are built from them): with
// keep_scales the given scales stay, nothing is searched, and every value lies on the given grid.
TEST(Gptq, KeepScalesRoundsOnTheGivenGrid) {
  const int64_t rows = 8, cols = 16;
  const Tensor w = random_float_tensor({rows, cols}, 21);
  BlockHessian h(cols, 512);
  std::mt19937 rng(4);
  std::normal_distribution<float> n01(0.f, 1.f);
  for (int i = 0; i < 500; ++i) {
    std::vector<float> x(cols);
    for (auto& v : x) v = n01(rng);
    h.add_row(x);
  }
  MatrixView view{rows, cols, {}};
  for (int64_t i = 0; i < rows * cols; ++i) view.index.push_back(i);
  WeightGrid g{8, WeightScheme::Symmetric, WeightGrouping::PerChannel, 0, 0};
  QuantizedWeight q = quantize_rtn(w, g);
  for (auto& s : q.scales) s *= 1.37;  // outside the search's 0.8..1.2: only kept scales can give it
  const std::vector<double> given = q.scales;
  const GptqStats s = gptq_quantize(w.as<float>(), view, h, q, GptqOptions{.keep_scales = true});
  EXPECT_EQ(s.rescaled_units, 0);
  EXPECT_EQ(q.scales, given);
  const std::vector<float> deq = q.dequantized();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const double steps = deq[r * cols + c] / given[r];
      EXPECT_NEAR(steps, std::round(steps), 1e-4) << r << "," << c;
    }
}

// A per-tensor grid has one scale for every row: the rows are searched as one unit.
TEST(Gptq, PerTensorGridSearchesOneScale) {
  const Tensor w = random_float_tensor({8, 12}, 21);
  BlockHessian h(12, 512);
  std::mt19937 rng(4);
  std::normal_distribution<float> n01(0.f, 1.f);
  for (int i = 0; i < 100; ++i) {
    std::vector<float> x(12);
    for (auto& v : x) v = n01(rng);
    h.add_row(x);
  }
  WeightGrid g{8, WeightScheme::Symmetric, WeightGrouping::PerTensor, 0, 0};
  QuantizedWeight q = quantize_rtn(w, g);
  MatrixView view{8, 12, {}};
  for (int64_t i = 0; i < 96; ++i) view.index.push_back(i);
  const GptqStats s = gptq_quantize(w.as<float>(), view, h, q);
  EXPECT_EQ(s.units, 1);
  EXPECT_EQ(q.scales.size(), 1u);
}

// Batched accumulation gives the same Hessian as row by row.
TEST(Gptq, BatchedHessianEqualsRowByRow) {
  const int64_t dim = 37, n = 150;
  std::mt19937 rng(2);
  std::normal_distribution<float> n01(0.f, 1.f);
  std::vector<float> all(static_cast<size_t>(dim * n));
  for (auto& v : all) v = n01(rng);
  for (int64_t i = 0; i < n; i += 7) all[i * dim + 3] = 0.f;  // some zeros, as after a Relu
  BlockHessian a(dim, 16), b(dim, 16);
  for (int64_t r = 0; r < n; ++r) a.add_row(std::span<const float>(all).subspan(static_cast<size_t>(r * dim), static_cast<size_t>(dim)));
  b.add_rows(all, n);
  EXPECT_EQ(a.rows(), b.rows());
  for (int64_t i = 0; i < dim; ++i)
    for (int64_t j = i; j < dim && j / 16 == i / 16; ++j) EXPECT_NEAR(a.at(i, j), b.at(i, j), 1e-4 * (1 + std::fabs(a.at(i, j))));
}
