#include "io/model_inputs.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "core/errors.h"
#include "core/half.h"
#include "io/npy.h"
#include "io/npz.h"

namespace onnxquant {
namespace fs = std::filesystem;

namespace {

// One input's supply of samples.
class Feeder {
 public:
  virtual ~Feeder() = default;
  virtual int64_t samples() const = 0;  // -1: unlimited (synthetic)
  virtual Tensor sample(int64_t index) const = 0;
};

// Batch size of a model input: its fixed first dim, else the --dim value of its name, else 1.
int64_t batch_size_of(const IoInfo& in, const InputOptions& o) {
  if (in.shape.empty()) return 1;
  if (in.shape[0] > 0) return in.shape[0];
  if (auto it = o.dims.find(in.dim_names[0]); !in.dim_names[0].empty() && it != o.dims.end()) return it->second;
  return 1;
}

void check_fits(const IoInfo& in, DType dtype, const Shape& sample_shape, const std::string& origin) {
  if (dtype != in.dtype)
    throw DataError(origin + ": holds " + dtype_name(dtype) + " data, input '" + in.name + "' wants " + dtype_name(in.dtype),
                    "convert the array, e.g. arr.astype(np." + dtype_name(in.dtype) + ")");
  if (sample_shape.size() != in.shape.size())
    throw DataError(origin + ": a sample has shape " + shape_string(sample_shape) + ", input '" + in.name + "' wants rank " +
                    std::to_string(in.shape.size()) + " " + shape_string(in.shape));
  for (size_t i = 0; i < in.shape.size(); ++i)
    if (in.shape[i] > 0 && in.shape[i] != sample_shape[i])
      throw DataError(origin + ": a sample has shape " + shape_string(sample_shape) + ", input '" + in.name + "' wants " +
                      shape_string(in.shape) + " (dim " + std::to_string(i) + ")");
}

class NpyFeeder : public Feeder {
 public:
  NpyFeeder(const IoInfo& in, const fs::path& path, const InputOptions& o) : reader_(path) {
    const Shape& s = reader_.shape();
    const std::string origin = path.string();
    if (s.size() == in.shape.size() + 1) {  // a stack: axis 0 counts samples
      rows_per_sample_ = 1;
      stacked_ = true;
      check_fits(in, reader_.dtype(), Shape(s.begin() + 1, s.end()), origin);
      samples_ = s[0];
    } else if (s.size() == in.shape.size() && !s.empty()) {
      rows_per_sample_ = batch_size_of(in, o);
      Shape one = s;
      one[0] = rows_per_sample_;
      check_fits(in, reader_.dtype(), one, origin);
      if (s[0] % rows_per_sample_ != 0)
        throw DataError(origin + ": " + std::to_string(s[0]) + " rows do not split into batches of " + std::to_string(rows_per_sample_) +
                        " for input '" + in.name + "'");
      samples_ = s[0] / rows_per_sample_;
    } else {
      check_fits(in, reader_.dtype(), s, origin);  // rank 0 input with a rank 0 array
      samples_ = 1;
      whole_ = true;
    }
  }
  int64_t samples() const override { return samples_; }
  Tensor sample(int64_t index) const override {
    if (whole_) return reader_.read_rows(0, 1);
    Tensor t = reader_.read_rows(index * rows_per_sample_, rows_per_sample_);
    if (stacked_) t.shape.erase(t.shape.begin());  // [1, ...] -> [...]
    return t;
  }

 private:
  NpyReader reader_;
  int64_t rows_per_sample_ = 1, samples_ = 0;
  bool stacked_ = false, whole_ = false;
};

class TensorFeeder : public Feeder {  // an array already in memory (from .npz)
 public:
  TensorFeeder(const IoInfo& in, Tensor t, const std::string& origin, const InputOptions& o) : t_(std::move(t)) {
    if (t_.shape.size() == in.shape.size() + 1) {
      check_fits(in, t_.dtype, Shape(t_.shape.begin() + 1, t_.shape.end()), origin);
      rows_ = 1;
      stacked_ = true;
      samples_ = t_.shape[0];
    } else if (!t_.shape.empty() && t_.shape.size() == in.shape.size()) {
      rows_ = batch_size_of(in, o);
      Shape one = t_.shape;
      one[0] = rows_;
      check_fits(in, t_.dtype, one, origin);
      if (t_.shape[0] % rows_ != 0) throw DataError(origin + ": rows do not split into batches of " + std::to_string(rows_));
      samples_ = t_.shape[0] / rows_;
    } else {
      check_fits(in, t_.dtype, t_.shape, origin);
      samples_ = 1;
      rows_ = 0;
    }
  }
  int64_t samples() const override { return samples_; }
  Tensor sample(int64_t index) const override {
    if (rows_ == 0) return t_;
    Shape shape = t_.shape;
    shape[0] = rows_;
    if (stacked_) shape.erase(shape.begin());
    Tensor out(t_.dtype, shape);
    const size_t bytes = out.bytes.size();
    std::copy_n(t_.bytes.begin() + static_cast<std::ptrdiff_t>(bytes * static_cast<size_t>(index)), bytes, out.bytes.begin());
    return out;
  }

