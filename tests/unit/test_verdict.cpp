// The verdict's documented thresholds (analysis/verdict.h), its choice of the worst output, and NaN/Inf.
#include <gtest/gtest.h>

#include "analysis/verdict.h"

#include <limits>

using namespace onnxquant;

namespace {
OutputMetrics output(const std::string& name, double cosine_mean, int64_t nonfinite = 0) {
  OutputMetrics o;
  o.name = name;
  o.samples = 3;
  o.cosine_mean = cosine_mean;
  o.cosine_min = cosine_mean;
  o.overall.cosine = cosine_mean;
  o.overall.nonfinite = nonfinite;
  o.overall.sqnr_db = std::numeric_limits<double>::infinity();
  return o;
}
}  // namespace

TEST(Verdict, DocumentedThresholds) {
  struct Case { double cosine; VerdictLevel level; };
  for (const auto& c : std::vector<Case>{{1.0, VerdictLevel::Excellent}, {0.999, VerdictLevel::Excellent}, {0.99899, VerdictLevel::Good},
                                         {0.99, VerdictLevel::Good}, {0.98999, VerdictLevel::Check}, {0.95, VerdictLevel::Check},
                                         {0.9499, VerdictLevel::Poor}, {-1.0, VerdictLevel::Poor}}) {
    SCOPED_TRACE(c.cosine);
    const Verdict v = judge({output("y", c.cosine)});
    EXPECT_EQ(v.level, c.level);
    EXPECT_DOUBLE_EQ(v.cosine, c.cosine);
    EXPECT_FALSE(v.message.empty());
  }
}

TEST(Verdict, WorstOutputDecides) {
  const Verdict v = judge({output("boxes", 0.9999), output("scores", 0.97), output("labels", 0.995)});
  EXPECT_EQ(v.level, VerdictLevel::Check);
  EXPECT_EQ(v.output, "scores");
  EXPECT_NE(v.message.find("scores"), std::string::npos) << v.message;
}

TEST(Verdict, NonFiniteValuesArePoorWhateverTheCosine) {
  const Verdict v = judge({output("a", 1.0), output("b", 0.99999, 2)});
  EXPECT_EQ(v.level, VerdictLevel::Poor);
  EXPECT_EQ(v.output, "b");
  EXPECT_NE(v.message.find("NaN"), std::string::npos) << v.message;
}

TEST(Verdict, MagnitudeErrorsAreCaughtBySqnr) {
  // Outputs scaled by 1.5: cosine 1, SQNR 6 dB. Cosine alone would call this excellent.
  OutputMetrics scaled = output("logits", 1.0);
  scaled.overall.sqnr_db = 6.0;
  Verdict v = judge({scaled});
  EXPECT_EQ(v.level, VerdictLevel::Poor);
  EXPECT_EQ(v.limited_by, "sqnr");
  EXPECT_NE(v.message.find("magnitude"), std::string::npos) << v.message;
  // Quantization noise: cosine 0.9995 goes with about 30 dB, and the SQNR cap does not lower it.
  OutputMetrics noisy = output("logits", 0.9995);
  noisy.overall.sqnr_db = 30.0;
  v = judge({noisy});
  EXPECT_EQ(v.level, VerdictLevel::Excellent);
  EXPECT_EQ(v.limited_by, "cosine");
  noisy.overall.sqnr_db = 20.0;
  EXPECT_EQ(judge({noisy}).level, VerdictLevel::Good);
}

TEST(Verdict, NamesAndCustomThresholds) {
  EXPECT_STREQ(verdict_name(VerdictLevel::Excellent), "excellent");
  EXPECT_STREQ(verdict_name(VerdictLevel::Check), "check");
  VerdictThresholds t;
  t.excellent = 0.99;
  t.good = 0.96;
  t.check = 0.9;
  EXPECT_EQ(judge({output("y", 0.97)}, t).level, VerdictLevel::Good);
  EXPECT_EQ(judge({}).level, VerdictLevel::Excellent);  // nothing to compare: nothing wrong
}

TEST(Verdict, MaskedOutputIsJudgedByIouNotCosine) {
  // A text-probability map: empty on some samples, so its per-sample cosine is near 0 there and its
  // SQNR is low, yet the masks agree on 0.96 of their union.
  OutputMetrics map = output("probability", 0.70);
  map.overall.sqnr_db = 9.0;
  map.mask = MaskSummary{.threshold = 0.3, .iou = 0.96, .iou_min = 0.5};
  Verdict v = judge({map});
  EXPECT_EQ(v.level, VerdictLevel::Good);
  EXPECT_EQ(v.limited_by, "mask_iou");
  EXPECT_EQ(v.cosine, 0.70);  // --fail-below still compares the worst mean cosine
  EXPECT_NE(v.message.find("mask IoU 0.9600 (> 0.3), worst sample 0.5000"), std::string::npos) << v.message;
  for (const auto& [iou, level] : std::vector<std::pair<double, VerdictLevel>>{
           {0.98, VerdictLevel::Excellent}, {0.95, VerdictLevel::Good}, {0.85, VerdictLevel::Check}, {0.8499, VerdictLevel::Poor}}) {
    map.mask->iou = iou;
    EXPECT_EQ(judge({map}).level, level) << iou;
  }
  // Beside an output judged by cosine, the worse of the two decides.
  map.mask->iou = 0.99;
  v = judge({map, output("boxes", 0.97)});
  EXPECT_EQ(v.level, VerdictLevel::Check);
  EXPECT_EQ(v.output, "boxes");
  map.mask->iou = 0.80;
  v = judge({map, output("boxes", 0.9995)});
  EXPECT_EQ(v.level, VerdictLevel::Poor);
  EXPECT_EQ(v.output, "probability");
  EXPECT_EQ(v.limited_by, "mask_iou");
}
