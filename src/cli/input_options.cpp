#include "cli/input_options.h"

#include "core/errors.h"

namespace onnxquant::cli {

namespace {
constexpr const char* kGroup = "Input data";

// A repeatable NAME=... option whose items go through `parse` into `target`.
template <typename Map, typename Parse>
void add_assignments(CLI::App* cmd, const std::string& flag, Map& target, Parse parse, const std::string& help, const std::string& text) {
  cmd->add_option_function<std::vector<std::string>>(
         flag,
         [&target, parse](const std::vector<std::string>& items) {
           for (const auto& item : items) {
             auto [key, value] = parse(item);
             target.insert_or_assign(key, value);  // the last one given wins
           }
         },
         help)
      ->option_text(text)
      ->group(kGroup);
}
}  // namespace

void add_input_options(CLI::App* cmd, InputOptions& options) {
  cmd->add_option("-i,--input", options.files,
                  "Input data, repeatable: [NAME=]PATH. PATH is a .npy (stack or batches), .npz or .safetensors (arrays named "
                  "after inputs), .bin (raw float32, see --raw-shape), an image, or a folder of one kind of them "
                  "(images, .npy, .npz or .bin; one sample per file, sorted by name). Inputs without data are synthetic")
      ->option_text("[NAME=]PATH")
      ->group(kGroup);
  add_assignments(cmd, "--input-shape", options.shapes, parse_shape_assignment, "Shape of a synthetic input, e.g. x=1,3,640,640; repeatable",
                  "NAME=D1,D2,...");
  add_assignments(cmd, "--dim", options.dims, parse_dim_assignment, "Value of a symbolic dimension everywhere, e.g. batch=1; repeatable",
                  "NAME=N");
  add_assignments(cmd, "--input-value", options.values, parse_value_assignment,
                  "Fill an input with these values (repeated to its shape), e.g. scale_factor=1.0,1.0; repeatable", "NAME=V1,V2,...");
  add_assignments(cmd, "--raw-shape", options.raw_shapes, parse_raw_shape,
                  "Shape of each raw float32 .bin file, e.g. 1,3,224,224, or per input x=1,3,224,224; repeatable", "[NAME=]D1,D2,...");
  cmd->add_option("-n,--samples", options.max_samples, "Number of samples (default: all in the files, 1 synthetic)")
      ->check(CLI::NonNegativeNumber)
      ->group(kGroup);
  cmd->add_option("--seed", options.seed, "Seed for synthetic data and --shuffle")->group(kGroup);
  cmd->add_flag("--shuffle", options.shuffle, "Take a seeded random subset of -n samples instead of the first ones")->group(kGroup);

  ImageOptions& img = options.images;
  cmd->add_option("--preset", img.preset, "Image preprocessing: imagenet (resize 256, crop 224, mean/std), unit (RGB in [0,1]), "
                                          "paddle-det (BGR, sides multiples of 32); the options below override its values")
      ->check(CLI::IsMember(image_preset_names()))
      ->group(kGroup);
  cmd->add_option_function<std::string>(
         "--size", [&img](const std::string& t) { img.size = parse_height_width(t, "--size"); }, "Resize images to exactly H,W")
      ->option_text("H,W")
      ->group(kGroup);
  cmd->add_option_function<int64_t>(
         "--resize-shorter", [&img](int64_t n) { img.resize_shorter = n; }, "Resize images so the shorter side is N (aspect kept)")
      ->check(CLI::PositiveNumber)
      ->option_text("N")
      ->group(kGroup);
  cmd->add_option_function<std::string>(
         "--crop", [&img](const std::string& t) { img.crop = parse_height_width(t, "--crop"); }, "Center crop H,W after resizing")
      ->option_text("H,W")
      ->group(kGroup);
  cmd->add_option_function<int64_t>(
         "--max-side", [&img](int64_t n) { img.max_side = n; }, "paddle-det: longest image side limit (default 960)")
      ->check(CLI::PositiveNumber)
      ->option_text("N")
      ->group(kGroup);
  cmd->add_option_function<std::string>(
         "--mean", [&img](const std::string& t) { img.mean = parse_float_list(t, "--mean"); },
         "Per-channel mean subtracted after /255, in output channel order")
      ->option_text("M1,M2,M3")
      ->group(kGroup);
  cmd->add_option_function<std::string>(
         "--std", [&img](const std::string& t) { img.std = parse_float_list(t, "--std"); }, "Per-channel std divided by after the mean")
      ->option_text("S1,S2,S3")
      ->group(kGroup);
  cmd->add_option_function<std::string>(
         "--layout", [&img](const std::string& t) { img.layout = parse_layout(t); },
         "Image tensor layout (default: from the model's input shape, else NCHW)")
      ->option_text("NCHW|NHWC")
      ->group(kGroup);
  cmd->add_flag_callback("--bgr", [&img] { img.order = ChannelOrder::BGR; }, "Channels in B,G,R order")->group(kGroup);
  cmd->add_flag("--skip-bad", options.skip_bad, "Skip files that cannot be read (counted) instead of stopping")->group(kGroup);
  cmd->add_flag_callback("--allow-nonfinite", [&options] { options.check_finite = false; }, "Accept NaN/Inf in input data")->group(kGroup);
}

}  // namespace onnxquant::cli
