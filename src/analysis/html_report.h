// The validation report as one self-contained HTML page: inline CSS and inline SVG charts drawn here, no
// scripts, no fonts, no network, so it opens anywhere (a CI artifact, an air-gapped machine, a mail
// attachment) and looks the same in ten years. Top to bottom: the verdict, key figures, per-output metrics,
// per-layer error along the graph (worst layers labelled), latency distributions of both models side by
// side, the fusion table, notes, and the exact command that produced the page.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/fusion_report.h"
#include "analysis/per_layer.h"
#include "analysis/verdict.h"
#include "exec/latency.h"

namespace onnxquant {

struct HtmlLatency {
  LatencyStats reference, candidate;
  double speedup = 0, speedup_low = 0, speedup_high = 0;  // reference median / candidate median, 95% interval
  int threads = 1;
};

struct HtmlReportInput {
  std::string reference, candidate;  // model paths as given
  std::string command_line;          // shown verbatim
  std::string generator;             // "onnxquant 0.1.0 with ONNX Runtime 1.30.0"
  int64_t samples = 0;
  bool synthetic_inputs = false;
  Verdict verdict;
  double fail_below = 0;  // 0: not set
  bool passed = true;
  std::vector<OutputMetrics> outputs;
  std::optional<std::vector<LayerError>> per_layer;  // ranked worst first; nullopt: not measured
  std::optional<HtmlLatency> latency;
  uint64_t reference_bytes = 0, candidate_bytes = 0;
  FusionReport fusion;
  std::vector<std::string> notes;
};

std::string render_html_report(const HtmlReportInput& input);

// Text made safe for HTML element content and attribute values.
std::string html_escape(std::string_view text);

}  // namespace onnxquant
