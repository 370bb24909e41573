#include "analysis/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace onnxquant {

namespace {

constexpr int kLabelledLayers = 5;   // worst layers named in the chart
constexpr int kLayerRows = 15;       // worst layers listed in the table
constexpr int kUnfusedRows = 40;     // unfused ops listed
constexpr double kSqnrChartCap = 100; // dB; identical tensors (infinite SQNR) sit on this line

const char* kStyle = R"css(
:root{--ink:#1d2430;--muted:#5b6676;--line:#dde3ea;--bg:#f5f7fa;--card:#fff;--ref:#5477a8;--cand:#e0803a}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 24px 48px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 12px}
.sub{color:var(--muted);margin:0 0 20px;word-break:break-all}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin:0 0 18px}
.verdict{display:flex;gap:20px;align-items:center;border-width:2px}
.badge{font-weight:700;letter-spacing:.06em;font-size:20px;padding:10px 18px;border-radius:8px;color:#fff;white-space:nowrap}
.excellent{background:#1e8e4e}.good{background:#2f7fb5}.check{background:#c98a12}.poor{background:#c0392b}
.verdict.excellent,.verdict.good,.verdict.check,.verdict.poor{background:var(--card)}
.verdict p{margin:2px 0}.verdict .msg{font-size:17px}
.gate{display:inline-block;margin-top:6px;padding:2px 8px;border-radius:5px;font-size:13px;font-weight:600}
.pass{background:#e2f4e9;color:#17663a}.fail{background:#fbe3e0;color:#9c2a1e}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin:0 0 18px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.05em}
.card .v{font-size:22px;font-weight:650;margin-top:2px}.card .d{color:var(--muted);font-size:12.5px}
table{border-collapse:collapse;width:100%;font-size:13.5px}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.name{word-break:break-all;max-width:420px}
.st{font-weight:600;font-size:12px;padding:1px 6px;border-radius:4px}
.st-fused,.st-int8{background:#e2f4e9;color:#17663a}.st-float{background:#fbe3e0;color:#9c2a1e}.st-unknown{background:#eee;color:#555}
.note{color:var(--muted);font-size:13.5px}
pre{background:#1d2430;color:#e8edf3;padding:12px 14px;border-radius:8px;white-space:pre-wrap;word-break:break-all;font-size:13px;margin:0}
svg{display:block;max-width:100%;height:auto}
svg text{font-family:system-ui,"DejaVu Sans",sans-serif;fill:#39424e}
ul{margin:0;padding-left:20px}footer{color:var(--muted);font-size:12.5px;text-align:center}
.split{display:grid;grid-template-columns:1fr 1fr;gap:18px}
)css";

std::string fmt_num(double v, int digits = 4) {
  if (std::isnan(v)) return "n/a";
  if (std::isinf(v)) return v > 0 ? "&infin;" : "&minus;&infin;";
  return fmt::format("{:.{}g}", v, digits);
}
std::string fmt_db(double v) { return std::isinf(v) ? (v > 0 ? "&infin;" : "&minus;&infin;") : fmt::format("{:.1f}", v); }
std::string fmt_pct(double v) { return fmt::format("{:.1f}%", 100.0 * v); }
std::string fmt_ms(double v) {
  if (v >= 100) return fmt::format("{:.0f}", v);
  if (v >= 10) return fmt::format("{:.1f}", v);
  return v >= 1 ? fmt::format("{:.2f}", v) : fmt::format("{:.3g}", v);
}

std::string fmt_bytes(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(units)) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", b) : fmt::format("{:.1f} {}", v, units[u]);
}

std::string base_name(const std::string& path) {
  const std::string f = std::filesystem::path(path).filename().string();
  return f.empty() ? path : f;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

// "Nice" axis ticks: about `count` round numbers covering [lo, hi].
std::vector<double> ticks(double lo, double hi, int count) {
  const double span = hi > lo ? hi - lo : 1;
  const double raw = span / count, mag = std::pow(10, std::floor(std::log10(raw)));
  const double step = mag * (raw / mag >= 5 ? 10 : raw / mag >= 2 ? 5 : raw / mag >= 1 ? 2 : 1);
  std::vector<double> t;
  for (double x = std::ceil(lo / step) * step; x <= hi + step * 1e-9; x += step) t.push_back(std::abs(x) < step * 1e-9 ? 0 : x);
  return t;
}

std::string verdict_section(const HtmlReportInput& in) {
  const char* level = verdict_name(in.verdict.level);
  std::string upper = level;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  std::string gate;
  if (in.fail_below > 0)
    gate = fmt::format("<span class=\"gate {}\">{} --fail-below {}</span>", in.passed ? "pass" : "fail", in.passed ? "passed" : "FAILED",
                       fmt_num(in.fail_below, 6));
  return fmt::format(
      "<section class=\"verdict {0}\" id=\"verdict\"><div class=\"badge {0}\">{1}</div><div><p class=\"msg\">{2}</p>"
      "<p class=\"note\">Thresholds on the worst output's mean cosine: &ge; 0.999 excellent, &ge; 0.99 good, &ge; 0.95 check your task "
      "metric, below: poor; capped by SQNR (27 / 17 / 10 dB) so that scale errors, which leave cosine at 1, are not missed.</p>{3}</div>"
      "</section>\n",
      level, upper, html_escape(in.verdict.message), gate);
}

std::string card(const std::string& key, const std::string& value, const std::string& detail) {
  return fmt::format("<div class=\"card\"><div class=\"k\">{}</div><div class=\"v\">{}</div><div class=\"d\">{}</div></div>", key, value, detail);
}

std::string cards(const HtmlReportInput& in) {
  std::string s = "<div class=\"cards\">";
  s += card("Cosine (worst output)", fmt::format("{:.5f}", in.verdict.cosine),
            html_escape(in.verdict.output.empty() ? "no outputs" : in.verdict.output));
  if (in.latency)
    s += card("Speedup", fmt::format("{:.2f}&times;", in.latency->speedup),
              fmt::format("95% interval {:.2f}&ndash;{:.2f}&times;, {} thread(s)", in.latency->speedup_low, in.latency->speedup_high,
                          in.latency->threads));
  else
    s += card("Speedup", "&ndash;", "not timed");
  const double ratio = in.reference_bytes ? static_cast<double>(in.candidate_bytes) / static_cast<double>(in.reference_bytes) : 0;
  s += card("Size", fmt::format("{:.3f}&times;", ratio), fmt::format("{} &rarr; {}", fmt_bytes(in.reference_bytes), fmt_bytes(in.candidate_bytes)));
  const auto& t = in.fusion.total;
  s += card("Integer ops", t.quantized ? fmt::format("{} / {}", t.fused + t.int8, t.quantized) : fmt::format("{}", in.fusion.integer_kernel_total),
            t.quantized ? "quantized ops ORT runs in integers" : "integer kernels at run time");
  s += card("Samples", fmt::format("{}", in.samples), in.synthetic_inputs ? "synthetic inputs" : "from the given data");
  return s + "</div>\n";
}

std::string outputs_section(const HtmlReportInput& in) {
  std::string s =
      "<section><h2>Outputs</h2><table><tr><th>output</th><th class=n>cosine mean</th><th class=n>cosine min</th><th class=n>SQNR dB</th>"
      "<th class=n>max abs err</th><th class=n>mean abs err</th><th class=n>top-1</th><th class=n>top-k</th><th class=n>NaN/Inf</th></tr>";
  for (const auto& o : in.outputs)
    s += fmt::format("<tr><td class=name>{}</td><td class=n>{:.6f}</td><td class=n>{:.6f}</td><td class=n>{}</td><td class=n>{}</td><td "
                     "class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                     html_escape(o.name), o.cosine_mean, o.cosine_min, fmt_db(o.overall.sqnr_db), fmt_num(o.overall.max_abs_error),
                     fmt_num(o.overall.mean_abs_error), o.classes ? fmt_pct(o.classes->top1) : "&ndash;",
                     o.classes ? fmt::format("{} (k={})", fmt_pct(o.classes->topk), o.classes->k) : "&ndash;", o.overall.nonfinite);
  s += "</table>";
  for (const auto& o : in.outputs)
    if (o.mask)
      s += fmt::format("<p>{}: mask IoU (&gt; {:g}) <b>{:.4f}</b> over all samples, worst sample {:.4f}</p>", html_escape(o.name), o.mask->threshold,
                       o.mask->iou, o.mask->iou_min);
  return s + "<p class=note>Cosine per sample, then mean and minimum over samples; SQNR and errors over all elements of all "
             "samples. Top-1/top-k: how often the candidate's top-1 class (or top-k set) contains the reference's top-1.</p></section>\n";
}

// Names of layers are long paths ("/features/features.10/expand1x1/Conv_output_0"); their end says most.
std::string short_name(const std::string& name, size_t max_chars) {
  return name.size() <= max_chars ? name : "\u2026" + name.substr(name.size() - (max_chars - 1));
}

// Accumulated SQNR of every shared tensor in graph order, the worst layers (by the error they add) in red
// and named in a band above the plot: labels take the first row where they do not overlap, and a dashed
// leader line drops to their point, so clustered layers stay readable.
std::string layer_chart(const std::vector<LayerError>& layers) {
  std::vector<const LayerError*> by_pos;
  for (const auto& l : layers) by_pos.push_back(&l);
  std::sort(by_pos.begin(), by_pos.end(), [](auto* a, auto* b) { return a->position < b->position; });
  constexpr double W = 1040, L = 56, R = 16, B = 40, kPlotH = 260, kRowH = 16, kCharW = 6.3;
  double lo = kSqnrChartCap, hi = 0;
  for (auto* l : by_pos) {
    const double v = std::min(l->stats.sqnr_db, kSqnrChartCap);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  lo = std::min(lo, 0.0);
  hi = std::max(lo + 10, hi);
  // Round the range out to whole tick steps so the lowest and highest gridlines are labelled.
  if (const auto t = ticks(lo, hi, 6); t.size() > 1) {
    const double step = t[1] - t[0];
    lo = std::floor(lo / step) * step;
    hi = std::ceil(hi / step) * step;
  }
  const double max_pos = std::max(1, by_pos.back()->position);
  auto X = [&](double p) { return L + (W - L - R) * p / max_pos; };

  struct Label { const LayerError* layer; int rank; std::string text; double x0, x1; int row; };
  std::vector<Label> labels;
  for (int i = 0; i < std::min<int>(kLabelledLayers, static_cast<int>(layers.size())); ++i) {
    const auto& l = layers[static_cast<size_t>(i)];
    if (std::isinf(l.local_sqnr_db) && l.local_sqnr_db > 0) break;  // adds no error: nothing to point at
    std::string text = fmt::format("#{} {}", i + 1, short_name(l.tensor, 44));
    const double w = kCharW * static_cast<double>(text.size()), x = X(l.position);
    const double x0 = std::clamp(x - 6, L, W - R - w);
    labels.push_back({&l, i + 1, std::move(text), x0, x0 + w, 0});
  }
  std::sort(labels.begin(), labels.end(), [](const Label& a, const Label& b) { return a.x0 < b.x0; });
  std::vector<double> row_end;
  for (auto& lb : labels) {
    size_t r = 0;
    while (r < row_end.size() && row_end[r] + 12 > lb.x0) ++r;
    if (r == row_end.size()) row_end.push_back(0);
    row_end[r] = lb.x1;
    lb.row = static_cast<int>(r);
  }
  const double T = 14 + kRowH * static_cast<double>(row_end.size()) + (row_end.empty() ? 0 : 8), H = T + kPlotH + B;
  auto Y = [&](double db) { return T + kPlotH * (hi - std::clamp(db, lo, hi)) / (hi - lo); };

  std::string s = fmt::format("<svg viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"per-layer SQNR\">", W, H);
  for (double t : ticks(lo, hi, 6))
    s += fmt::format("<line x1={} x2={} y1={:.1f} y2={:.1f} stroke=\"#e6eaef\" /><text x={} y={:.1f} font-size=11 text-anchor=end>{}</text>", L,
                     W - R, Y(t), Y(t), L - 6, Y(t) + 4, t);
  s += fmt::format("<text x=14 y={0} font-size=12 transform=\"rotate(-90 14 {0})\" text-anchor=middle>SQNR dB (accumulated)</text>", T + kPlotH / 2);
  s += fmt::format("<text x={} y={} font-size=12 text-anchor=middle>position in the graph (reference topological order) &rarr;</text>",
                   (W + L) / 2, H - 8);
  std::string path;
  for (auto* l : by_pos) path += fmt::format("{}{:.1f},{:.1f}", path.empty() ? "M" : " L", X(l->position), Y(std::min(l->stats.sqnr_db, kSqnrChartCap)));
  s += "<path d=\"" + path + "\" fill=none stroke=\"#5477a8\" stroke-width=1.6 />";
  for (auto* l : by_pos)
    s += fmt::format("<circle cx={:.1f} cy={:.1f} r=2.6 fill=\"#5477a8\"><title>{} ({}): {} dB</title></circle>", X(l->position),
                     Y(std::min(l->stats.sqnr_db, kSqnrChartCap)), html_escape(l->tensor), html_escape(l->op_type), fmt_db(l->stats.sqnr_db));
  for (const auto& lb : labels) {
    const double x = X(lb.layer->position), y = Y(std::min(lb.layer->stats.sqnr_db, kSqnrChartCap));
    const double ty = 14 + kRowH * (lb.row + 1) - 4;
    s += fmt::format("<line x1={0:.1f} y1={1:.1f} x2={0:.1f} y2={2:.1f} stroke=\"#c0392b\" stroke-width=.8 stroke-dasharray=\"3 2\" />"
                     "<circle cx={0:.1f} cy={2:.1f} r=5 fill=\"#c0392b\"><title>{3}</title></circle>"
                     "<text x={4:.1f} y={5:.1f} font-size=11.5 fill=\"#9c2a1e\">{6}</text>",
                     x, ty + 3, y, html_escape(lb.layer->tensor), lb.x0, ty, html_escape(lb.text));
  }
  return s + "</svg>";
}

std::string per_layer_section(const HtmlReportInput& in) {
  std::string s = "<section id=\"per-layer\"><h2>Per-layer error</h2>";
  if (!in.per_layer)
    return s + "<p class=note>Not measured: run <code>onnxquant validate --per-layer</code> to compare every intermediate tensor both models "
               "share.</p></section>\n";
  if (in.per_layer->empty()) return s + "<p class=note>The two models share no intermediate tensor names.</p></section>\n";
  s += layer_chart(*in.per_layer);
  s += "<p class=note>Line: SQNR of each shared tensor against the reference, accumulated from the input (higher is better; identical "
       "tensors sit at the top). Red: the layers that add the most error (local SQNR: the error a layer adds beyond that of its "
       "inputs).</p><table><tr><th>#</th><th>tensor</th><th>op</th><th class=n>local SQNR dB</th><th class=n>SQNR dB</th><th "
       "class=n>cosine</th><th class=n>max abs err</th></tr>";
  const int n = std::min<int>(kLayerRows, static_cast<int>(in.per_layer->size()));
  for (int i = 0; i < n; ++i) {
    const auto& l = (*in.per_layer)[static_cast<size_t>(i)];
    s += fmt::format("<tr><td>{}</td><td class=name>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{:.5f}</td><td "
                     "class=n>{}</td></tr>",
                     i + 1, html_escape(l.tensor), html_escape(l.op_type), fmt_db(l.local_sqnr_db), fmt_db(l.stats.sqnr_db), l.stats.cosine,
                     fmt_num(l.stats.max_abs_error));
  }
  return s + fmt::format("</table><p class=note>{} of {} tensors shown, worst first.</p></section>\n", n, in.per_layer->size());
}

// Box plots (whiskers min..max, box p25..p75, median line) with every run as a dot, both models on one
// axis so their distributions compare at a glance.
std::string latency_chart(const HtmlLatency& lat) {
  const double W = 1040, H = 190, L = 150, R = 24, T = 16, B = 38, row = (H - T - B) / 2;
  double hi = 0;
  for (double v : lat.reference.samples_ms) hi = std::max(hi, v);
  for (double v : lat.candidate.samples_ms) hi = std::max(hi, v);
  hi = hi > 0 ? hi * 1.05 : 1;
  auto X = [&](double ms) { return L + (W - L - R) * ms / hi; };
  std::string s = fmt::format("<svg viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"latency distributions\">", W, H);
  for (double t : ticks(0, hi, 8))
    s += fmt::format("<line x1={0:.1f} x2={0:.1f} y1={1} y2={2} stroke=\"#e6eaef\" /><text x={0:.1f} y={3} font-size=11 text-anchor=middle>{4:g}</text>",
                     X(t), T, H - B, H - B + 16, t);
  s += fmt::format("<text x={} y={} font-size=12 text-anchor=middle>milliseconds per inference</text>", (W + L) / 2, H - 4);
  const struct { const LatencyStats* s; const char* color; std::string name; } rows[] = {
      {&lat.reference, "#5477a8", "reference"}, {&lat.candidate, "#e0803a", "candidate"}};
  for (int r = 0; r < 2; ++r) {
    const auto& v = rows[r].s->samples_ms;
    if (v.empty()) continue;
    const double cy = T + row * (r + 0.5);
    const double q1 = quantile(v, 0.25), q3 = quantile(v, 0.75), mn = quantile(v, 0), mx = quantile(v, 1);
    s += fmt::format("<text x={} y={:.1f} font-size=12.5 text-anchor=end font-weight=600>{}</text>", L - 10, cy - 2, rows[r].name);
    s += fmt::format("<text x={} y={:.1f} font-size=11 text-anchor=end>median {} ms</text>", L - 10, cy + 13, fmt_ms(rows[r].s->median_ms));
    s += fmt::format("<line x1={:.1f} x2={:.1f} y1={:.1f} y2={:.1f} stroke=\"{}\" stroke-width=1.4 />", X(mn), X(mx), cy, cy, rows[r].color);
    s += fmt::format("<rect x={:.1f} y={:.1f} width={:.1f} height={:.1f} fill=\"{}\" fill-opacity=.18 stroke=\"{}\" stroke-width=1.4 rx=3 />", X(q1),
                     cy - row * 0.28, std::max(1.0, X(q3) - X(q1)), row * 0.56, rows[r].color, rows[r].color);
    s += fmt::format("<line x1={0:.1f} x2={0:.1f} y1={1:.1f} y2={2:.1f} stroke=\"{3}\" stroke-width=3 />", X(rows[r].s->median_ms), cy - row * 0.28,
                     cy + row * 0.28, rows[r].color);
    for (size_t i = 0; i < v.size(); ++i) {
      const double jitter = (static_cast<double>((i * 7919) % 97) / 96.0 - 0.5) * row * 0.4;
      s += fmt::format("<circle cx={:.1f} cy={:.1f} r=2.2 fill=\"{}\" fill-opacity=.55 />", X(v[i]), cy + jitter, rows[r].color);
    }
  }
  return s + "</svg>";
}

std::string latency_section(const HtmlReportInput& in) {
  std::string s = "<section id=\"latency\"><h2>Latency</h2>";
  if (!in.latency) return s + "<p class=note>Not timed (--timed 0).</p></section>\n";
  const auto& l = *in.latency;
  s += latency_chart(l);
  s += "<table><tr><th>model</th><th class=n>median ms</th><th class=n>p90 ms</th><th class=n>min ms</th><th class=n>runs</th></tr>";
  for (const auto& [name, st] : {std::pair{in.reference, &l.reference}, std::pair{in.candidate, &l.candidate}})
    s += fmt::format("<tr><td class=name>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                     html_escape(base_name(name)), fmt_ms(st->median_ms), fmt_ms(st->p90_ms), fmt_ms(st->min_ms), st->samples_ms.size());
  return s + fmt::format("</table><p class=note>Runs alternate reference, candidate, reference, ... on one sample with {} intra-op thread(s), "
                         "so machine noise hits both alike. Speedup = reference median / candidate median = {:.2f}&times; (95% paired "
                         "bootstrap interval {:.2f}&ndash;{:.2f}&times;).</p></section>\n",
                         l.threads, l.speedup, l.speedup_low, l.speedup_high);
}

std::string fusion_section(const FusionReport& f) {
  std::string s = "<section id=\"fusion\"><h2>Fusion report (what ONNX Runtime runs for the candidate)</h2>";
  s += fmt::format("<p>{} nodes in the model, {} at run time. QuantizeLinear {} &rarr; {}, DequantizeLinear {} &rarr; {} (model &rarr; run "
                   "time).</p>",
                   f.nodes_in_model, f.nodes_at_runtime, f.quantize_in_model, f.quantize_at_runtime, f.dequantize_in_model,
                   f.dequantize_at_runtime);
  s += "<div class=split><div><table><tr><th>quantized op</th><th class=n>count</th><th class=n>integer kernel</th><th class=n>int8 "
       "pass-through</th><th class=n>float</th></tr>";
  for (const auto& [op, t] : f.by_op)
    s += fmt::format("<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>", html_escape(op),
                     t.quantized, t.fused, t.int8, t.float_ + t.unknown);
  if (f.by_op.empty()) s += "<tr><td colspan=5 class=note>No quantized ops (no node reads a DequantizeLinear output).</td></tr>";
  s += "</table></div><div><table><tr><th>integer kernel at run time</th><th class=n>count</th></tr>";
  for (const auto& [op, n] : f.integer_kernels) s += fmt::format("<tr><td>{}</td><td class=n>{}</td></tr>", html_escape(op), n);
  if (f.integer_kernels.empty()) s += "<tr><td colspan=2 class=note>None.</td></tr>";
  s += "</table></div></div>";
  int shown = 0;
  std::string rows;
  for (const auto& q : f.quantized_ops)
    if ((q.status == FusionStatus::Float || q.status == FusionStatus::Unknown) && shown++ < kUnfusedRows)
      rows += fmt::format("<tr><td class=name>{}</td><td>{}</td><td><span class=\"st st-{}\">{}</span></td><td>{}</td></tr>",
                          html_escape(q.node.empty() ? q.output : q.node), html_escape(q.op_type), fusion_status_name(q.status),
                          fusion_status_name(q.status), html_escape(q.reason));
  if (shown > 0)
    s += fmt::format("<h2 style=\"margin-top:16px\">Not fused ({})</h2><table><tr><th>node</th><th>op</th><th>status</th><th>why</th></tr>{}</table>",
                     shown, rows);
  return s + "</section>\n";
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  return out;
}

std::string render_html_report(const HtmlReportInput& in) {
  std::string s = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  s += fmt::format("<title>onnxquant: {} vs {}</title><style>{}</style></head><body><main>\n", html_escape(base_name(in.candidate)),
                   html_escape(base_name(in.reference)), kStyle);
  s += fmt::format("<h1>{} <span style=\"color:var(--muted);font-weight:400\">vs</span> {}</h1><p class=sub>candidate {} &middot; reference "
                   "{}</p>\n",
                   html_escape(base_name(in.candidate)), html_escape(base_name(in.reference)), html_escape(in.candidate),
                   html_escape(in.reference));
  s += verdict_section(in);
  s += cards(in);
  s += outputs_section(in);
  s += per_layer_section(in);
  s += latency_section(in);
  s += fusion_section(in.fusion);
  if (!in.notes.empty()) {
    s += "<section><h2>Notes</h2><ul>";
    for (const auto& n : in.notes) s += "<li>" + html_escape(n) + "</li>";
    s += "</ul></section>\n";
  }
  s += "<section><h2>Command</h2><pre>" + html_escape(in.command_line.empty() ? "(not recorded)" : in.command_line) + "</pre></section>\n";
  s += "<footer>" + html_escape(in.generator) + "</footer>\n</main></body></html>\n";
  return s;
}

}  // namespace onnxquant
