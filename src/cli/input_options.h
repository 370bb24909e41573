// The data options every command that runs a model shares: same names, same syntax everywhere.
#pragma once
#include <CLI/CLI.hpp>

#include "io/model_inputs.h"

namespace onnxquant::cli {

// Adds --input, --input-shape, --dim, --input-value, -n/--samples and --seed to `cmd`, filling
// `options` when CLI11 parses (assignments are validated by the io parsers: bad text is a usage error).
void add_input_options(CLI::App* cmd, InputOptions& options);

}  // namespace onnxquant::cli
