// onnxquant's entry point. The command line itself (options, subcommands, error reporting and exit
// codes) is built in cli/app.cpp, which the Python module shares. Interrupt cleanup belongs to the
// process, not to the library: a Python process handles its own signals.
#include "cli/app.h"
#include "core/interrupt.h"

int main(int argc, char** argv) {
  onnxquant::install_interrupt_cleanup();  // before any thread exists (core/interrupt.h)
  return onnxquant::cli::run_command_line(argc, argv);
}
