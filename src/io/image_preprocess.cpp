#include "io/image_preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "core/errors.h"

namespace onnxquant {
namespace {

const std::vector<float> kImagenetMean{0.485f, 0.456f, 0.406f};
const std::vector<float> kImagenetStd{0.229f, 0.224f, 0.225f};

// ---- PIL's resampler (Pillow src/libImaging/Resample.c, 8 bits per channel) ------------------------

constexpr int kPrecisionBits = 32 - 8 - 2;  // PIL's PRECISION_BITS: 8-bit pixels times weights fit int32

struct Coefficients {
  int64_t ksize = 0;
  std::vector<int64_t> first, count;  // per output pixel: first input pixel and number of taps
  std::vector<int32_t> weights;       // ksize per output pixel, fixed point
};

// precompute_coeffs + normalize_coeffs_8bpc for the bilinear (triangle) filter of support 1: when
// shrinking, the filter is stretched by the scale so that every input pixel contributes (antialiasing).
Coefficients pil_coefficients(int64_t in_size, int64_t out_size) {
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;
  Coefficients c;
  c.ksize = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  c.first.resize(static_cast<size_t>(out_size));
  c.count.resize(static_cast<size_t>(out_size));
  c.weights.assign(static_cast<size_t>(out_size * c.ksize), 0);
  std::vector<double> k(static_cast<size_t>(c.ksize));
  for (int64_t xx = 0; xx < out_size; ++xx) {
    const double center = (static_cast<double>(xx) + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int64_t xmin = static_cast<int64_t>(center - support + 0.5);  // truncation, as PIL's (int) cast
    if (xmin < 0) xmin = 0;
    int64_t xmax = static_cast<int64_t>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int64_t x = 0; x < xmax; ++x) {
      double t = std::fabs((static_cast<double>(x + xmin) - center + 0.5) * ss);
      const double w = t < 1.0 ? 1.0 - t : 0.0;
      k[static_cast<size_t>(x)] = w;
      ww += w;
    }
    for (int64_t x = 0; x < xmax; ++x) {
      double w = ww != 0.0 ? k[static_cast<size_t>(x)] / ww : k[static_cast<size_t>(x)];
      c.weights[static_cast<size_t>(xx * c.ksize + x)] =
          static_cast<int32_t>(w < 0 ? -0.5 + w * (1 << kPrecisionBits) : 0.5 + w * (1 << kPrecisionBits));
    }
    c.first[static_cast<size_t>(xx)] = xmin;
    c.count[static_cast<size_t>(xx)] = xmax;
  }
  return c;
}

uint8_t clip8(int32_t v) {
  if (v >= (1 << kPrecisionBits << 8)) return 255;
  if (v <= 0) return 0;
  return static_cast<uint8_t>(v >> kPrecisionBits);
}

// Rows [row0, row0 + out.height) of `in`, resampled along x.
void resample_horizontal(const Image8& in, int64_t row0, const Coefficients& c, Image8& out) {
  const int64_t C = in.channels;
  for (int64_t y = 0; y < out.height; ++y) {
    const uint8_t* src = in.row(row0 + y);
    uint8_t* dst = out.row(y);
    for (int64_t xx = 0; xx < out.width; ++xx) {
      const int32_t* k = &c.weights[static_cast<size_t>(xx * c.ksize)];
      const uint8_t* s = src + c.first[static_cast<size_t>(xx)] * C;
      for (int64_t ch = 0; ch < C; ++ch) {
        int32_t ss = 1 << (kPrecisionBits - 1);
        for (int64_t x = 0; x < c.count[static_cast<size_t>(xx)]; ++x) ss += s[x * C + ch] * k[x];
        dst[xx * C + ch] = clip8(ss);
      }
    }
  }
}

void resample_vertical(const Image8& in, int64_t row_shift, const Coefficients& c, Image8& out) {
  const int64_t C = in.channels, stride = in.width * C;
  for (int64_t yy = 0; yy < out.height; ++yy) {
    const int32_t* k = &c.weights[static_cast<size_t>(yy * c.ksize)];
    const uint8_t* src = in.row(c.first[static_cast<size_t>(yy)] - row_shift);
    const int64_t taps = c.count[static_cast<size_t>(yy)];
    uint8_t* dst = out.row(yy);
    for (int64_t i = 0; i < stride; ++i) {
      int32_t ss = 1 << (kPrecisionBits - 1);
      for (int64_t y = 0; y < taps; ++y) ss += src[y * stride + i] * k[y];
      dst[i] = clip8(ss);
    }
  }
}

std::vector<float> to_float(const Image8& image) { return std::vector<float>(image.pixels.begin(), image.pixels.end()); }

// numpy/Python round(): halves to even, which std::nearbyint does in the default rounding mode.
int64_t round_half_even(double v) { return static_cast<int64_t>(std::nearbyint(v)); }

std::array<int64_t, 2> resized_size(const ImagePreprocess& r, int64_t h, int64_t w) {  // {height, width}
  switch (r.resize) {
    case ImagePreprocess::Resize::None: return {h, w};
    case ImagePreprocess::Resize::Exact: return {r.height, r.width};
    case ImagePreprocess::Resize::Shorter:  // torchvision's rule: long side = int(size * long / short)
      if (w <= h) return {static_cast<int64_t>(static_cast<double>(r.shorter * h) / static_cast<double>(w)), r.shorter};
      return {r.shorter, static_cast<int64_t>(static_cast<double>(r.shorter * w) / static_cast<double>(h))};
    case ImagePreprocess::Resize::FitMultiple: {  // PaddleOCR DetResizeForTest, limit_type 'max'
      const double ratio = std::max(h, w) > r.max_side ? static_cast<double>(r.max_side) / static_cast<double>(std::max(h, w)) : 1.0;
      auto side = [&](int64_t v) {
        const auto truncated = static_cast<int64_t>(static_cast<double>(v) * ratio);
        return std::max(round_half_even(static_cast<double>(truncated) / static_cast<double>(r.multiple)) * r.multiple, r.multiple);
      };
      return {side(h), side(w)};
    }
  }
  return {h, w};
}

std::string list_text(const std::vector<float>& v) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < v.size(); ++i) s << (i ? "," : "") << v[i];
  return s.str() + "]";
}

}  // namespace

