#include "cli/input_options.h"

#include "core/errors.h"

namespace onnxquant::cli {

void add_input_options(CLI::App* cmd, InputOptions& options) {
  cmd->add_option("-i,--input", options.files, "Input data: NAME=FILE.npy, FILE.npy (single-input models) or FILE.npz (keys = input names); repeatable")
      ->option_text("NAME=FILE");
  cmd->add_option_function<std::vector<std::string>>(
         "--input-shape",
         [&options](const std::vector<std::string>& items) {
           for (const auto& item : items) options.shapes.insert(parse_shape_assignment(item));
         },
         "Shape of a synthetic input, e.g. x=1,3,640,640; repeatable")
      ->option_text("NAME=D1,D2,...");
  cmd->add_option_function<std::vector<std::string>>(
         "--dim",
         [&options](const std::vector<std::string>& items) {
           for (const auto& item : items) options.dims.insert(parse_dim_assignment(item));
         },
         "Value of a symbolic dimension everywhere, e.g. batch=1; repeatable")
      ->option_text("NAME=N");
  cmd->add_option_function<std::vector<std::string>>(
         "--input-value",
         [&options](const std::vector<std::string>& items) {
           for (const auto& item : items) options.values.insert(parse_value_assignment(item));
         },
         "Fill an input with these values (repeated to its shape), e.g. scale_factor=1.0,1.0; repeatable")
      ->option_text("NAME=V1,V2,...");
  cmd->add_option("-n,--samples", options.max_samples, "Number of samples (default: all in the files, 1 synthetic)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", options.seed, "Seed for synthetic data");
}

}  // namespace onnxquant::cli
