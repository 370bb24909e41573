// `onnxquant benchmark MODEL...`: parses options into a BenchmarkRequest and prints the models side by side
// (aligned table, or JSON per docs/json-output.md). How memory and time are measured: pipeline/benchmark_job.h.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "cli/command.h"
#include "cli/input_options.h"
#include "cli/output.h"
#include "pipeline/benchmark_job.h"

namespace onnxquant::cli {

namespace {

constexpr size_t kNameWidth = 48;

struct BenchmarkCliOptions {
  bool in_process = false;  // CLI flag; the request takes an enum
};

void print_text(const BenchmarkResult& r) {
  const Style style = Style::for_stdout();
  std::cout << fmt::format("{} model(s), {} timed runs after {} warm-up, {} intra-op thread(s), ONNX Runtime {}\n", r.entries.size(), r.runs,
                           r.warmup, r.threads, r.runtime_version);
  Table t({{"model"}, {"file", Align::Right}, {"session ms", Align::Right}, {"median ms", Align::Right}, {"p90 ms", Align::Right},
           {"min ms", Align::Right}, {"inf/s", Align::Right}, {"peak RSS +", Align::Right}, {"vs first", Align::Right}});
  const double base = r.entries.empty() ? 0 : r.entries.front().latency.median_ms;
  for (const auto& e : r.entries)
    t.add_row({elide(e.model, kNameWidth), human_bytes(e.file_bytes), fmt::format("{:.1f}", e.session_create_ms),
               fmt::format("{:.3f}", e.latency.median_ms), fmt::format("{:.3f}", e.latency.p90_ms), fmt::format("{:.3f}", e.latency.min_ms),
               fmt::format("{:.1f}", e.throughput_per_s), human_bytes(e.peak_rss_delta_bytes),
               e.latency.median_ms > 0 ? fmt::format("{:.2f}x", base / e.latency.median_ms) : "-"});
  std::cout << t.render({}, style);
  std::cout << "  peak RSS +: high-water mark of resident memory while loading and running, minus the resident memory before "
            << (r.isolation == "fork" ? "(each model in its own process)" : "(one process; later models may reuse memory)") << "\n";
}

}  // namespace

void add_benchmark_command(CLI::App& app, const GlobalOptions& global, CommandBody& selected) {
  auto req = std::make_shared<BenchmarkRequest>();
  auto opt = std::make_shared<BenchmarkCliOptions>();
  auto* cmd = app.add_subcommand("benchmark", "Latency, throughput, peak memory and session time of models, side by side");
  cmd->add_option("models", req->models, "ONNX model files")->required();
  add_input_options(cmd, req->inputs);
  cmd->add_option("--threads", req->exec.intra_op_threads, "ORT intra-op threads (0 = all cores)")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--runs", req->latency.runs, "Timed runs per model")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--warmup", req->latency.warmup, "Untimed runs per model before timing")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_flag("--in-process", opt->in_process, "Measure every model in this process instead of one child process each");
  cmd->footer(
      "Examples:\n"
      "  onnxquant benchmark resnet50.onnx resnet50_int8.onnx --runs 100\n"
      "  onnxquant benchmark det.onnx det_int8.onnx --input-shape x=1,3,640,640 --threads 4 --format json");
  cmd->callback([req, opt, &global, &selected] {
    selected = [req, opt, &global] {
      req->isolation = opt->in_process ? MemoryIsolation::InProcess : MemoryIsolation::ForkPerModel;
      const BenchmarkResult r = benchmark_models(*req);
      if (global.format == OutputFormat::Json) print_json(std::cout, to_json(r));
      else print_text(r);
      return 0;
    };
  });
}

}  // namespace onnxquant::cli
