// `onnxquant diff A B`: parses options, calls analysis::diff_models and prints what changed as aligned text
// or JSON (docs/json-output.md). `--exit-code` makes differences visible to scripts, as in `git diff`.
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>

#include "analysis/diff.h"
#include "cli/command.h"
#include "cli/output.h"
#include "ir/model.h"

namespace onnxquant::cli {

namespace {

struct DiffRequest {
  std::filesystem::path a, b;
  bool exit_code = false;  // CLI flag only; the library call takes no booleans
};

constexpr size_t kNameWidth = 60;
constexpr size_t kRowsShown = 20;  // per list, unless -v

std::string io_text(const IoEntry& e) { return dtype_name(e.dtype) + " " + shape_text(e.shape); }

std::string tensor_text(const TensorInfo& t) { return dtype_name(t.dtype) + " " + shape_string(t.shape) + " " + human_bytes(t.bytes); }

// Table rows beyond the limit collapse into one "... N more" line; -v lists everything.
class Limited {
 public:
  Limited(const GlobalOptions& g, size_t total) : limit_(g.verbose > 0 ? total : kRowsShown), total_(total) {}
  bool take() { return shown_++ < limit_; }
  std::string footer() const {
    return total_ > limit_ ? "  ... and " + thousands(static_cast<int64_t>(total_ - limit_)) + " more (-v lists all)\n" : "";
  }

