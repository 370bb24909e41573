// Shared plumbing of the CLI: global options and how subcommands register. Each subcommand lives in its
// own file, parses options into the library's request struct and calls the library; no logic here that
// the Python module would miss.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "pipeline/calibrate_job.h"

namespace onnxquant::cli {

enum class OutputFormat { Text, Json };

struct GlobalOptions {
  OutputFormat format = OutputFormat::Text;
  bool quiet = false;
  int verbose = 0;
  std::string config_file;  // --config FILE, absolute; empty when none
  // Never set from the command line: the Python module hands calibration samples over in memory here
  // (NumPy arrays, data loaders), and `calibrate` then reads them instead of -i.
  SampleProvider samples;
};

// A subcommand's body: returns the exit code. Errors are thrown (onnxquant::Error) and mapped by main.
using CommandBody = std::function<int()>;

// Each add_*_command creates its subcommand on `app`; when the user picks it, CLI11 calls back and the
// body is stored in `selected` for main to run after parsing.
void add_inspect_command(CLI::App& app, const GlobalOptions& global, CommandBody& selected);
void add_diff_command(CLI::App& app, const GlobalOptions& global, CommandBody& selected);
void add_cast_command(CLI::App& app, const GlobalOptions& global, CommandBody& selected);
void add_run_command(CLI::App& app, const GlobalOptions& global, CommandBody& selected);
void add_calibrate_command(CLI::App& app, const GlobalOptions& global, CommandBody& selected);
void add_validate_command(CLI::App& app, const GlobalOptions& global, CommandBody& selected);
void add_benchmark_command(CLI::App& app, const GlobalOptions& global, CommandBody& selected);
void add_quantize_command(CLI::App& app, const GlobalOptions& global, CommandBody& selected);
// `forwarded`: the arguments after `--` (main splits them off before parsing), given to each quantize.
void add_batch_command(CLI::App& app, const GlobalOptions& global, CommandBody& selected, const std::vector<std::string>& forwarded);

}  // namespace onnxquant::cli
