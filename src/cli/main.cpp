// onnxquant's entry point. The command line itself (options, subcommands, error reporting and exit
// codes) is built in cli/app.cpp, which the Python module shares.
#include "cli/app.h"

int main(int argc, char** argv) { return onnxquant::cli::run_command_line(argc, argv); }