 private:
  Tensor t_;
  int64_t rows_ = 1, samples_ = 0;
  bool stacked_ = false;
};

Shape synthetic_shape(const IoInfo& in, const InputOptions& o) {
  if (auto it = o.shapes.find(in.name); it != o.shapes.end()) {
    if (it->second.size() != in.shape.size())
      throw UsageError("--input-shape " + in.name + ": rank " + std::to_string(it->second.size()) + ", the model wants rank " +
                       std::to_string(in.shape.size()) + " " + shape_string(in.shape));
    for (size_t i = 0; i < in.shape.size(); ++i)
      if (in.shape[i] > 0 && in.shape[i] != it->second[i])
        throw UsageError("--input-shape " + in.name + "=" + shape_string(it->second) + " contradicts the model's " + shape_string(in.shape));
    return it->second;
  }
  Shape s;
  for (size_t i = 0; i < in.shape.size(); ++i) {
    if (in.shape[i] >= 0) { s.push_back(in.shape[i]); continue; }
    if (auto it = o.dims.find(in.dim_names[i]); !in.dim_names[i].empty() && it != o.dims.end()) { s.push_back(it->second); continue; }
    // Unknown: batch-like leading dim 1, others the default spatial size.
    s.push_back(i == 0 ? 1 : kDefaultSyntheticDim);
  }
  return s;
}

// Writes value_at(i) into element i, converted to the tensor's element type.
template <typename F>
void fill_elements(Tensor& t, int64_t n, F&& value_at) {
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
      default: throw UnsupportedOpError("cannot synthesize " + dtype_name(t.dtype));
    }
  }
}

class SyntheticFeeder : public Feeder {
 public:
  SyntheticFeeder(const IoInfo& in, const InputOptions& o) : in_(in), shape_(synthetic_shape(in, o)), seed_(o.seed) {
    if (dtype_size(in.dtype) == 0) throw UnsupportedOpError("input '" + in.name + "' has type " + dtype_name(in.dtype) + ", which cannot be synthesized");
    if (auto it = o.values.find(in.name); it != o.values.end()) {
      values_ = it->second;
      if (values_.empty()) throw UsageError("--input-value " + in.name + " has no values");
      const int64_t n = element_count(shape_);
      if (n % static_cast<int64_t>(values_.size()) != 0)
        throw UsageError("--input-value " + in.name + ": " + std::to_string(values_.size()) + " values do not fill shape " + shape_string(shape_));
    }
  }
  int64_t samples() const override { return -1; }
  Tensor sample(int64_t index) const override {
    Tensor t(in_.dtype, shape_);
    std::mt19937 rng(seed_ * 7919u + static_cast<uint32_t>(index) * 104729u + std::hash<std::string>{}(in_.name) % 65521u);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::uniform_int_distribution<int> small(0, 9);
    const int64_t n = t.elements();
    auto value_at = [&](int64_t i) -> double {
      if (!values_.empty()) return values_[static_cast<size_t>(i) % values_.size()];
      if (dtype_is_float(in_.dtype)) return std::clamp(normal(rng), -2.5, 2.5);
      if (in_.dtype == DType::Bool) return 0.0;
      return small(rng);
    };
    fill_elements(t, n, value_at);
    return t;
  }

 private:
  IoInfo in_;
  Shape shape_;
  uint32_t seed_;
  std::vector<double> values_;
};

const IoInfo& find_input(const std::vector<IoInfo>& inputs, const std::string& name, const std::string& origin) {
  for (const auto& in : inputs)
    if (in.name == name) return in;
  std::string names;
  for (const auto& in : inputs) names += (names.empty() ? "" : ", ") + in.name;
  throw DataError(origin + ": the model has no input '" + name + "' (inputs: " + names + ")");
}

}  // namespace

struct InputSource::Impl {
  std::vector<std::pair<std::string, std::unique_ptr<Feeder>>> feeders;
  int64_t count = 0, position = 0;
};