bool ImageOptions::any_explicit() const {
  return size || resize_shorter || crop || max_side || mean || std || layout || order;
}

const std::vector<std::string>& image_preset_names() {
  static const std::vector<std::string> names{"imagenet", "unit", "paddle-det"};
  return names;
}

Image8 resize_antialiased(const Image8& in, int64_t width, int64_t height) {
  if (width <= 0 || height <= 0) throw DataError("cannot resize an image to " + std::to_string(width) + "x" + std::to_string(height));
  const bool need_h = width != in.width, need_v = height != in.height;
  if (!need_h && !need_v) return in;
  const Coefficients vert = pil_coefficients(in.height, height);
  // Only the input rows the vertical pass reads go through the horizontal pass (as in PIL).
  const int64_t row_first = vert.first.front(), row_last = vert.first.back() + vert.count.back();
  Image8 tmp;
  const Image8* src = &in;
  int64_t shift = 0;
  if (need_h) {
    tmp.width = width, tmp.height = need_v ? row_last - row_first : in.height, tmp.channels = in.channels;
    tmp.pixels.resize(static_cast<size_t>(tmp.width * tmp.height * tmp.channels));
    resample_horizontal(in, need_v ? row_first : 0, pil_coefficients(in.width, width), tmp);
    if (!need_v) return tmp;
    src = &tmp;
    shift = row_first;
  }
  Image8 out;
  out.width = width, out.height = height, out.channels = in.channels;
  out.pixels.resize(static_cast<size_t>(width * height * in.channels));
  resample_vertical(*src, shift, vert, out);
  return out;
}

std::vector<float> resize_linear(const Image8& in, int64_t width, int64_t height) {
  struct Tap { int64_t i0, i1; float f; };
  auto taps = [](int64_t n_out, int64_t n_in) {
    std::vector<Tap> t(static_cast<size_t>(n_out));
    const double ratio = static_cast<double>(n_in) / static_cast<double>(n_out);
    for (int64_t i = 0; i < n_out; ++i) {
      const double x = std::clamp((static_cast<double>(i) + 0.5) * ratio - 0.5, 0.0, static_cast<double>(n_in - 1));
      const auto i0 = static_cast<int64_t>(std::floor(x));
      t[static_cast<size_t>(i)] = {i0, std::min(i0 + 1, n_in - 1), static_cast<float>(x - static_cast<double>(i0))};
    }
    return t;
  };
  const auto ty = taps(height, in.height), tx = taps(width, in.width);
  const int64_t C = in.channels;
  std::vector<float> out(static_cast<size_t>(width * height * C));
  for (int64_t y = 0; y < height; ++y) {
    const Tap& ay = ty[static_cast<size_t>(y)];
    const uint8_t *r0 = in.row(ay.i0), *r1 = in.row(ay.i1);
    for (int64_t x = 0; x < width; ++x) {
      const Tap& ax = tx[static_cast<size_t>(x)];
      for (int64_t c = 0; c < C; ++c) {
        // Same float32 operations, in the same order, as the reference numpy code.
        const float top = static_cast<float>(r0[ax.i0 * C + c]) * (1.f - ax.f) + static_cast<float>(r0[ax.i1 * C + c]) * ax.f;
        const float bot = static_cast<float>(r1[ax.i0 * C + c]) * (1.f - ax.f) + static_cast<float>(r1[ax.i1 * C + c]) * ax.f;
        out[static_cast<size_t>((y * width + x) * C + c)] = top * (1.f - ay.f) + bot * ay.f;
      }
    }
  }
  return out;
}

