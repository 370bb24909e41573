// Histogram and observer: bin placement, re-binning, exact merging, NaN/Inf handling, restore.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "calib/histogram.h"
#include "calib/observer.h"
#include "core/errors.h"

using namespace onnxquant;

namespace {

std::vector<float> uniform(size_t n, float lo, float hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

uint64_t sum(std::span<const uint64_t> c) { return std::accumulate(c.begin(), c.end(), uint64_t{0}); }

// Slot that value x must land in: floor(x / w) relative to the window.
int64_t expected_slot(const Histogram& h, float x) {
  return static_cast<int64_t>(std::floor(static_cast<double>(x) / h.bin_width())) - h.first_bin();
}

Observer observed(const std::vector<float>& v) {
  Observer o;
  o.observe(v);
  return o;
}

}  // namespace

TEST(Histogram, EmptyUntilCovered) {
  Histogram h;
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.total(), 0u);
  EXPECT_EQ(h.capacity(), Histogram::kDefaultCapacity);
  EXPECT_TRUE(h.folded_abs().empty());
}

TEST(Histogram, CoveredRangeSpansAtLeastHalfTheCapacity) {
  // The guarantee behind "at least 2048 bins": whatever the range, the power-of-two width is the smallest
  // that fits, so the range spans more than capacity/2 - 1 bins.
  for (auto [lo, hi] : {std::pair{-1.0f, 3.0f}, {0.0f, 1e-3f}, {-7.3f, 0.0f}, {-1e6f, 2.5e7f}, {0.0f, 6.0f}}) {
    Histogram h;
    h.cover(lo, hi);
    const double span_bins = (h.covered_max() - h.covered_min()) / h.bin_width();
    EXPECT_GE(span_bins, Histogram::kDefaultCapacity / 2 - 1) << lo << " " << hi;
    EXPECT_LE(span_bins, Histogram::kDefaultCapacity) << lo << " " << hi;
    EXPECT_EQ(h.bin_width(), std::ldexp(1.0, h.width_log2()));
  }
}

TEST(Histogram, RangeAlwaysIncludesZero) {
  Histogram h;
  h.cover(2.0f, 3.0f);
  EXPECT_EQ(h.covered_min(), 0.0f);
  EXPECT_EQ(h.covered_max(), 3.0f);
  h.cover(-5.0f, -4.0f);
  EXPECT_EQ(h.covered_min(), -5.0f);
  EXPECT_EQ(h.covered_max(), 3.0f);
}

TEST(Histogram, ValuesLandInTheirFloorBin) {
  const std::vector<float> v = {0.0f, 0.5f, 1.5f, -0.25f, -1.0f, 2.999f, 3.0f, 1e-30f, -1e-30f};
  Histogram h;
  h.cover(-1.0f, 3.0f);
  h.add_covered(v.data(), v.size());
  EXPECT_EQ(h.total(), v.size());
  std::vector<uint64_t> expected(h.counts().size(), 0);
  for (float x : v) ++expected[static_cast<size_t>(expected_slot(h, x))];
  EXPECT_EQ(std::vector<uint64_t>(h.counts().begin(), h.counts().end()), expected);
  // A tiny negative value is below the 0 edge: its bin is -1, not 0.
  EXPECT_EQ(expected_slot(h, -1e-30f) + h.first_bin(), -1);
}

TEST(Histogram, DenormalsAndExtremesAreBinnedWithoutOverflow) {
  const float tiny = std::numeric_limits<float>::denorm_min(), big = std::numeric_limits<float>::max();
  Observer o;
  const std::vector<float> v = {-tiny, tiny, 0.0f, -big, big, 1.0f};
  o.observe(v);
  EXPECT_EQ(o.histogram().total(), v.size());
  EXPECT_EQ(o.min(), -big);
  EXPECT_EQ(o.max(), big);
  Observer zeros_only;
  const std::vector<float> z = {0.0f, -0.0f, tiny, -tiny};
  zeros_only.observe(z);
  EXPECT_EQ(zeros_only.histogram().width_log2(), Histogram::kMinWidthLog2);
  EXPECT_EQ(zeros_only.counts().zeros, 2u);
}

