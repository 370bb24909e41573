// The data options every command that runs a model shares: same names, same syntax everywhere. The rules
// they follow (which file feeds which input, presets, checks) are documented in io/model_inputs.h.
#pragma once
#include <CLI/CLI.hpp>

#include "io/model_inputs.h"

namespace onnxquant::cli {

// Adds to `cmd`, in an "Input data" group: --input, --input-shape, --dim, --input-value, -n/--samples,
// --seed, --shuffle, --raw-shape, the image options (--preset, --size, --resize-shorter, --crop,
// --max-side, --mean, --std, --layout, --bgr), --skip-bad and --allow-nonfinite. They fill `options`
// when CLI11 parses; option text is validated by the io parsers (bad text is a usage error).
void add_input_options(CLI::App* cmd, InputOptions& options);

}  // namespace onnxquant::cli
