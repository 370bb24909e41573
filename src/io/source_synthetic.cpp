#include "io/source_synthetic.h"

#include <algorithm>
#include <cctype>
#include <random>

#include "core/half.h"
#include "io/image_preprocess.h"

namespace onnxquant::sources {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool is_integer(DType t) { return !dtype_is_float(t) && t != DType::Bool && dtype_size(t) > 0; }

bool one_element(const IoInfo& in) {
  return in.shape.empty() || (in.shape.size() == 1 && (in.shape[0] == 1 || in.shape[0] < 0));
}

// {height, width} of an image tensor shaped like `model_shape` (layout from it, NCHW when unclear).
std::array<double, 2> image_hw(const Shape& tensor_shape, const Shape& model_shape) {
  const ImageInputShape m = image_input_shape(model_shape);
  const size_t b = tensor_shape.size() - 3;
  if (m.layout == ImageLayout::NHWC) return {static_cast<double>(tensor_shape[b]), static_cast<double>(tensor_shape[b + 1])};
  return {static_cast<double>(tensor_shape[b + 1]), static_cast<double>(tensor_shape[b + 2])};
}

class SyntheticFeed : public Feed {
 public:
  SyntheticFeed(const IoInfo& in, const std::vector<IoInfo>& all, const InputOptions& o)
      : in_(in), role_(input_role(in)), shape_(synthetic_shape(in, all, o)), seed_(o.seed) {
    if (dtype_size(in.dtype) == 0)
      throw UnsupportedOpError("input '" + in.name + "' has type " + dtype_name(in.dtype) + ", which cannot be synthesized");
    if (auto it = o.values.find(in.name); it != o.values.end()) {
      values_ = it->second;
      role_ = InputRole::Data;
      if (values_.empty()) throw UsageError("--input-value " + in.name + " has no values");
      const int64_t n = element_count(shape_);
      if (n % static_cast<int64_t>(values_.size()) != 0)
        throw UsageError("--input-value " + in.name + ": " + std::to_string(values_.size()) + " values do not fill shape " + shape_string(shape_));
    }
    if (const IoInfo* image = primary_image_input(all); image && image->name != in.name) {
      image_ = *image;
      const Shape s = synthetic_shape(*image, all, o);
      default_hw_ = image_hw(s, image->shape);
    }
  }
  std::vector<std::string> inputs() const override { return {in_.name}; }
  int64_t samples() const override { return -1; }

  void fill(int64_t index, NamedTensors& sample) const override {
    if (role_ == InputRole::ImageShape) {
      // The size of the image actually in this sample, whatever fed it.
      std::array<double, 2> hw = default_hw_;
      int64_t items = in_.shape.size() == 2 ? shape_[0] : 1;
      if (auto it = sample.find(image_.name); !image_.name.empty() && it != sample.end() && it->second.shape.size() >= 3) {
        hw = image_hw(it->second.shape, image_.shape);
        if (it->second.shape.size() == 4 && in_.shape.size() == 2) items = it->second.shape[0];
      }
      sample[in_.name] = pairs_tensor(in_, std::vector<std::array<double, 2>>(static_cast<size_t>(items), hw));
      return;
    }
    Tensor t(in_.dtype, shape_);
    std::mt19937 rng(seed_ * 7919u + static_cast<uint32_t>(index) * 104729u + std::hash<std::string>{}(in_.name) % 65521u);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::uniform_int_distribution<int> small(0, 9);
    fill_elements(t, [&](int64_t i) -> double {
      if (!values_.empty()) return values_[static_cast<size_t>(i) % values_.size()];
      switch (role_) {
        case InputRole::ScaleFactor: return 1.0;
        case InputRole::SampleRate: return 16000.0;
        case InputRole::RecurrentState: return 0.0;
        default: break;
      }
      if (dtype_is_float(in_.dtype)) return std::clamp(normal(rng), -2.5, 2.5);
      if (in_.dtype == DType::Bool) return 0.0;
      return small(rng);
    });
    sample[in_.name] = std::move(t);
  }
  std::string origin(int64_t) const override { return "synthetic data"; }
  std::string description() const override {
    static const char* kRole[] = {"", " (image size)", " (scale factor 1)", " (sample rate 16000)", " (recurrent state, zeros)"};
    return "synthetic " + dtype_name(in_.dtype) + shape_string(shape_) + " -> '" + in_.name + "'" +
           (values_.empty() ? kRole[static_cast<int>(role_)] : " (--input-value)");
  }

 private:
  IoInfo in_;
  InputRole role_;
  Shape shape_;
  uint32_t seed_;
  std::vector<double> values_;
  IoInfo image_;  // the primary image input, for im_shape
  std::array<double, 2> default_hw_{kDefaultSyntheticDim, kDefaultSyntheticDim};
};

}  // namespace

