#include "analysis/verdict.h"

#include <fmt/format.h>

#include <algorithm>

namespace onnxquant {

const char* verdict_name(VerdictLevel level) {
  switch (level) {
    case VerdictLevel::Excellent: return "excellent";
    case VerdictLevel::Good: return "good";
    case VerdictLevel::Check: return "check";
    case VerdictLevel::Poor: return "poor";
  }
  return "poor";
}

static VerdictLevel level_for(double cosine, const VerdictThresholds& t) {
  if (cosine >= t.excellent) return VerdictLevel::Excellent;
  if (cosine >= t.good) return VerdictLevel::Good;
  if (cosine >= t.check) return VerdictLevel::Check;
  return VerdictLevel::Poor;
}

static VerdictLevel sqnr_level(double db, const VerdictThresholds& t) {
  if (db >= t.excellent_sqnr_db) return VerdictLevel::Excellent;
  if (db >= t.good_sqnr_db) return VerdictLevel::Good;
  if (db >= t.check_sqnr_db) return VerdictLevel::Check;
  return VerdictLevel::Poor;
}

static VerdictLevel iou_level(double iou, const VerdictThresholds& t) {
  if (iou >= t.excellent_iou) return VerdictLevel::Excellent;
  if (iou >= t.good_iou) return VerdictLevel::Good;
  if (iou >= t.check_iou) return VerdictLevel::Check;
  return VerdictLevel::Poor;
}

Verdict judge(const std::vector<OutputMetrics>& outputs, const VerdictThresholds& t) {
  Verdict v;
  if (outputs.empty()) {
    v.message = "no outputs to compare";
    return v;
  }
  // v.cosine is the worst mean cosine of all outputs (what --fail-below compares); the level comes from
  // the outputs judged by cosine, then masks and SQNR may lower it.
  const OutputMetrics* worst_cosine = nullptr;
  v.cosine = outputs.front().cosine_mean;
  for (const auto& o : outputs) {
    v.cosine = std::min(v.cosine, o.cosine_mean);
    if (!o.mask && (!worst_cosine || o.cosine_mean < worst_cosine->cosine_mean)) worst_cosine = &o;
  }
  if (worst_cosine) {
    v.output = worst_cosine->name;
    v.sqnr_db = worst_cosine->overall.sqnr_db;
    v.level = level_for(worst_cosine->cosine_mean, t);
    v.limited_by = "cosine";
  }
  for (const auto& o : outputs)
    if (o.overall.nonfinite > 0) {
      // NaN/Inf where the reference has finite values breaks any downstream use, whatever the cosine.
      v.level = VerdictLevel::Poor;
      v.output = o.name;
      v.sqnr_db = o.overall.sqnr_db;
      v.limited_by = "nonfinite";
      v.message = fmt::format("output '{}' has {} NaN/Inf value(s) where the reference differs", o.name, o.overall.nonfinite);
      return v;
    }
  for (const auto& o : outputs)
    if (const VerdictLevel l = sqnr_level(o.overall.sqnr_db, t); !o.mask && l > v.level) {
      v.level = l;
      v.output = o.name;
      v.sqnr_db = o.overall.sqnr_db;
      v.limited_by = "sqnr";
    }
  const OutputMetrics* worst_mask = nullptr;
  for (const auto& o : outputs)
    if (o.mask && (!worst_mask || o.mask->iou < worst_mask->mask->iou)) worst_mask = &o;
  if (worst_mask && (!worst_cosine || iou_level(worst_mask->mask->iou, t) > v.level)) {
    v.level = iou_level(worst_mask->mask->iou, t);
    v.output = worst_mask->name;
    v.sqnr_db = worst_mask->overall.sqnr_db;
    v.limited_by = "mask_iou";
  }
  const std::string where = outputs.size() > 1 ? fmt::format(" (output '{}')", v.output) : "";
  if (v.limited_by == "mask_iou") {
    const MaskSummary& m = *worst_mask->mask;
    static constexpr const char* kMeaning[] = {"the same masks as the reference", "close to the reference's masks; usually fine",
                                               "noticeably different masks; measure your task metric before using it",
                                               "far from the reference's masks; protect the worst layers (validate --per-layer)"};
    v.message = fmt::format("mask IoU {:.4f} (> {:g}){}, worst sample {:.4f}: {}", m.iou, m.threshold, where, m.iou_min,
                            kMeaning[static_cast<int>(v.level)]);
    return v;
  }
  if (v.limited_by == "sqnr") {
    v.message = fmt::format("SQNR {:.1f} dB{} although cosine is {:.5f}: the outputs point the same way but their magnitude or offset "
                            "differs; {}",
                            v.sqnr_db, where, v.cosine,
                            v.level == VerdictLevel::Poor ? "check scales and biases of the rewritten layers (validate --per-layer)"
                                                          : "measure your task metric");
    return v;
  }
  const double cosine = worst_cosine->cosine_mean;
  switch (v.level) {
    case VerdictLevel::Excellent:
      v.message = fmt::format("cosine {:.5f}{}: indistinguishable from the reference for almost any task", cosine, where);
      break;
    case VerdictLevel::Good:
      v.message = fmt::format("cosine {:.5f}{}: close to the reference; usually fine", cosine, where);
      break;
    case VerdictLevel::Check:
      v.message = fmt::format("cosine {:.5f}{}: noticeably different; measure your task metric before using it", cosine, where);
      break;
    case VerdictLevel::Poor:
      v.message = fmt::format("cosine {:.5f}{}: far from the reference; protect the worst layers (validate --per-layer)", cosine, where);
      break;
  }
  return v;
}

}  // namespace onnxquant
