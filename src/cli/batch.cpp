// `onnxquant batch MODELS_OR_FOLDERS... -o OUTDIR [--jobs N] [--shard K/N] [--skip-existing] -- QUANTIZE OPTIONS`
// Everything after `--` is given to `onnxquant quantize` for every model (main.cpp splits it off, since
// CLI11 cannot tell a forwarded option's value from a model path). How models run: pipeline/batch_job.h.
#include <fmt/format.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <sstream>

#include "cli/command.h"
#include "cli/output.h"
#include "core/errors.h"
#include "pipeline/batch_job.h"

namespace onnxquant::cli {

namespace {

struct BatchCliOptions {
  std::string shard = "1/1";
  std::vector<std::string> per_model;  // NAME=OPTIONS
};

std::filesystem::path this_executable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw RuntimeError("batch: cannot find the onnxquant executable (/proc/self/exe): " + ec.message());
  return p;
}

// "det.onnx=--exclude head --keep-fp32-head" -> {"det.onnx", {"--exclude", "head", "--keep-fp32-head"}}
std::pair<std::string, std::vector<std::string>> parse_per_model(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) throw UsageError("--per-model '" + text + "': expected MODEL_FILE_NAME=OPTIONS");
  std::vector<std::string> args;
  std::istringstream in(text.substr(eq + 1));
  for (std::string a; in >> a;) args.push_back(a);
  return {text.substr(0, eq), args};
}

void print_text(const BatchResult& r) {
  Table t({{"model"}, {"status"}, {"seconds", Align::Right}, {"size", Align::Right}, {"cosine", Align::Right}, {"detail"}});
  for (const auto& e : r.entries) {
    std::string size = "-", cosine = "-", detail = e.error;
    if (e.status == "ok") {
      const auto& j = e.result;
      if (j.contains("size") && j["size"].contains("ratio") && j["size"]["ratio"].is_number())
        size = fmt::format("{:.3f}x", j["size"]["ratio"].get<double>());
      if (j.contains("verification") && j["verification"].contains("cosine") && j["verification"]["cosine"].is_number())
        cosine = fmt::format("{:.5f}", j["verification"]["cosine"].get<double>());
      detail = e.output;
    }
    if (e.status == "skipped") detail = "output exists (--skip-existing)";
    t.add_row({std::filesystem::path(e.model).filename().string(), e.status, e.status == "skipped" ? "-" : fmt::format("{:.1f}", e.seconds), size,
               cosine, detail});
  }
  std::cout << t.render({}, Style::for_stdout());
  std::cout << fmt::format("{} succeeded, {} failed, {} skipped ({} model(s) found{})\n", r.succeeded, r.failed, r.skipped, r.models_found,
                           r.shard.count > 1 ? fmt::format(", shard {}/{}", r.shard.index, r.shard.count) : "");
}

}  // namespace

void add_batch_command(CLI::App& app, const GlobalOptions& global, CommandBody& selected, const std::vector<std::string>& forwarded) {
  auto req = std::make_shared<BatchRequest>();
  auto opt = std::make_shared<BatchCliOptions>();
  auto* cmd = app.add_subcommand("batch", "Quantize many models (one process each, N at a time); options after -- go to quantize");
  cmd->add_option("models", req->inputs, "Model files and folders of .onnx files")->required();
  cmd->add_option("-o,--output", req->output_dir, "Folder for the quantized models (same file names)")->required();
  cmd->add_option("-j,--jobs", req->jobs, "Models quantized at the same time")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--shard", opt->shard, "Take share K of N (K/N, 1-based): models sorted by path, every N-th from the K-th")
      ->capture_default_str();
  cmd->add_flag("--skip-existing", req->skip_existing, "Do not quantize a model whose output file exists");
  cmd->add_option("--per-model", opt->per_model, "More quantize options for one model: FILE_NAME='OPTIONS' (repeatable; they win)");
  cmd->footer(
      "Everything after -- is passed to `onnxquant quantize` for each model.\n"
      "Exit code: 0 when every model succeeded (or was skipped), 1 when any failed.\n"
      "Examples:\n"
      "  onnxquant batch models/ -o int8/ --jobs 2 -- --static-int8 -i calib.npy -n 100\n"
      "  onnxquant batch models/ -o int8/ --shard $SLURM_ARRAY_TASK_ID/16 --skip-existing -- --static-int8 -i calib.npy");
  cmd->callback([req, opt, &global, &selected, &forwarded] {
    selected = [req, opt, &global, &forwarded] {
      req->shard = parse_shard(opt->shard);
      // Each child reads the same config file (its quantize section); options after -- still win.
      if (!global.config_file.empty()) req->quantize_args = {"--config", global.config_file};
      req->quantize_args.insert(req->quantize_args.end(), forwarded.begin(), forwarded.end());
      for (const auto& p : opt->per_model) {
        auto [name, args] = parse_per_model(p);
        auto& slot = req->per_model_args[name];
        slot.insert(slot.end(), args.begin(), args.end());
      }
      req->executable = this_executable();
      if (global.format == OutputFormat::Json || global.quiet || !::isatty(STDERR_FILENO)) req->progress = ProgressMode::Off;
      const BatchResult r = run_batch(*req);
      if (global.format == OutputFormat::Json) print_json(std::cout, to_json(r));
      else print_text(r);
      return r.all_succeeded() ? 0 : 1;
    };
  });
}

}  // namespace onnxquant::cli
