// `onnxquant validate REFERENCE CANDIDATE`: parses options into a ValidateRequest, calls the library and
// prints the result as an aligned report or JSON (docs/json-output.md). Exit code 1 when --fail-below is
// not met (the report is still printed), so CI pipelines can gate on it.
#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "cli/input_options.h"
#include "cli/output.h"
#include "pipeline/validate_job.h"

namespace onnxquant::cli {

namespace {

constexpr size_t kNameWidth = 56;
constexpr int kExitBelowThreshold = 1;  // documented in docs/json-output.md and --help

struct ValidateCliOptions {
  bool per_layer = false;  // CLI flag; the request takes an enum
  int per_layer_rows = 10;
  std::optional<int64_t> classes_axis;
};

std::string db(double v) { return std::isinf(v) ? (v > 0 ? "inf" : "-inf") : fmt::format("{:.1f}", v); }
std::string num(double v) { return fmt::format("{:.4g}", v); }
std::string pct(double v) { return fmt::format("{:.1f}%", 100 * v); }

Color verdict_color(VerdictLevel level) {
  switch (level) {
    case VerdictLevel::Excellent: return Color::Green;
    case VerdictLevel::Good: return Color::Cyan;
    case VerdictLevel::Check: return Color::Yellow;
    case VerdictLevel::Poor: return Color::Red;
  }
  return Color::Bold;
}

void print_outputs(std::ostream& out, const ValidateResult& r, const Style& style) {
  Table t({{"output"}, {"cosine mean", Align::Right}, {"cosine min", Align::Right}, {"SQNR dB", Align::Right}, {"max abs err", Align::Right},
           {"mean abs err", Align::Right}, {"top-1", Align::Right}, {"top-k", Align::Right}, {"NaN/Inf", Align::Right}});
  for (const auto& o : r.outputs)
    t.add_row({elide(o.name, kNameWidth), fmt::format("{:.6f}", o.cosine_mean), fmt::format("{:.6f}", o.cosine_min), db(o.overall.sqnr_db),
               num(o.overall.max_abs_error), num(o.overall.mean_abs_error), o.classes ? pct(o.classes->top1) : "-",
               o.classes ? fmt::format("{} k={}", pct(o.classes->topk), o.classes->k) : "-", thousands(o.overall.nonfinite)});
  out << "\n" << t.render({}, style);
  for (const auto& o : r.outputs)
    if (o.mask)
      out << fmt::format("  {}: mask IoU (> {:g}) {:.4f} over all samples, worst sample {:.4f}\n", elide(o.name, kNameWidth), o.mask->threshold,
                         o.mask->iou, o.mask->iou_min);
}

void print_latency(std::ostream& out, const ValidateResult& r) {
  if (!r.latency) return;
  const auto& l = *r.latency;
  Table t({{"latency"}, {"median ms", Align::Right}, {"p90 ms", Align::Right}, {"min ms", Align::Right}, {"size", Align::Right}});
  t.add_row({"reference", fmt::format("{:.3f}", l.a.median_ms), fmt::format("{:.3f}", l.a.p90_ms), fmt::format("{:.3f}", l.a.min_ms),
             human_bytes(r.reference_bytes)});
  t.add_row({"candidate", fmt::format("{:.3f}", l.b.median_ms), fmt::format("{:.3f}", l.b.p90_ms), fmt::format("{:.3f}", l.b.min_ms),
             human_bytes(r.candidate_bytes)});
  out << "\n" << t.render();
  out << fmt::format("  speedup {:.2f}x (95% interval {:.2f}-{:.2f}x, {} interleaved runs, {} thread(s)); size ratio {}\n", l.speedup, l.speedup_low,
                     l.speedup_high, l.a.samples_ms.size(), r.threads, ratio_text(r.size_ratio));
}

void print_fusion(std::ostream& out, const FusionReport& f, const GlobalOptions& g, const Style& style) {
  const auto& t = f.total;
  out << "\n" << style("Fusion report", Color::Bold) << " (what ONNX Runtime runs for the candidate)\n";
  if (t.quantized > 0)
    out << fmt::format("  {} of {} quantized ops run in integers ({} as integer kernels, {} as int8 pass-through); {} stay float\n",
                       t.fused + t.int8, t.quantized, t.fused, t.int8, t.float_ + t.unknown);
  else
    out << "  no quantized ops (no node reads a DequantizeLinear output)\n";
  out << fmt::format("  QuantizeLinear {} -> {}, DequantizeLinear {} -> {} (model -> run time); {} integer kernel(s) at run time\n",
                     f.quantize_in_model, f.quantize_at_runtime, f.dequantize_in_model, f.dequantize_at_runtime, f.integer_kernel_total);
  if (!f.by_op.empty()) {
    Table ops({{"op"}, {"quantized", Align::Right}, {"kernel", Align::Right}, {"int8", Align::Right}, {"float", Align::Right}});
    for (const auto& [op, c] : f.by_op) ops.add_row({op, thousands(c.quantized), thousands(c.fused), thousands(c.int8), thousands(c.float_ + c.unknown)});
    out << ops.render({}, style);
  }
  if (!f.integer_kernels.empty()) {
    std::string list;
    for (const auto& [op, n] : f.integer_kernels) list += (list.empty() ? "" : ", ") + op + " x" + std::to_string(n);
    out << "  integer kernels: " << list << "\n";
  }
  const size_t limit = g.verbose > 0 ? SIZE_MAX : 10;
  size_t shown = 0, unfused = 0;
  for (const auto& q : f.quantized_ops) {
    if (q.status != FusionStatus::Float && q.status != FusionStatus::Unknown) continue;
    if (unfused++ == 0) out << "  not fused:\n";
    if (shown++ < limit)
      out << fmt::format("    {} ({}): {}\n", elide(q.node.empty() ? q.output : q.node, kNameWidth), q.op_type, q.reason);
  }
  if (unfused > shown) out << fmt::format("    ... and {} more (-v lists all)\n", unfused - shown);
}

void print_per_layer(std::ostream& out, const ValidateResult& r, const ValidateCliOptions& o, const Style& style) {
  if (!r.per_layer) return;
  const auto& layers = *r.per_layer;
  const size_t n = std::min(layers.size(), static_cast<size_t>(o.per_layer_rows));
  out << "\n" << style("Per-layer error", Color::Bold)
      << fmt::format(" (worst {} of {} shared tensors, by the error each adds)\n", n, layers.size());
  Table t({{"#", Align::Right}, {"tensor"}, {"op"}, {"local dB", Align::Right}, {"SQNR dB", Align::Right}, {"cosine", Align::Right},
           {"max abs err", Align::Right}});
  for (size_t i = 0; i < n; ++i) {
    const auto& l = layers[i];
    t.add_row({std::to_string(i + 1), elide(l.tensor, kNameWidth), l.op_type, db(l.local_sqnr_db), db(l.stats.sqnr_db), fmt::format("{:.5f}", l.stats.cosine),
               num(l.stats.max_abs_error)});
  }
  out << t.render({}, style);
}

int print_text(const ValidateResult& r, const ValidateCliOptions& o, const GlobalOptions& g) {
  const Style style = Style::for_stdout();
  auto& out = std::cout;
  out << fmt::format("{} vs {}: {} sample(s){}\n", r.candidate, r.reference, r.samples, r.synthetic_inputs ? " (synthetic)" : "");
  std::string upper = verdict_name(r.verdict.level);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  out << "\n  verdict: " << style(upper, verdict_color(r.verdict.level)) << "  " << r.verdict.message << "\n";
  print_outputs(out, r, style);
  print_latency(out, r);
  print_fusion(out, r.fusion, g, style);
  print_per_layer(out, r, o, style);
  if (!g.quiet)
    for (const auto& n : r.notes) out << "  note: " << n << "\n";
  if (!r.report_html.empty()) out << "\n  report: " << r.report_html << "\n";
  if (!r.passed)
    out << "\n  " << style("FAILED", Color::Red)
        << fmt::format(": cosine {:.6f} (output '{}') is below --fail-below {}\n", r.verdict.cosine, r.verdict.output, r.fail_below);
  return r.passed ? 0 : kExitBelowThreshold;
}

}  // namespace

void add_validate_command(CLI::App& app, const GlobalOptions& global, CommandBody& selected) {
  auto req = std::make_shared<ValidateRequest>();
  auto opt = std::make_shared<ValidateCliOptions>();
  auto* cmd = app.add_subcommand("validate", "Compare a quantized or cast model with its FP32 reference: accuracy, speed, fusion");
  cmd->add_option("reference", req->reference, "The FP32 model")->required();
  cmd->add_option("candidate", req->candidate, "The quantized / cast model")->required();
  add_input_options(cmd, req->inputs);
  cmd->add_option("--timed", req->latency.runs, "Timed runs of each model, interleaved A,B,A,B (0 = no timing)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--warmup", req->latency.warmup, "Untimed runs of each model before timing")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--threads", req->exec.intra_op_threads, "ORT intra-op threads (0 = all cores)")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_flag("--per-layer", opt->per_layer, "Also compare every intermediate tensor both models share, worst first");
  cmd->add_option("--per-layer-rows", opt->per_layer_rows, "Rows of the per-layer table in text output")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option_function<int64_t>(
      "--classes-axis", [opt](const int64_t& axis) { opt->classes_axis = axis; },
      "Axis of class scores for top-1/top-k (default: rank-2 [batch, classes] outputs)");
  cmd->add_option_function<double>(
      "--mask-threshold", [req](const double& t) { req->mask_threshold = t; },
      "Also compare the masks output > T (IoU), for probability maps of detectors and segmenters, e.g. 0.3");
  cmd->add_option("--fail-below", req->fail_below, "Exit with code 1 when the worst output's mean cosine is below this")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--report", req->report_html, "Write a self-contained HTML report to this file")->option_text("FILE.html");
  cmd->footer(
      "Verdict (worst output's mean cosine): >= 0.999 excellent, >= 0.99 good, >= 0.95 check your task metric, below: poor.\n"
      "With --mask-threshold, that output is judged by its mask IoU instead: >= 0.98, >= 0.95, >= 0.85.\n"
      "Exit codes: 0 done, 1 below --fail-below, 3 load error, 5 data error (models differ, bad data), 6 ORT error.\n\n"
      "Examples:\n"
      "  onnxquant validate resnet50.onnx resnet50_int8.onnx -i input=eval.npy -n 50\n"
      "  onnxquant validate m.onnx m_int8.onnx -i eval.npy --per-layer --report report.html\n"
      "  onnxquant validate m.onnx m_int8.onnx -i eval.npy --fail-below 0.99 --format json");
  cmd->callback([req, opt, &global, &selected] {
    selected = [req, opt, &global] {
      req->per_layer = opt->per_layer ? PerLayer::On : PerLayer::Off;
      req->classes_axis = opt->classes_axis;
      req->command_line = command_line();
      if (global.format == OutputFormat::Json || global.quiet) req->progress = ProgressMode::Off;
      const ValidateResult r = validate_models(*req);
      if (global.format == OutputFormat::Json) {
        print_json(std::cout, to_json(r));
        return r.passed ? 0 : kExitBelowThreshold;
      }
      return print_text(r, *opt, global);
    };
  });
}

}  // namespace onnxquant::cli