TEST(Histogram, RebinningWhenTheRangeGrowsKeepsEveryCount) {
  Histogram h;
  const auto a = uniform(10000, 0.0f, 1.0f, 1);
  const auto b = uniform(10000, -100.0f, 50.0f, 2);
  h.cover(0.0f, 1.0f);
  h.add_covered(a.data(), a.size());
  const int narrow_width = h.width_log2();
  h.cover(-100.0f, 50.0f);
  EXPECT_GT(h.width_log2(), narrow_width);
  EXPECT_EQ(h.total(), a.size());
  EXPECT_EQ(sum(h.counts()), a.size());
  h.add_covered(b.data(), b.size());
  EXPECT_EQ(sum(h.counts()), a.size() + b.size());
  // Re-binned counts sit exactly where a histogram built at the final width puts them.
  Histogram direct;
  direct.cover(-100.0f, 50.0f);
  direct.add_covered(a.data(), a.size());
  direct.add_covered(b.data(), b.size());
  EXPECT_EQ(h, direct);
}

TEST(Histogram, FoldedAbsCountsMagnitudes) {
  const auto v = uniform(50000, -3.0f, 5.0f, 3);
  const Observer o = observed(v);
  const Histogram& h = o.histogram();
  const auto folded = h.folded_abs();
  std::vector<uint64_t> expected(folded.size(), 0);
  for (float x : v) {
    // Magnitudes exactly on a bin edge fold one bin down for negatives; uniform floats make that rare
    // enough to check every bin exactly with edge values skipped.
    const double u = std::abs(x) / h.bin_width();
    const auto k = static_cast<size_t>(x < 0 && u == std::floor(u) ? u - 1 : std::floor(u));
    ASSERT_LT(k, expected.size());
    ++expected[k];
  }
  EXPECT_EQ(folded, expected);
  EXPECT_EQ(sum(h.positive_side()) + sum(h.negative_side()), v.size());
}

TEST(Histogram, MergeOfDifferentCapacitiesIsABug) {
  Histogram a(4096), b(1024);
  a.cover(0, 1);
  b.cover(0, 1);
  EXPECT_THROW(a.merge(b), InternalError);
}

TEST(Histogram, RestoreRoundTripsAndRejectsInconsistentFields) {
  const Observer o = observed(uniform(1000, -2.0f, 7.0f, 4));
  const Histogram& h = o.histogram();
  const std::vector<uint64_t> counts(h.counts().begin(), h.counts().end());
  const Histogram r = Histogram::restore(h.capacity(), h.width_log2(), h.covered_min(), h.covered_max(), h.first_bin(), counts);
  EXPECT_EQ(r, h);
  // Trimmed leading zeros: counts start at the first nonzero bin.
  const size_t begin = h.first_nonzero();
  const std::vector<uint64_t> trimmed(counts.begin() + static_cast<ptrdiff_t>(begin), counts.end());
  EXPECT_EQ(Histogram::restore(h.capacity(), h.width_log2(), h.covered_min(), h.covered_max(),
                               h.first_bin() + static_cast<int64_t>(begin), trimmed),
            h);
  // Too fine a width for the range, counts outside the range, a range without 0.
  EXPECT_THROW(Histogram::restore(h.capacity(), h.width_log2() - 2, h.covered_min(), h.covered_max(), h.first_bin(), counts), DataError);
  EXPECT_THROW(Histogram::restore(h.capacity(), h.width_log2(), h.covered_min(), h.covered_max(), h.first_bin() + 5000, {1}), DataError);
  EXPECT_THROW(Histogram::restore(h.capacity(), h.width_log2(), 1.0f, 2.0f, h.first_bin(), counts), DataError);
}

TEST(CalibObserver, MinMaxZerosAndCounts) {
  // 13 values: not a multiple of the 8 lanes, so the tail loop is exercised.
  const std::vector<float> v = {3.0f, -1.5f, 0.0f, 2.0f, 0.0f, 7.25f, -0.0f, 1.0f, 4.0f, -2.0f, 0.5f, 0.0f, -9.0f};
  const Observer o = observed(v);
  EXPECT_EQ(o.min(), -9.0f);
  EXPECT_EQ(o.max(), 7.25f);
  EXPECT_EQ(o.counts().finite, v.size());
  EXPECT_EQ(o.counts().zeros, 4u);
  EXPECT_FALSE(o.has_nonfinite());
  EXPECT_EQ(o.histogram().total(), v.size());
}

