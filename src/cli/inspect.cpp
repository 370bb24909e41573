// `onnxquant inspect MODEL`: parses options, calls analysis::inspect_model and prints the summary as an
// aligned text report or as JSON (docs/json-output.md).
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>

#include "analysis/inspect.h"
#include "cli/command.h"
#include "cli/output.h"
#include "ir/model.h"

namespace onnxquant::cli {

namespace {

struct InspectRequest {
  std::filesystem::path model;
  InspectOptions options;
};

constexpr size_t kNameWidth = 60;  // longer tensor names are elided in the middle

std::string opsets_text(const ModelSummary& s) {
  std::string out;
  for (const auto& [domain, version] : s.opsets) out += (out.empty() ? "" : ", ") + domain + " " + std::to_string(version);
  return out.empty() ? "none" : out;
}

std::string producer_text(const ModelSummary& s) {
  if (s.producer_name.empty() && s.producer_version.empty()) return "(not recorded)";
  return s.producer_name + (s.producer_version.empty() ? "" : " " + s.producer_version);
}

std::string size_text(const ModelSummary& s) {
  if (s.file_bytes) return human_bytes(*s.file_bytes) + " (" + thousands(static_cast<int64_t>(*s.file_bytes)) + " bytes)";
  return human_bytes(s.model_bytes) + " (in memory)";
}

void print_io(std::ostream& out, const char* title, const std::vector<IoEntry>& entries, const Style& style) {
  out << style(title, Color::Bold) << "\n";
  if (entries.empty()) {
    out << "  (none)\n";
    return;
  }
  Table t({{"name"}, {"dtype"}, {"shape"}});
  for (const auto& e : entries) t.add_row({elide(e.name, kNameWidth), dtype_name(e.dtype), shape_text(e.shape)});
  out << t.render({}, style);
}

void print_ops(std::ostream& out, const ModelSummary& s, const Style& style) {
  const bool has_subgraphs = s.nodes_total != s.nodes;
  std::string title = "Operators  " + thousands(s.nodes) + " nodes, " + std::to_string(s.ops.size()) + " op types";
  if (has_subgraphs) title += "; " + thousands(s.nodes_total) + " nodes with subgraphs";
  out << style(title, Color::Bold) << "\n";
  // Most frequent first: that is what one looks at to judge what quantization will touch.
  std::vector<std::pair<std::string, int64_t>> rows(s.ops_total.begin(), s.ops_total.end());
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (has_subgraphs) {
    Table t({{"op_type"}, {"main graph", Align::Right}, {"with subgraphs", Align::Right}});
    for (const auto& [op, total] : rows) {
      auto it = s.ops.find(op);
      t.add_row({op, thousands(it == s.ops.end() ? 0 : it->second), thousands(total)});
    }
    out << t.render({}, style);
  } else {
    Table t({{"op_type"}, {"count", Align::Right}});
    for (const auto& [op, count] : rows) t.add_row({op, thousands(count)});
    out << t.render({}, style);
  }
}

void print_parameters(std::ostream& out, const ModelSummary& s, const Style& style) {
  const auto& p = s.parameters;
  // Where the weights live matters to the user: Paddle2ONNX models keep them in Constant nodes, which
  // quantization has to lift out first. One source gets a word in the title, two get a table.
  const bool mixed = p.initializers.tensors > 0 && p.constant_nodes.tensors > 0;
  const char* where = mixed ? "" : p.constant_nodes.tensors > 0 ? " (all in Constant nodes)" : " (all initializers)";
  // "25,530,472 elements (25.5M)": the exact number for comparing, the short one for reading.
  const std::string approx = p.total.elements >= 1000 ? " (" + human_count(p.total.elements) + ")" : "";
  out << style("Parameters  " + thousands(p.total.elements) + " elements" + approx + ", " +
                   human_bytes(p.total.bytes) + " in " + thousands(p.total.tensors) + " tensors" + where,
               Color::Bold)
      << "\n";
  if (p.total.tensors == 0) return;
  Table by_dtype({{"dtype"}, {"tensors", Align::Right}, {"elements", Align::Right}, {"size", Align::Right}});
  for (const auto& [dtype, t] : p.by_dtype)
    by_dtype.add_row({dtype_name(dtype), thousands(t.tensors), thousands(t.elements), human_bytes(t.bytes)});
  out << by_dtype.render({}, style);
  if (!mixed) return;
  Table by_source({{"stored in"}, {"tensors", Align::Right}, {"elements", Align::Right}, {"size", Align::Right}});
  by_source.add_row({"initializers", thousands(p.initializers.tensors), thousands(p.initializers.elements), human_bytes(p.initializers.bytes)});
  by_source.add_row({"Constant nodes", thousands(p.constant_nodes.tensors), thousands(p.constant_nodes.elements), human_bytes(p.constant_nodes.bytes)});
  out << "\n" << by_source.render({}, style);
}

void print_largest(std::ostream& out, const ModelSummary& s, const Style& style) {
  if (s.largest_tensors.empty()) return;
  out << "\n" << style("Largest tensors", Color::Bold) << "\n";
  Table t({{"name"}, {"stored in"}, {"dtype"}, {"shape"}, {"size", Align::Right}});
  for (const auto& e : s.largest_tensors)
    t.add_row({elide(e.name, kNameWidth), e.source == TensorSource::Initializer ? "initializer" : "Constant node", dtype_name(e.dtype), shape_string(e.shape), human_bytes(e.bytes)});
  out << t.render({}, style);
}

void print_subgraphs(std::ostream& out, const ModelSummary& s, const Style& style) {
  if (s.subgraphs.empty()) return;
  out << "\n" << style("Subgraphs  " + std::to_string(s.subgraphs.size()), Color::Bold) << "\n";
  Table t({{"owner"}, {"op_type"}, {"attribute"}, {"depth", Align::Right}, {"nodes", Align::Right}, {"with nested", Align::Right}});
  for (const auto& sg : s.subgraphs) {
    // Indent nested subgraphs under their parent so the tree shape is visible.
    const std::string owner = std::string(2 * static_cast<size_t>(sg.depth - 1), ' ') + elide(sg.owner_name.empty() ? "(unnamed)" : sg.owner_name, kNameWidth);
    t.add_row({owner, sg.owner_op, sg.attribute, std::to_string(sg.depth), thousands(sg.nodes), thousands(sg.nodes_nested)});
  }
  out << t.render({}, style);
}

void print_text(std::ostream& out, const ModelSummary& s, const GlobalOptions& global, const Style& style) {
  const std::string file = s.path.empty() ? "(model)" : std::filesystem::path(s.path).filename().string();
  out << style(file, Color::Bold) << "\n";
  Table head({{""}, {""}});
  head.add_row({"path", s.path});
  head.add_row({"size", size_text(s)});
  head.add_row({"ir_version", std::to_string(s.ir_version)});
  head.add_row({"opsets", opsets_text(s)});
  head.add_row({"producer", producer_text(s)});
  if (global.verbose > 0 || !s.domain.empty()) head.add_row({"domain", s.domain});
  if (global.verbose > 0 || s.model_version != 0) head.add_row({"model_version", std::to_string(s.model_version)});
  if (global.verbose > 0) head.add_row({"graph", s.graph_name});
  if (global.verbose > 0) head.add_row({"doc string", s.has_doc_string ? "yes" : "no"});
  out << head.render({.indent = 2, .gap = 2, .show_header = false}, style) << "\n";

  print_io(out, "Inputs", s.inputs, style);
  out << "\n";
  print_io(out, "Outputs", s.outputs, style);
  out << "\n";
  print_ops(out, s, style);
  out << "\n";
  print_parameters(out, s, style);
  print_largest(out, s, style);
  print_subgraphs(out, s, style);
  if (!s.metadata.empty()) {
    out << "\n" << style("Metadata", Color::Bold) << "\n";
    Table t({{"key"}, {"value"}});
    // Values can be long (whole configs); -v shows them in full.
    for (const auto& [k, v] : s.metadata) t.add_row({k, global.verbose > 0 ? v : elide(v, 80)});
    out << t.render({}, style);
  }
}

// -q: one line that still answers "what is this model".
void print_quiet(std::ostream& out, const ModelSummary& s) {
  out << (s.path.empty() ? "(model)" : s.path) << ": " << thousands(s.nodes) << " nodes, opset " << opsets_text(s) << ", "
      << human_count(s.parameters.total.elements) << " parameters (" << human_bytes(s.parameters.total.bytes) << ")\n";
}

int run_inspect(const InspectRequest& request, const GlobalOptions& global) {
  // Only the structure and the tensors' declared sizes are shown: external weights stay on disk.
  const Model model = Model::load(request.model, {.external_data = ExternalDataLoad::Defer});
  const ModelSummary summary = inspect_model(model, request.options);
  if (global.format == OutputFormat::Json) print_json(std::cout, to_json(summary));
  else if (global.quiet) print_quiet(std::cout, summary);
  else print_text(std::cout, summary, global, Style::for_stdout());
  return 0;
}

}  // namespace

void add_inspect_command(CLI::App& app, const GlobalOptions& global, CommandBody& selected) {
  auto request = std::make_shared<InspectRequest>();
  auto* cmd = app.add_subcommand("inspect", "Describe a model: inputs/outputs, operators, parameters by dtype, sizes");
  cmd->add_option("model", request->model, "ONNX model file")->required();
  cmd->add_option("--top", request->options.largest_tensors, "How many of the largest tensors to list")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->footer(
      "Examples:\n"
      "  onnxquant inspect model.onnx\n"
      "  onnxquant inspect model.onnx --top 20\n"
      "  onnxquant --format json inspect model.onnx   (schema: docs/json-output.md)");
  // Parsing only fills `request`; the body runs after all options (including global ones given after the
  // subcommand) are parsed, and reads `global` then.
  cmd->callback([request, &global, &selected] { selected = [request, &global] { return run_inspect(*request, global); }; });
}

}  // namespace onnxquant::cli
