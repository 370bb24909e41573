// The onnxquant command line as an object: global options, every subcommand, `--config` and
// `batch ... --`. The executable runs it on argv (run_command_line); the Python module builds the very
// same app from keyword arguments and runs the chosen command in-process, so both share one option
// table (names, checks, defaults, help).
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/config_file.h"
#include "core/errors.h"

namespace onnxquant::cli {

// One parse of one command line. Not copyable or movable: the subcommands' callbacks keep references to
// `global` and `selected`, so it lives behind the unique_ptr build_app returns.
struct CommandLine {
  CLI::App app{"onnxquant: quantize ONNX models for ONNX Runtime and prove the result", "onnxquant"};
  GlobalOptions global;
  CommandBody selected;       // set by parsing when a subcommand was chosen
  bool show_version = false;  // -V/--version
  std::shared_ptr<ConfigFileReader> config;  // when --config FILE was given
  std::vector<std::string> parsed;     // the arguments CLI11 parses (those before `batch ... --`)
  std::vector<std::string> forwarded;  // the arguments after `batch ... --`, handed to each quantize

  CommandLine() = default;
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;
};

// Builds the app for `args` (argv without the program name). `--config FILE` and `batch ... --` are
// looked for here because both change the app before parsing (config reader, forwarded arguments).
std::unique_ptr<CommandLine> build_app(const std::vector<std::string>& args);

// "onnxquant 0.1.0 (ONNX Runtime 1.30.0, ONNX 1.12.0)"
std::string version_text();

// A CLI11 parse error as the UsageError both front ends report: CLI11's message, plus the config file
// line that set the option when there is one, and the hint to ask for --help.
UsageError usage_error(const CLI::ParseError& e, const CommandLine& cl);

// For in-process callers (the Python module): parses cl.parsed and runs the chosen command. Unlike the
// executable it prints nothing itself and lets every error propagate (a bad option is usage_error(...);
// --help is a UsageError too: there is no terminal to print it on). Returns the command's exit code,
// which is non-zero only for documented outcomes that still produce a report (validate --fail-below).
int run_in_process(CommandLine& cl);

// The executable: parse, run, and map every error to one line on stderr plus a documented exit code.
int run_command_line(int argc, char** argv);

}  // namespace onnxquant::cli
