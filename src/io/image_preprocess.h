// Turns a decoded image into a model input tensor: resize, center crop, channel order, scale /255,
// mean/std, layout. Presets name the recipes models were trained with; explicit options override a
// preset's values one by one:
//   imagenet    RGB; shorter side to 256 (PIL bilinear, torchvision's size rule); center crop 224x224;
//               /255; mean [0.485,0.456,0.406], std [0.229,0.224,0.225]; NCHW. Matches torchvision's eval
//               transform on PIL (the corpus's data/imagenet224 tensors) bit for bit on 8-bit photos.
//   unit        RGB in [0,1]; no resize unless the model fixes H and W (then exactly H x W).
//   paddle-det  BGR; PaddleOCR's DetResizeForTest (limit_type 'max'): scale down so the longer side is at
//               most --max-side (960), then round each side to a multiple of 32 (at least 32), OpenCV-style
//               2-tap bilinear; /255; ImageNet mean/std applied to B,G,R in that order (PaddleOCR's quirk).
// Resizing with the `Antialiased` filter reproduces PIL's Image.resize(BILINEAR) exactly: a separable
// triangle filter whose support grows with the downscale factor, in PIL's fixed-point arithmetic, rows
// first, rounded to 8 bits between passes. `Linear` is OpenCV's INTER_LINEAR geometry (half-pixel
// centers, 2 taps, no antialiasing) computed in float, as the corpus's OCR preprocessing does.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/image_decode.h"

namespace onnxquant {

enum class ImageLayout { NCHW, NHWC };
enum class ChannelOrder { RGB, BGR };
enum class ResizeFilter { Antialiased, Linear };

// What the user asked for: a preset and explicit overrides (unset = take the preset's value).
struct ImageOptions {
  std::string preset;                           // "", "imagenet", "unit", "paddle-det"
  std::optional<std::array<int64_t, 2>> size;   // --size H,W: resize to exactly this
  std::optional<int64_t> resize_shorter;        // --resize-shorter N
  std::optional<std::array<int64_t, 2>> crop;   // --crop H,W: center crop after resizing
  std::optional<int64_t> max_side;              // --max-side N (paddle-det's limit)
  std::optional<std::vector<float>> mean, std;  // in the order of the output channels
  std::optional<ImageLayout> layout;            // default: from the model's input shape, else NCHW
  std::optional<ChannelOrder> order;            // --bgr
  DecodeLimits limits;
  bool any_explicit() const;  // any option besides the preset
};

const std::vector<std::string>& image_preset_names();

// A fully decided recipe.
struct ImagePreprocess {
  enum class Resize { None, Exact, Shorter, FitMultiple };
  Resize resize = Resize::None;
  int64_t height = 0, width = 0;  // Exact
  int64_t shorter = 0;            // Shorter
  int64_t max_side = 960, multiple = 32;  // FitMultiple
  ResizeFilter filter = ResizeFilter::Antialiased;
  std::optional<std::array<int64_t, 2>> crop;
  ChannelOrder order = ChannelOrder::RGB;
  int64_t channels = 3;  // 1: gray (PIL's "L" conversion) for single-channel models
  std::vector<float> mean{0.f}, std{1.f};  // one value, or one per channel
  ImageLayout layout = ImageLayout::NCHW;
  std::string description() const;  // for messages and --help-like summaries
};

// What the model's input says about the image it wants (unknown dims are -1).
struct ImageInputShape {
  std::optional<ImageLayout> layout;  // when the shape shows where the channels are
  int64_t channels = -1, height = -1, width = -1;
};
ImageInputShape image_input_shape(const Shape& model_shape);

// Preset + overrides + the model's fixed dims -> recipe. Throws UsageError for unknown presets and
// contradicting options (--size with --resize-shorter, mean/std of the wrong length).
ImagePreprocess resolve_image_preprocess(const ImageOptions& options, const ImageInputShape& model);

// Sizes along the way, for inputs that describe the image (PaddleDetection's im_shape, scale_factor).
struct ImageGeometry {
  int64_t source_height = 0, source_width = 0;    // decoded
  int64_t resized_height = 0, resized_width = 0;  // after resizing, before cropping
  int64_t height = 0, width = 0;                  // of the tensor
};

struct PreprocessedImage {
  Tensor tensor;  // float32, [1,C,H,W] or [1,H,W,C]
  ImageGeometry geometry;
};
PreprocessedImage preprocess_image(const Image8& image, const ImagePreprocess& recipe);

// The resamplers, exposed for tests.
Image8 resize_antialiased(const Image8& image, int64_t width, int64_t height);  // PIL BILINEAR
// Float HWC result of OpenCV-style INTER_LINEAR.
std::vector<float> resize_linear(const Image8& image, int64_t width, int64_t height);
Image8 to_gray(const Image8& rgb);  // PIL's convert("L"): ITU-R 601-2 luma in 16-bit fixed point

}  // namespace onnxquant