Image8 to_gray(const Image8& rgb) {
  if (rgb.channels == 1) return rgb;
  Image8 g;
  g.width = rgb.width, g.height = rgb.height, g.channels = 1;
  const size_t n = static_cast<size_t>(rgb.width * rgb.height);
  g.pixels.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &rgb.pixels[i * 3];
    g.pixels[i] = static_cast<uint8_t>((p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 0x8000u) >> 16);
  }
  return g;
}

ImageInputShape image_input_shape(const Shape& s) {
  ImageInputShape m;
  if (s.size() != 3 && s.size() != 4) return m;
  const size_t b = s.size() - 3;  // 1 when there is a batch axis
  auto is_channels = [](int64_t d) { return d == 1 || d == 3; };
  if (is_channels(s[b])) {
    m.layout = ImageLayout::NCHW, m.channels = s[b], m.height = s[b + 1], m.width = s[b + 2];
  } else if (is_channels(s[b + 2])) {
    m.layout = ImageLayout::NHWC, m.channels = s[b + 2], m.height = s[b], m.width = s[b + 1];
  } else if (s[b] > 0) {
    m.channels = s[b];  // a fixed channel count images cannot give; resolve_image_preprocess reports it
  }
  return m;
}

ImagePreprocess resolve_image_preprocess(const ImageOptions& o, const ImageInputShape& model) {
  ImagePreprocess r;
  if (o.preset == "imagenet") {
    r.resize = ImagePreprocess::Resize::Shorter, r.shorter = 256, r.crop = std::array<int64_t, 2>{224, 224};
    r.mean = kImagenetMean, r.std = kImagenetStd;
  } else if (o.preset == "paddle-det") {
    r.resize = ImagePreprocess::Resize::FitMultiple, r.filter = ResizeFilter::Linear, r.order = ChannelOrder::BGR;
    r.mean = kImagenetMean, r.std = kImagenetStd;
  } else if (o.preset == "unit" || (o.preset.empty() && o.any_explicit())) {
    // defaults above: RGB in [0,1]
  } else if (o.preset.empty()) {
    throw UsageError("a folder of images needs a preprocessing recipe",
                     "add --preset imagenet|unit|paddle-det, or explicit --size/--mean/--std/--layout/--bgr");
  } else {
    throw UsageError("unknown image preset '" + o.preset + "'", "use one of: imagenet, unit, paddle-det");
  }
  if (o.size && o.resize_shorter) throw UsageError("--size and --resize-shorter contradict each other; give one");
  if (o.size) r.resize = ImagePreprocess::Resize::Exact, r.height = (*o.size)[0], r.width = (*o.size)[1];
  if (o.resize_shorter) r.resize = ImagePreprocess::Resize::Shorter, r.shorter = *o.resize_shorter;
  if (o.max_side) {
    if (r.resize != ImagePreprocess::Resize::FitMultiple) throw UsageError("--max-side applies to the paddle-det resize only");
    r.max_side = *o.max_side;
  }
  if (o.crop) r.crop = *o.crop;
  if (o.mean) r.mean = *o.mean;
  if (o.std) r.std = *o.std;
  if (o.order) r.order = *o.order;
  r.layout = o.layout ? *o.layout : model.layout.value_or(ImageLayout::NCHW);
  if (model.channels > 0 && model.channels != 1 && model.channels != 3)
    throw DataError("the image input has " + std::to_string(model.channels) + " channels; images give 1 (gray) or 3 (RGB/BGR)",
                    "check --layout, or feed this input from .npy files");
  r.channels = model.channels == 1 ? 1 : 3;
  for (const auto* v : {&r.mean, &r.std})
    if (v->size() != 1 && v->size() != static_cast<size_t>(r.channels))
      throw UsageError("--mean/--std need 1 or " + std::to_string(r.channels) + " values, got " + std::to_string(v->size()));
  for (float s : r.std)
    if (s == 0.f || !std::isfinite(s)) throw UsageError("--std values must be finite and non-zero");
  for (int64_t v : {r.height, r.width, r.shorter, r.max_side})
    if (v < 0) throw UsageError("image sizes must be positive");
  // Nothing fixes the output size but the model does: resize straight to what it wants.
  if (r.resize == ImagePreprocess::Resize::None && !r.crop && model.height > 0 && model.width > 0)
    r.resize = ImagePreprocess::Resize::Exact, r.height = model.height, r.width = model.width;
  return r;
}

