// Inputs for running a model, from files or synthetic, behind one interface: InputSource yields one
// sample at a time (a map from input name to tensor). Every command that takes data uses it, with the
// same options (cli/input_options.h). Data is checked against the model's declared inputs (names,
// dtypes, ranks, fixed dims) when the source is built, from headers or the first sample, so a mismatch is
// a DataError before anything runs. Files are read sample by sample; large stacks never load whole.
//
// Choosing data: `--input` / `-i`, repeatable, each `PATH` or `NAME=PATH`.
//   FILE.npy          one input (NAME, or the model's only input). An array of the input's rank is cut
//                     along axis 0 into batches of the model's batch size (the fixed first dim, else the
//                     --dim value of its symbolic name, else 1); one rank higher, it is a stack whose axis
//                     0 counts samples. A 0-d array feeds a 0-d input once.
//   FILE.npz          every member feeds the input of its name, cut the same way (NAME=: only that member).
//   FILE.safetensors  every tensor feeds the input of its name, cut the same way, read by pread.
//   DIR               a folder (not recursive; hidden files skipped; other extensions ignored, e.g.
//                     index.txt), sorted by file name, holding ONE kind of data file:
//     *.jpg/*.jpeg/*.png  images for one image input (NAME, else the only input, else the only float
//                         rank-4 input), preprocessed by --preset and the image options (image_preprocess.h);
//                         see source_images.h for batching and im_shape/scale_factor companions.
//     *.npy               one sample of one input per file (the input's rank, or one lower: batch 1 added).
//     *.npz               one sample per file, members named after inputs.
//     *.bin               raw little-endian float32, one sample per file, shape from --raw-shape
//                         [NAME=]D1,D2,... (or the model's shape when fully fixed); the file size must match.
//   An empty folder, or one mixing kinds, is a DataError naming it.
// Inputs no file supplies are synthetic (source_synthetic.h), e.g. scale_factor next to an image folder.
// All file sources must give the same number of samples.
//
// Which samples: all of them, in order, or the first -n; with --shuffle a seeded (--seed) random subset
// of -n samples (files of a folder, rows of a stack) instead. With no files, -n synthetic samples (1).
// Checks while reading: NaN/Inf in float data is a DataError naming the sample's file (or index) and the
// input (InputOptions::check_finite turns it off). An image, .npy, .npz or .bin file of a folder that
// cannot be read stops the run, or with skip_bad is skipped and counted (InputSource::skipped()); such a
// source may then yield fewer samples than size() announced.
#pragma once
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "exec/executor.h"
#include "io/image_preprocess.h"

namespace onnxquant {

class Model;

struct InputOptions {
  std::vector<std::string> files;                     // --input: "NAME=PATH" or "PATH" (file or folder)
  std::map<std::string, Shape> shapes;                // --input-shape NAME=1,3,640,640
  std::map<std::string, int64_t> dims;                // --dim batch=1 (symbolic dim name -> value)
  std::map<std::string, std::vector<double>> values;  // --input-value NAME=1.0,1.0
  std::map<std::string, Shape> raw_shapes;            // --raw-shape [NAME=]1,3,224,224 ("" = any raw input)
  ImageOptions images;                                // --preset, --size, --mean, --std, --layout, --bgr, ...
  int64_t max_samples = 0;                            // 0: every sample the files hold (1 when synthetic)
  uint32_t seed = 0;                                  // synthetic values and --shuffle
  bool shuffle = false;                               // a seeded random subset instead of the first -n
  bool check_finite = true;                           // NaN/Inf in float data is a DataError
  bool skip_bad = false;                              // unreadable files of a folder are skipped and counted
};

// Size used for a symbolic or unknown spatial dim of a synthetic input when nothing says otherwise.
inline constexpr int64_t kDefaultSyntheticDim = 224;

class InputSource {
 public:
  InputSource(const std::vector<IoInfo>& model_inputs, const InputOptions& options);
  InputSource(InputSource&&) noexcept;
  ~InputSource();
  // The next sample, or nullopt when the data is exhausted (or max_samples reached).
  std::optional<NamedTensors> next();
  // Number of samples this source will yield (an upper bound when skip_bad skips files).
  int64_t size() const;
  // Restart from the first sample (same synthetic values and the same subset for the same seed).
  void rewind();
  // Files skipped so far because they could not be read ("file: reason"), with skip_bad.
  const std::vector<std::string>& skipped() const;
  // One line per input: where its data comes from (for logs and --dry-run style summaries).
  std::vector<std::string> describe() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The model's inputs as its graph declares them (graph inputs that are not initializers), which is what
// ORT reports for the model: lets a source be built before any session exists.
std::vector<IoInfo> declared_inputs(const Model& model);

// Convenience: all samples of a source (use for small counts; stream with InputSource otherwise).
std::vector<NamedTensors> load_model_inputs(const std::vector<IoInfo>& model_inputs, const InputOptions& options);

// Parsers for the CLI's option text (throw UsageError naming the option):
//   "NAME=1,3,224,224", "batch=1", "NAME=1.0,2.5", "[NAME=]1,3,224,224", "H,W" or "N" (square),
//   "0.5,0.5,0.5", "NCHW"/"NHWC".
std::pair<std::string, Shape> parse_shape_assignment(const std::string& text);
std::pair<std::string, int64_t> parse_dim_assignment(const std::string& text);
std::pair<std::string, std::vector<double>> parse_value_assignment(const std::string& text);
std::pair<std::string, Shape> parse_raw_shape(const std::string& text);
std::array<int64_t, 2> parse_height_width(const std::string& text, const std::string& option);
std::vector<float> parse_float_list(const std::string& text, const std::string& option);
ImageLayout parse_layout(const std::string& text);

}  // namespace onnxquant