InputSource::InputSource(const std::vector<IoInfo>& inputs, const InputOptions& o) : impl_(std::make_unique<Impl>()) {
  std::map<std::string, std::unique_ptr<Feeder>> by_name;
  for (const auto& spec : o.files) {
    const auto eq = spec.find('=');
    std::string name = eq == std::string::npos ? "" : spec.substr(0, eq);
    const fs::path path = eq == std::string::npos ? spec : spec.substr(eq + 1);
    std::error_code ec;
    if (!fs::exists(path, ec)) throw DataError(path.string() + ": no such file");
    if (path.extension() == ".npz") {
      for (auto& [key, tensor] : read_npz(path)) {
        const IoInfo& in = find_input(inputs, key, path.string());
        by_name[key] = std::make_unique<TensorFeeder>(in, std::move(tensor), path.string() + ":" + key, o);
      }
      continue;
    }
    if (path.extension() != ".npy") throw DataError(path.string() + ": unsupported data file (use .npy or .npz)");
    if (name.empty()) {
      if (inputs.size() != 1) throw UsageError(path.string() + ": the model has " + std::to_string(inputs.size()) + " inputs; name one with NAME=" + path.string());
      name = inputs[0].name;
    }
    by_name[name] = std::make_unique<NpyFeeder>(find_input(inputs, name, path.string()), path, o);
  }
  for (const auto& [name, _] : o.shapes) find_input(inputs, name, "--input-shape");
  for (const auto& [name, _] : o.values) find_input(inputs, name, "--input-value");

  int64_t from_files = -1;
  std::string first_file_input;
  for (const auto& in : inputs) {
    auto it = by_name.find(in.name);
    std::unique_ptr<Feeder> f = it != by_name.end() ? std::move(it->second) : std::make_unique<SyntheticFeeder>(in, o);
    if (f->samples() >= 0) {
      if (from_files >= 0 && f->samples() != from_files)
        throw DataError("input '" + in.name + "' has " + std::to_string(f->samples()) + " samples but '" + first_file_input + "' has " +
                        std::to_string(from_files));
      if (from_files < 0) first_file_input = in.name;
      from_files = f->samples();
    }
    impl_->feeders.emplace_back(in.name, std::move(f));
  }
  impl_->count = from_files >= 0 ? from_files : std::max<int64_t>(o.max_samples, 1);
  if (o.max_samples > 0) impl_->count = std::min(impl_->count, o.max_samples);
}

InputSource::InputSource(InputSource&&) noexcept = default;
InputSource::~InputSource() = default;

std::optional<NamedTensors> InputSource::next() {
  if (impl_->position >= impl_->count) return std::nullopt;
  NamedTensors sample;
  for (const auto& [name, feeder] : impl_->feeders) sample.emplace(name, feeder->sample(impl_->position));
  ++impl_->position;
  return sample;
}

int64_t InputSource::size() const { return impl_->count; }
void InputSource::rewind() { impl_->position = 0; }

std::vector<NamedTensors> load_model_inputs(const std::vector<IoInfo>& inputs, const InputOptions& options) {
  InputSource source(inputs, options);
  std::vector<NamedTensors> all;
  while (auto s = source.next()) all.push_back(std::move(*s));
  return all;
}

namespace {
std::pair<std::string, std::string> split_assignment(const std::string& text, const char* option) {
  const auto eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    throw UsageError(std::string(option) + " '" + text + "': expected NAME=VALUES");
  return {text.substr(0, eq), text.substr(eq + 1)};
}

template <typename T, typename Parse>
std::vector<T> parse_list(const std::string& list, const std::string& whole, const char* option, Parse parse) {
  std::vector<T> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = list.find(',', start);
    const std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    try {
      size_t used = 0;
      out.push_back(parse(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw UsageError(std::string(option) + " '" + whole + "': '" + item + "' is not a number");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}
}  // namespace

std::pair<std::string, Shape> parse_shape_assignment(const std::string& text) {
  auto [name, list] = split_assignment(text, "--input-shape");
  Shape s = parse_list<int64_t>(list, text, "--input-shape", [](const std::string& x, size_t* u) { return std::stoll(x, u); });
  for (int64_t d : s)
    if (d <= 0) throw UsageError("--input-shape '" + text + "': dims must be positive");
  return {name, s};
}

std::pair<std::string, int64_t> parse_dim_assignment(const std::string& text) {
  auto [name, list] = split_assignment(text, "--dim");
  auto v = parse_list<int64_t>(list, text, "--dim", [](const std::string& x, size_t* u) { return std::stoll(x, u); });
  if (v.size() != 1 || v[0] <= 0) throw UsageError("--dim '" + text + "': expected NAME=POSITIVE_INTEGER");
  return {name, v[0]};
}

std::pair<std::string, std::vector<double>> parse_value_assignment(const std::string& text) {
  auto [name, list] = split_assignment(text, "--input-value");
  return {name, parse_list<double>(list, text, "--input-value", [](const std::string& x, size_t* u) { return std::stod(x, u); })};
}

}  // namespace onnxquant