std::string ImagePreprocess::description() const {
  std::ostringstream s;
  s << (channels == 1 ? "gray" : order == ChannelOrder::RGB ? "RGB" : "BGR");
  const char* how = filter == ResizeFilter::Antialiased ? " (antialiased bilinear)" : " (2-tap bilinear)";
  switch (resize) {
    case Resize::None: break;
    case Resize::Exact: s << ", resize to " << height << "x" << width << how; break;
    case Resize::Shorter: s << ", shorter side to " << shorter << how; break;
    case Resize::FitMultiple: s << ", longer side at most " << max_side << ", sides multiples of " << multiple << how; break;
  }
  if (crop) s << ", center crop " << (*crop)[0] << "x" << (*crop)[1];
  s << ", /255, mean " << list_text(mean) << ", std " << list_text(std) << (layout == ImageLayout::NCHW ? ", NCHW" : ", NHWC");
  return s.str();
}

PreprocessedImage preprocess_image(const Image8& decoded, const ImagePreprocess& r) {
  PreprocessedImage out;
  ImageGeometry& g = out.geometry;
  g.source_height = decoded.height, g.source_width = decoded.width;
  const Image8 image = r.channels == 1 ? to_gray(decoded) : decoded;
  const auto [rh, rw] = resized_size(r, image.height, image.width);
  if (rh <= 0 || rw <= 0) throw DataError("image of " + std::to_string(image.width) + "x" + std::to_string(image.height) + " resizes to nothing");
  g.resized_height = rh, g.resized_width = rw;
  const std::vector<float> pixels = r.filter == ResizeFilter::Linear ? resize_linear(image, rw, rh) : to_float(resize_antialiased(image, rw, rh));
  const int64_t C = image.channels;
  const int64_t H = r.crop ? (*r.crop)[0] : rh, W = r.crop ? (*r.crop)[1] : rw;
  // Center crop: torchvision rounds the offset half-to-even and, for a crop larger than the image, pads
  // with zeros so the image sits at (crop - size) / 2, rounded down.
  auto offset = [](int64_t size, int64_t crop) {
    return size >= crop ? round_half_even(static_cast<double>(size - crop) / 2.0) : -((crop - size) / 2);
  };
  const int64_t top = offset(rh, H), left = offset(rw, W);
  g.height = H, g.width = W;
  out.tensor = r.layout == ImageLayout::NCHW ? Tensor(DType::Float32, {1, C, H, W}) : Tensor(DType::Float32, {1, H, W, C});
  auto dst = out.tensor.as<float>();
  for (int64_t c = 0; c < C; ++c) {
    const int64_t src_c = (r.order == ChannelOrder::BGR && C == 3) ? 2 - c : c;
    const float mean = r.mean.size() == 1 ? r.mean[0] : r.mean[static_cast<size_t>(c)];
    const float sd = r.std.size() == 1 ? r.std[0] : r.std[static_cast<size_t>(c)];
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        const int64_t sy = y + top, sx = x + left;
        const float v = (sy >= 0 && sy < rh && sx >= 0 && sx < rw) ? pixels[static_cast<size_t>((sy * rw + sx) * C + src_c)] : 0.f;
        // Division, not multiplication by a reciprocal: the float32 result then equals numpy's a/255.0.
        const float value = (v / 255.0f - mean) / sd;
        const int64_t at = r.layout == ImageLayout::NCHW ? (c * H + y) * W + x : (y * W + x) * C + c;
        dst[static_cast<size_t>(at)] = value;
      }
  }
  return out;
}

}  // namespace onnxquant