 private:
  size_t limit_, total_, shown_ = 0;
};

std::string summary_line(const ModelDiff& d) {
  std::vector<std::string> parts;
  auto count = [&](size_t n, const char* one, const char* many) {
    if (n) parts.push_back(thousands(static_cast<int64_t>(n)) + " " + (n == 1 ? one : many));
  };
  count(d.inputs.added.size() + d.inputs.removed.size() + d.inputs.changed.size(), "input change", "input changes");
  count(d.outputs.added.size() + d.outputs.removed.size() + d.outputs.changed.size(), "output change", "output changes");
  count(d.op_counts.size(), "op count changed", "op counts changed");
  count(static_cast<size_t>(d.nodes_only_in_a + d.nodes_only_in_b), "node differing", "nodes differing");
  count(d.tensors.added.size() + d.tensors.removed.size() + d.tensors.changed.size(), "tensor change", "tensor changes");
  count(d.opsets.size(), "opset change", "opset changes");
  count(d.model_fields.size(), "model field change", "model field changes");
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

void print_io(std::ostream& out, const char* title, const IoDiff& io, const Style& style) {
  if (io.empty()) return;
  out << "\n" << style(title, Color::Bold) << "\n";
  Table t({{"change"}, {"name"}, {"a"}, {"b"}});
  for (const auto& e : io.removed) t.add_row({style("removed", Color::Red), elide(e.name, kNameWidth), io_text(e), ""});
  for (const auto& e : io.added) t.add_row({style("added", Color::Green), elide(e.name, kNameWidth), "", io_text(e)});
  for (const auto& c : io.changed) t.add_row({style("changed", Color::Yellow), elide(c.before.name, kNameWidth), io_text(c.before), io_text(c.after)});
  out << t.render({}, style);
}

void print_ops(std::ostream& out, const ModelDiff& d, const Style& style) {
  if (d.op_counts.empty() && d.nodes_only_in_a == 0 && d.nodes_only_in_b == 0) return;
  out << "\n" << style("Operators  " + thousands(d.nodes_total_a) + " -> " + thousands(d.nodes_total_b) + " nodes", Color::Bold) << "\n";
  if (!d.op_counts.empty()) {
    Table t({{"op_type"}, {"a", Align::Right}, {"b", Align::Right}, {"delta", Align::Right}});
    for (const auto& c : d.op_counts) t.add_row({c.op, thousands(c.before), thousands(c.after), signed_text(c.after - c.before)});
    out << t.render({}, style);
  }
  if (d.nodes_only_in_a || d.nodes_only_in_b)
    out << "  main-graph nodes without an identical counterpart (inputs, outputs, attributes): " << thousands(d.nodes_only_in_a)
        << " in a, " << thousands(d.nodes_only_in_b) << " in b\n";
}

void print_tensors(std::ostream& out, const ModelDiff& d, const GlobalOptions& global, const Style& style) {
  const auto& t = d.tensors;
  if (t.empty()) return;
  out << "\n"
      << style("Tensors  " + thousands(static_cast<int64_t>(t.changed.size())) + " changed, " +
                   thousands(static_cast<int64_t>(t.added.size())) + " added, " + thousands(static_cast<int64_t>(t.removed.size())) +
                   " removed, " + thousands(t.unchanged) + " unchanged",
               Color::Bold)
      << "\n";
  Table table({{"change"}, {"name"}, {"a"}, {"b"}, {"max |a-b|", Align::Right}});
  Limited rows(global, t.removed.size() + t.added.size() + t.changed.size());
  for (const auto& e : t.removed)
    if (rows.take()) table.add_row({style("removed", Color::Red), elide(e.name, kNameWidth), tensor_text(e), "", ""});
  for (const auto& e : t.added)
    if (rows.take()) table.add_row({style("added", Color::Green), elide(e.name, kNameWidth), "", tensor_text(e), ""});
  for (const auto& c : t.changed) {
    if (!rows.take()) continue;
    std::string diff;
    if (c.max_abs_diff) {
      std::ostringstream s;
      s.precision(4);
      s << *c.max_abs_diff;
      diff = s.str();
    }
    table.add_row({style(tensor_change_name(c.kind), Color::Yellow), elide(c.before.name, kNameWidth), tensor_text(c.before),
                   tensor_text(c.after), diff});
  }
  out << table.render({}, style) << rows.footer();
}

void print_misc(std::ostream& out, const ModelDiff& d, const Style& style) {
  if (!d.opsets.empty()) {
    out << "\n" << style("Opsets", Color::Bold) << "\n";
    Table t({{"domain"}, {"a", Align::Right}, {"b", Align::Right}});
    auto v = [](int64_t x) { return x ? std::to_string(x) : std::string("-"); };
    for (const auto& o : d.opsets) t.add_row({o.domain, v(o.before), v(o.after)});
    out << t.render({}, style);
  }
  if (!d.model_fields.empty()) {
    out << "\n" << style("Model fields", Color::Bold) << "\n";
    Table t({{"field"}, {"a"}, {"b"}});
    for (const auto& f : d.model_fields) t.add_row({f.field, f.before, f.after});
    out << t.render({}, style);
  }
}

void print_sizes(std::ostream& out, const ModelDiff& d, const Style& style) {
  out << "\n" << style("Sizes", Color::Bold) << "\n";
  Table t({{""}, {"a", Align::Right}, {"b", Align::Right}, {"b/a", Align::Right}});
  auto row = [&](const char* name, const SizePair& s) {
    if (!s.a && !s.b) return;
    auto v = [](const std::optional<uint64_t>& x) { return x ? human_bytes(*x) : std::string("-"); };
    const auto r = s.ratio();
    t.add_row({name, v(s.a), v(s.b), r ? ratio_text(*r) : "-"});
  };
  row("parameters", d.parameter_bytes);
  row("model", d.model_bytes);
  row("file", d.file_bytes);
  out << t.render({}, style);
}

void print_text(std::ostream& out, const ModelDiff& d, const GlobalOptions& global, const Style& style) {
  Table head({{""}, {""}});
  head.add_row({"a", d.path_a});
  head.add_row({"b", d.path_b});
  out << head.render({.indent = 0, .gap = 2, .show_header = false}, style) << "\n";
  if (d.identical) out << style("identical", Color::Green) << ": same interface, operators, nodes and tensor values\n";
  else out << style("differ", Color::Yellow) << ": " << summary_line(d) << "\n";
  print_misc(out, d, style);
  print_io(out, "Inputs", d.inputs, style);
  print_io(out, "Outputs", d.outputs, style);
  print_ops(out, d, style);
  print_tensors(out, d, global, style);
  print_sizes(out, d, style);
}

int run_diff(const DiffRequest& request, const GlobalOptions& global) {
  const Model a = Model::load(request.a);
  const Model b = Model::load(request.b);
  const ModelDiff d = diff_models(a, b);
  if (global.format == OutputFormat::Json) print_json(std::cout, to_json(d));
  else if (global.quiet) std::cout << (d.identical ? "identical" : "differ: " + summary_line(d)) << "\n";
  else print_text(std::cout, d, global, Style::for_stdout());
  return request.exit_code && !d.identical ? 1 : 0;
}

}  // namespace

void add_diff_command(CLI::App& app, const GlobalOptions& global, CommandBody& selected) {
  auto request = std::make_shared<DiffRequest>();
  auto* cmd = app.add_subcommand("diff", "Compare two models: interface, operator counts, tensors, opsets, sizes");
  cmd->add_option("a", request->a, "First ONNX model (e.g. the FP32 original)")->required();
  cmd->add_option("b", request->b, "Second ONNX model (e.g. the quantized one)")->required();
  cmd->add_flag("--exit-code", request->exit_code, "Exit with 1 when the models differ (0 when identical)");
  cmd->footer(
      "Examples:\n"
      "  onnxquant diff model.onnx model.int8.onnx\n"
      "  onnxquant --format json diff a.onnx b.onnx   (schema: docs/json-output.md)\n"
      "  onnxquant -q diff --exit-code a.onnx b.onnx && echo same");
  cmd->callback([request, &global, &selected] { selected = [request, &global] { return run_diff(*request, global); }; });
}

}  // namespace onnxquant::cli