InputRole input_role(const IoInfo& in) {
  const std::string n = lower(in.name);
  const bool pair = !in.shape.empty() && (in.shape.back() == 2 || in.shape.back() < 0);
  if (pair && (n == "im_shape" || n == "image_shape" || n == "img_shape" || n == "im_size" || n == "image_size" || n == "orig_size" ||
               n == "orig_target_sizes"))
    return InputRole::ImageShape;
  if (pair && dtype_is_float(in.dtype) && n == "scale_factor") return InputRole::ScaleFactor;
  if (is_integer(in.dtype) && one_element(in) && (n == "sr" || n == "sample_rate" || n == "sampling_rate" || n == "samplerate"))
    return InputRole::SampleRate;
  if (dtype_is_float(in.dtype) && (n.find("state") != std::string::npos || n.find("hidden") != std::string::npos ||
                                   n.find("cache") != std::string::npos || n.rfind("past", 0) == 0 || n == "h" || n == "c" || n == "h0" ||
                                   n == "c0" || n == "hx" || n == "cx"))
    return InputRole::RecurrentState;
  return InputRole::Data;
}

const IoInfo* primary_image_input(const std::vector<IoInfo>& inputs) {
  if (inputs.size() == 1) return &inputs[0];
  const IoInfo* found = nullptr;
  for (const auto& in : inputs) {
    if (!dtype_is_float(in.dtype) || input_role(in) != InputRole::Data) continue;
    if (in.shape.size() != 4 && !(in.shape.size() == 3 && image_input_shape(in.shape).layout)) continue;
    if (found) return nullptr;
    found = &in;
  }
  return found;
}

Shape synthetic_shape(const IoInfo& in, const std::vector<IoInfo>& all, const InputOptions& o) {
  if (auto it = o.shapes.find(in.name); it != o.shapes.end()) {
    if (it->second.size() != in.shape.size())
      throw UsageError("--input-shape " + in.name + ": rank " + std::to_string(it->second.size()) + ", the model wants rank " +
                       std::to_string(in.shape.size()) + " " + shape_string(in.shape));
    for (size_t i = 0; i < in.shape.size(); ++i)
      if (in.shape[i] > 0 && in.shape[i] != it->second[i])
        throw UsageError("--input-shape " + in.name + "=" + shape_string(it->second) + " contradicts the model's " + shape_string(in.shape));
    return it->second;
  }
  auto batch_like = [&](const std::string& dim) {
    if (lower(dim).find("batch") != std::string::npos) return true;
    for (const auto& other : all)
      if (!other.dim_names.empty() && other.dim_names[0] == dim) return true;
    return false;
  };
  Shape s;
  for (size_t i = 0; i < in.shape.size(); ++i) {
    if (in.shape[i] >= 0) { s.push_back(in.shape[i]); continue; }
    const std::string dim = i < in.dim_names.size() ? in.dim_names[i] : std::string();
    if (!dim.empty()) {
      if (auto it = o.dims.find(dim); it != o.dims.end()) { s.push_back(it->second); continue; }
      s.push_back(batch_like(dim) ? 1 : kDefaultSyntheticDim);
      continue;
    }
    s.push_back(i == 0 ? 1 : kDefaultSyntheticDim);  // unnamed: a leading dim is a batch
  }
  return s;
}

std::unique_ptr<Feed> synthetic_feed(const IoInfo& input, const std::vector<IoInfo>& all_inputs, const InputOptions& options) {
  return std::make_unique<SyntheticFeed>(input, all_inputs, options);
}

void fill_elements(Tensor& t, const std::function<double(int64_t)>& value_at) {
  const int64_t n = t.elements();
  for (int64_t i = 0; i < n; ++i) {
    const double v = value_at(i);
    switch (t.dtype) {
      case DType::Float32: t.as<float>()[i] = static_cast<float>(v); break;
      case DType::Float64: t.as<double>()[i] = v; break;
      case DType::Float16: t.as<uint16_t>()[i] = float_to_half(static_cast<float>(v)); break;
      case DType::BFloat16: t.as<uint16_t>()[i] = float_to_bfloat16(static_cast<float>(v)); break;
      case DType::Int64: t.as<int64_t>()[i] = static_cast<int64_t>(v); break;
      case DType::Int32: t.as<int32_t>()[i] = static_cast<int32_t>(v); break;
      case DType::Int16: t.as<int16_t>()[i] = static_cast<int16_t>(v); break;
      case DType::Int8: t.as<int8_t>()[i] = static_cast<int8_t>(v); break;
      case DType::UInt8: case DType::Bool: t.as<uint8_t>()[i] = static_cast<uint8_t>(v); break;
      case DType::UInt16: t.as<uint16_t>()[i] = static_cast<uint16_t>(v); break;
      case DType::UInt32: t.as<uint32_t>()[i] = static_cast<uint32_t>(v); break;
      case DType::UInt64: t.as<uint64_t>()[i] = static_cast<uint64_t>(v); break;
      default: throw UnsupportedOpError("cannot fill a " + dtype_name(t.dtype) + " tensor");
    }
  }
}

Tensor pairs_tensor(const IoInfo& in, const std::vector<std::array<double, 2>>& pairs) {
  Shape shape = in.shape.size() == 2 ? Shape{static_cast<int64_t>(pairs.size()), 2} : Shape{2};
  Tensor t(in.dtype, shape);
  fill_elements(t, [&](int64_t i) { return pairs[static_cast<size_t>(i / 2)][static_cast<size_t>(i % 2)]; });
  return t;
}

}  // namespace onnxquant::sources