TEST(CalibObserver, NanAndInfAreCountedAndExcluded) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  std::vector<float> v = uniform(1000, -1.0f, 1.0f, 5);
  v[3] = nan;
  v[10] = inf;
  v[11] = -inf;
  v[999] = nan;
  const Observer o = observed(v);
  EXPECT_EQ(o.counts().nan, 2u);
  EXPECT_EQ(o.counts().pos_inf, 1u);
  EXPECT_EQ(o.counts().neg_inf, 1u);
  EXPECT_EQ(o.nonfinite_count(), 4u);
  EXPECT_TRUE(o.has_nonfinite());
  EXPECT_EQ(o.counts().finite, 996u);
  EXPECT_EQ(o.histogram().total(), 996u);
  EXPECT_TRUE(std::isfinite(o.min()) && std::isfinite(o.max()));
  EXPECT_GE(o.min(), -1.0f);
  EXPECT_LE(o.max(), 1.0f);

  // The finite values land exactly where a clean stream puts them.
  std::vector<float> clean;
  for (float x : v)
    if (std::isfinite(x)) clean.push_back(x);
  EXPECT_EQ(o.histogram(), observed(clean).histogram());
}

TEST(CalibObserver, OnlyNonFiniteValuesLeaveItEmpty) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Observer o = observed({nan, nan, std::numeric_limits<float>::infinity()});
  EXPECT_TRUE(o.empty());
  EXPECT_TRUE(o.histogram().empty());
  EXPECT_EQ(o.nonfinite_count(), 3u);
}

TEST(CalibObserver, ManySmallBatchesEqualOneBigBatch) {
  const auto v = uniform(100003, -4.0f, 9.0f, 6);
  Observer batched;
  for (size_t i = 0; i < v.size(); i += 997) batched.observe(v.data() + i, std::min<size_t>(997, v.size() - i));
  EXPECT_EQ(batched, observed(v));
}

TEST(CalibObserver, MergeOfTwoEqualsOneOverBoth) {
  // Streams with different ranges, so merging must re-bin both sides (width and window change).
  const auto s1 = uniform(20000, -0.5f, 2.0f, 7);
  auto s2 = uniform(30000, -30.0f, 1.0f, 8);
  s2[17] = 0.0f;
  Observer a = observed(s1);
  const Observer b = observed(s2);
  Observer both;
  both.observe(s1);
  both.observe(s2);
  Observer reversed;
  reversed.observe(s2);
  reversed.observe(s1);

  Observer ab = a;
  ab.merge(b);
  Observer ba = b;
  ba.merge(a);
  EXPECT_EQ(ab, both);  // exact: min/max, counts and every histogram bin
  EXPECT_EQ(ba, both);
  EXPECT_EQ(reversed, both);
  EXPECT_EQ(ab.counts().finite, s1.size() + s2.size());
  EXPECT_EQ(ab.min(), std::min(*std::min_element(s1.begin(), s1.end()), *std::min_element(s2.begin(), s2.end())));
  EXPECT_EQ(ab.max(), std::max(*std::max_element(s1.begin(), s1.end()), *std::max_element(s2.begin(), s2.end())));
}

TEST(CalibObserver, PerThreadObserversMergeExactly) {
  // The pipeline's pattern: samples dealt to threads round-robin, observers merged at the end.
  std::mt19937 rng(9);
  std::vector<std::vector<float>> samples;
  for (int i = 0; i < 12; ++i) {
    std::normal_distribution<float> d(0.0f, 0.1f + static_cast<float>(i));  // growing range: re-bins
    std::vector<float> s(5000 + i * 37);
    for (auto& x : s) x = d(rng);
    samples.push_back(std::move(s));
  }
  Observer single;
  for (const auto& s : samples) single.observe(s);
  std::vector<Observer> threads(4);
  for (size_t i = 0; i < samples.size(); ++i) threads[i % 4].observe(samples[i]);
  Observer merged;
  for (const auto& t : threads) merged.merge(t);
  EXPECT_EQ(merged, single);
}

TEST(CalibObserver, MergeWithEmptyIsIdentity) {
  const Observer a = observed(uniform(100, -1.0f, 1.0f, 10));
  Observer x = a;
  x.merge(Observer{});
  EXPECT_EQ(x, a);
  Observer y;
  y.merge(a);
  EXPECT_EQ(y, a);
}

TEST(CalibObserver, RestoreRebuildsTheSameObserver) {
  const Observer o = observed(uniform(5000, -3.0f, 0.5f, 11));
  const Histogram& h = o.histogram();
  Histogram copy = Histogram::restore(h.capacity(), h.width_log2(), h.covered_min(), h.covered_max(), h.first_bin(),
                                      std::vector<uint64_t>(h.counts().begin(), h.counts().end()));
  EXPECT_EQ(Observer::restore(o.min(), o.max(), o.counts(), copy), o);
  ObserverCounts wrong = o.counts();
  wrong.finite += 1;
  EXPECT_THROW(Observer::restore(o.min(), o.max(), wrong, copy), DataError);
  EXPECT_THROW(Observer::restore(o.min() - 1.0f, o.max(), o.counts(), copy), DataError);
}
