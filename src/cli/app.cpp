#include "cli/app.h"

#include <onnx/common/version.h>

#include <filesystem>
#include <iostream>
#include <string_view>

#include "core/version.h"
#include "exec/executor.h"

namespace onnxquant::cli {

namespace {

// One line naming what failed and where, plus a hint when there is one; the exit code says which kind.
int report_error(const Error& e) {
  std::cerr << "onnxquant: " << error_kind_name(e.kind()) << " error: " << e.what() << "\n";
  if (!e.hint().empty()) std::cerr << "hint: " << e.hint() << "\n";
  return e.exit_code();
}

void add_global_options(CommandLine& cl) {
  CLI::App& app = cl.app;
  app.require_subcommand(0, 1);
  app.fallthrough();
  const std::map<std::string, OutputFormat> formats{{"text", OutputFormat::Text}, {"json", OutputFormat::Json}};
  app.add_option("--format", cl.global.format, "Output format: text or json")
      ->transform(CLI::CheckedTransformer(formats, CLI::ignore_case))
      ->option_text("text|json");
  app.add_flag("-q,--quiet", cl.global.quiet, "Print only errors and the result");
  app.add_flag("-v,--verbose", cl.global.verbose, "More detail (repeat for more)");
  app.add_flag("-V,--version", cl.show_version, "Print versions of onnxquant, ONNX Runtime and ONNX");
}

// `--config FILE`: the reader is chosen before parsing, from the file's extension (cli/config_file.h).
void add_config_option(CommandLine& cl, const std::vector<char*>& argv) {
  cl.app.set_config("--config", "", "Read options from a YAML (.yaml/.yml) or TOML (.toml) file; command-line options win");
  if (const auto path = find_config_argument(static_cast<int>(argv.size()), const_cast<char**>(argv.data()))) {
    cl.config = std::make_shared<ConfigFileReader>(cl.app, *path);
    cl.app.config_formatter(cl.config);
    cl.global.config_file = std::filesystem::absolute(*path).string();
  }
}

// `batch ... -- QUANTIZE OPTIONS`: what follows the first `--` after `batch` is forwarded untouched.
void split_batch_arguments(CommandLine& cl, const std::vector<std::string>& args) {
  cl.parsed = args;
  bool batch_seen = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "batch") batch_seen = true;
    if (batch_seen && args[i] == "--") {
      cl.forwarded.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      cl.parsed.resize(i);
      return;
    }
  }
}

// argv-style view of `args` behind a program name, for CLI11 and find_config_argument.
std::vector<char*> argv_of(std::vector<std::string>& args, std::string& program) {
  std::vector<char*> argv{program.data()};
  for (auto& a : args) argv.push_back(a.data());
  return argv;
}

void parse(CommandLine& cl) {
  std::string program = "onnxquant";
  std::vector<std::string> args = cl.parsed;
  std::vector<char*> argv = argv_of(args, program);
  cl.app.parse(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

std::string version_text() {
  return std::string("onnxquant ") + ONNXQ_VERSION + " (ONNX Runtime " + runtime_version() + ", ONNX " + onnx::LAST_RELEASE_VERSION + ")";
}

std::unique_ptr<CommandLine> build_app(const std::vector<std::string>& args) {
  auto cl = std::make_unique<CommandLine>();
  split_batch_arguments(*cl, args);
  add_global_options(*cl);
  std::string program = "onnxquant";
  std::vector<std::string> before_forwarded = cl->parsed;
  add_config_option(*cl, argv_of(before_forwarded, program));
  add_inspect_command(cl->app, cl->global, cl->selected);
  add_diff_command(cl->app, cl->global, cl->selected);
  add_cast_command(cl->app, cl->global, cl->selected);
  add_run_command(cl->app, cl->global, cl->selected);
  add_calibrate_command(cl->app, cl->global, cl->selected);
  add_validate_command(cl->app, cl->global, cl->selected);
  add_benchmark_command(cl->app, cl->global, cl->selected);
  add_quantize_command(cl->app, cl->global, cl->selected);
  add_batch_command(cl->app, cl->global, cl->selected, cl->forwarded);
  return cl;
}

UsageError usage_error(const CLI::ParseError& e, const CommandLine& cl) {
  return UsageError(e.what() + (cl.config ? cl.config->locate(e.what()) : std::string()),
                    "run 'onnxquant --help' or 'onnxquant COMMAND --help'");
}

int run_in_process(CommandLine& cl) {
  try {
    parse(cl);
  } catch (const CLI::CallForHelp&) {
    throw UsageError("--help is for the command line", "see 'onnxquant COMMAND --help' for the options");
  } catch (const CLI::CallForAllHelp&) {
    throw UsageError("--help-all is for the command line", "see 'onnxquant COMMAND --help' for the options");
  } catch (const CLI::ParseError& e) {
    throw usage_error(e, cl);
  }
  if (!cl.selected) throw UsageError("no command given", "name one: inspect, calibrate, quantize, validate, ...");
  return cl.selected();
}

int run_command_line(int argc, char** argv) {
  std::unique_ptr<CommandLine> cl = build_app(std::vector<std::string>(argv + 1, argv + argc));
  try {
    parse(*cl);
  } catch (const CLI::CallForHelp& e) {
    return cl->app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return cl->app.exit(e);
  } catch (const CLI::ParseError& e) {
    const UsageError u = usage_error(e, *cl);
    std::cerr << "onnxquant: error: " << u.what() << "\nhint: " << u.hint() << "\n";
    return u.exit_code();
  } catch (const Error& e) {  // thrown by option callbacks that validate values (--dim, --input-shape, ...)
    return report_error(e);
  }
  if (cl->show_version) {
    std::cout << version_text() << "\n";
    return 0;
  }
  if (!cl->selected) {
    std::cout << cl->app.help();
    return static_cast<int>(ErrorKind::Usage);
  }
  try {
    return cl->selected();
  } catch (const Error& e) {
    return report_error(e);
  } catch (const std::bad_alloc&) {
    std::cerr << "onnxquant: out of memory\n";
    return static_cast<int>(ErrorKind::Internal);
  } catch (const std::exception& e) {
    std::cerr << "onnxquant: internal error: " << e.what() << "\n";
    return static_cast<int>(ErrorKind::Internal);
  }
}

}  // namespace onnxquant::cli
