// `onnxquant calibrate MODEL --data SRC --method M -o ranges.json`
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/input_options.h"
#include "cli/output.h"
#include "core/errors.h"
#include "pipeline/calibrate_job.h"

namespace onnxquant::cli {

void add_calibrate_command(CLI::App& app, const GlobalOptions& global, CommandBody& selected) {
  auto req = std::make_shared<CalibrateRequest>();
  auto method = std::make_shared<std::string>(method_name(RangeOptions{}.method));
  auto target = std::make_shared<std::string>("uint8_asymmetric");
  auto histograms = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("calibrate", "Compute activation ranges on calibration data and save a ranges file");
  cmd->add_option("model", req->model, "ONNX model file")->required();
  add_input_options(cmd, req->inputs);
  cmd->add_option("-o,--output", req->output, "Ranges file to write (JSON)")->required();
  cmd->add_option("-m,--method", *method, "Range method: mse (default, as quantize's), minmax, percentile, entropy")
      ->check(CLI::IsMember({"minmax", "percentile", "entropy", "mse"}));
  cmd->add_option("--percentile", req->range.percentile.percentile, "Percentile kept by --method percentile")->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--target", *target, "Integer grid: uint8_asymmetric (default) or int8_symmetric")
      ->check(CLI::IsMember({"uint8_asymmetric", "int8_symmetric"}));
  cmd->add_option("--threads", req->exec.intra_op_threads, "ORT intra-op threads for inference (observing runs on another thread)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag_function(
      "--all-tensors", [req](int64_t) { req->coverage = TensorCoverage::All; },
      "Also observe tensors read only by a Relu/Clip (their ranges are not needed for ORT's fused placement)");
  cmd->add_flag("--histograms", *histograms, "Keep histograms in the ranges file, so another method can be applied later without the model");
  cmd->footer(
      "Examples:\n"
      "  onnxquant calibrate resnet50.onnx -i calib.npy -m entropy -o ranges.json\n"
      "  onnxquant calibrate det.onnx -i x=images/ --preset paddle-det -n 50 -o det_ranges.json");
  cmd->callback([=, &global, &selected] {
    selected = [=, &global] {
      req->range.method = *parse_method(*method);
      req->range.target = *parse_target(*target);
      req->save.histograms = *histograms ? HistogramOutput::Include : HistogramOutput::Omit;
      req->samples = global.samples;
      if (global.format == OutputFormat::Json || global.quiet) req->progress = ProgressMode::Off;
      const CalibrateResult r = calibrate_model(*req);
      if (global.format == OutputFormat::Json) {
        print_json(std::cout, to_json(r));
        return 0;
      }
      std::cout << fmt::format("calibrated {} tensors on {} samples with {} ({}) in {:.2f} s ({:.2f} s in ORT), peak memory {}\n",
                               r.tensors_observed, r.samples, method_name(r.ranges.method.method), target_name(r.ranges.method.target),
                               r.seconds, r.inference_seconds, human_bytes(r.peak_rss_bytes));
      if (r.segments > 1)
        std::cout << fmt::format("  the model ran in {} segments, so that only one segment's activations were in memory at a time\n", r.segments);
      if (!r.constant_tensors.empty())
        std::cout << fmt::format("  {} tensor(s) held a single value (range [min(0,c), max(0,c)])\n", r.constant_tensors.size());
      std::cout << fmt::format("  wrote {}\n", r.output);
      return 0;
    };
  });
}

}  // namespace onnxquant::cli
