// `onnxquant run MODEL`: run a model on data or synthetic inputs and summarize the outputs.
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/input_options.h"
#include "cli/output.h"
#include "pipeline/run_job.h"

namespace onnxquant::cli {

void add_run_command(CLI::App& app, const GlobalOptions& global, CommandBody& selected) {
  auto req = std::make_shared<RunRequest>();
  auto* cmd = app.add_subcommand("run", "Run a model in ONNX Runtime and summarize its outputs");
  cmd->add_option("model", req->model, "ONNX model file")->required();
  add_input_options(cmd, req->inputs);
  cmd->add_option("--threads", req->exec.intra_op_threads, "ORT intra-op threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--runs", req->latency.runs, "Timed runs on the last sample (0 = no timing)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--warmup", req->latency.warmup, "Untimed runs before timing")->check(CLI::NonNegativeNumber);
  cmd->add_option("--save-outputs", req->save_outputs_dir, "Folder to write each output of each sample as .npy");
  cmd->footer(
      "Examples:\n"
      "  onnxquant run model.onnx                                # one synthetic sample\n"
      "  onnxquant run det.onnx --input-shape x=1,3,640,640 --runs 20\n"
      "  onnxquant run resnet50.onnx -i input=eval.npy -n 10 --save-outputs out/");
  cmd->callback([req, &global, &selected] {
    selected = [req, &global] {
      if (req->latency.runs > 0 && req->latency.warmup == 0) req->latency.warmup = 2;
      const RunResult r = run_model(*req);
      if (global.format == OutputFormat::Json) {
        print_json(std::cout, to_json(r));
        return 0;
      }
      std::cout << fmt::format("{}: {} sample(s), session created in {:.1f} ms\n", r.model, r.samples, r.session_create_ms);
      Table table({{"output"}, {"dtype"}, {"shape"}, {"min", Align::Right}, {"max", Align::Right}, {"mean", Align::Right}, {"NaN/Inf", Align::Right}});
      for (const auto& o : r.outputs)
        table.add_row({o.name, dtype_name(o.dtype), shape_string(o.shape), fmt::format("{:.5g}", o.min), fmt::format("{:.5g}", o.max),
                       fmt::format("{:.5g}", o.mean), thousands(o.nonfinite)});
      std::cout << table.render({}, Style::for_stdout());
      if (r.latency)
        std::cout << fmt::format("  latency: median {:.3f} ms, p90 {:.3f} ms, min {:.3f} ms over {} runs\n", r.latency->median_ms,
                                 r.latency->p90_ms, r.latency->min_ms, r.latency->samples_ms.size());
      if (!r.saved_files.empty() && !global.quiet) std::cout << fmt::format("  saved {} output file(s)\n", r.saved_files.size());
      return 0;
    };
  });
}

}  // namespace onnxquant::cli
