// onnxquant's entry point: global options, subcommand dispatch, and the one place where errors become
// a single readable line and a documented exit code (README "Exit codes").
#include <onnx/common/version.h>

#include <cstdio>
#include <iostream>
#include <string_view>
#include <vector>

#include "cli/command.h"
#include "cli/config_file.h"
#include "core/errors.h"
#include "core/interrupt.h"
#include "core/version.h"
#include "exec/executor.h"

using namespace onnxquant;

namespace {

std::string version_text() {
  return std::string("onnxquant ") + ONNXQ_VERSION + " (ONNX Runtime " + runtime_version() + ", ONNX " + onnx::LAST_RELEASE_VERSION + ")";
}

// One line naming what failed and where, plus a hint when there is one; the exit code says which kind.
int report_error(const Error& e) {
  std::cerr << "onnxquant: " << error_kind_name(e.kind()) << " error: " << e.what() << "\n";
  if (!e.hint().empty()) std::cerr << "hint: " << e.hint() << "\n";
  return e.exit_code();
}

}  // namespace

int main(int argc, char** argv) {
  install_interrupt_cleanup();  // before any thread exists (core/interrupt.h)
  CLI::App app{"onnxquant: quantize ONNX models for ONNX Runtime and prove the result", "onnxquant"};
  app.require_subcommand(0, 1);
  app.fallthrough();
  cli::GlobalOptions global;
  const std::map<std::string, cli::OutputFormat> formats{{"text", cli::OutputFormat::Text}, {"json", cli::OutputFormat::Json}};
  app.add_option("--format", global.format, "Output format: text or json")
      ->transform(CLI::CheckedTransformer(formats, CLI::ignore_case))
      ->option_text("text|json");
  app.add_flag("-q,--quiet", global.quiet, "Print only errors and the result");
  app.add_flag("-v,--verbose", global.verbose, "More detail (repeat for more)");
  bool show_version = false;
  app.add_flag("-V,--version", show_version, "Print versions of onnxquant, ONNX Runtime and ONNX");

  // --config FILE: the reader is chosen before parsing, from the file's extension (cli/config_file.h).
  app.set_config("--config", "", "Read options from a YAML (.yaml/.yml) or TOML (.toml) file; command-line options win");
  std::shared_ptr<cli::ConfigFileReader> config;
  if (const auto path = cli::find_config_argument(argc, argv)) {
    config = std::make_shared<cli::ConfigFileReader>(app, *path);
    app.config_formatter(config);
    global.config_file = std::filesystem::absolute(*path).string();
  }

  cli::CommandBody selected;
  cli::add_inspect_command(app, global, selected);
  cli::add_diff_command(app, global, selected);
  cli::add_cast_command(app, global, selected);
  cli::add_run_command(app, global, selected);
  cli::add_calibrate_command(app, global, selected);
  cli::add_validate_command(app, global, selected);
  cli::add_benchmark_command(app, global, selected);
  cli::add_quantize_command(app, global, selected);
  // `batch ... -- QUANTIZE OPTIONS`: what follows the first `--` after `batch` is forwarded untouched.
  std::vector<std::string> forwarded;
  int parsed_argc = argc;
  for (int i = 1, batch_seen = 0; i < argc; ++i) {
    if (std::string_view(argv[i]) == "batch") batch_seen = 1;
    if (batch_seen && std::string_view(argv[i]) == "--") {
      forwarded.assign(argv + i + 1, argv + argc);
      parsed_argc = i;
      break;
    }
  }
  cli::add_batch_command(app, global, selected, forwarded);

  try {
    app.parse(parsed_argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "onnxquant: error: " << e.what() << (config ? config->locate(e.what()) : "") << "\n";
    std::cerr << "hint: run 'onnxquant --help' or 'onnxquant COMMAND --help'\n";
    return static_cast<int>(ErrorKind::Usage);
  } catch (const Error& e) {  // thrown by option callbacks that validate values (--dim, --input-shape, ...)
    return report_error(e);
  }
  if (show_version) {
    std::cout << version_text() << "\n";
    return 0;
  }
  if (!selected) {
    std::cout << app.help();
    return static_cast<int>(ErrorKind::Usage);
  }
  try {
    return selected();
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
