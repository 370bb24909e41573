// InputSource: turns the --input specs into feeds (one per file, folder or synthetic input), checks
// them against the model, and walks the samples in order or in a seeded random order.
#include "io/model_inputs.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>

#include <onnx/onnx_pb.h>

#include "core/errors.h"
#include "ir/graph.h"
#include "ir/model.h"
#include "io/source.h"
#include "io/source_images.h"
#include "io/source_npy.h"
#include "io/source_raw.h"
#include "io/source_safetensors.h"
#include "io/source_synthetic.h"

namespace onnxquant {
namespace fs = std::filesystem;
using sources::Feed;

namespace {

const std::vector<std::string> kImageExtensions{".jpg", ".jpeg", ".png"};

enum class FolderKind { Images, Npy, Npz, Raw };

// What a folder holds: exactly one kind of data file, or a DataError naming the folder.
std::pair<FolderKind, std::vector<fs::path>> scan_folder(const fs::path& dir) {
  std::vector<fs::path> all = sources::list_files(dir, {".jpg", ".jpeg", ".png", ".npy", ".npz", ".bin"});
  std::map<FolderKind, std::vector<fs::path>> by_kind;
  for (auto& f : all) {
    const std::string e = sources::lower_extension(f);
    const FolderKind k = e == ".npy" ? FolderKind::Npy : e == ".npz" ? FolderKind::Npz : e == ".bin" ? FolderKind::Raw : FolderKind::Images;
    by_kind[k].push_back(std::move(f));
  }
  if (by_kind.empty())
    throw DataError(dir.string() + ": the folder holds no data files (.jpg, .jpeg, .png, .npy, .npz or .bin)",
                    "point --input at a folder of images, .npy/.npz files or raw .bin files");
  if (by_kind.size() > 1) {
    static const char* kNames[] = {"images", ".npy", ".npz", ".bin"};
    std::string kinds;
    for (const auto& [k, files] : by_kind) kinds += (kinds.empty() ? "" : " and ") + std::to_string(files.size()) + " " + kNames[static_cast<int>(k)];
    throw DataError(dir.string() + ": the folder mixes " + kinds + " files", "keep one kind of data per folder");
  }
  return {by_kind.begin()->first, std::move(by_kind.begin()->second)};
}

// The input a single-input source feeds: the named one, else the model's only input.
const IoInfo& single_input(const std::vector<IoInfo>& inputs, const std::string& name, const std::string& path) {
  if (!name.empty()) return sources::find_input(inputs, name, path);
  if (inputs.size() != 1)
    throw UsageError(path + ": the model has " + std::to_string(inputs.size()) + " inputs; name the one this data feeds with NAME=" + path);
  return inputs[0];
}

const IoInfo& image_input(const std::vector<IoInfo>& inputs, const std::string& name, const std::string& path) {
  if (!name.empty()) return sources::find_input(inputs, name, path);
  if (const IoInfo* in = sources::primary_image_input(inputs)) return *in;
  throw UsageError(path + ": cannot tell which of the model's " + std::to_string(inputs.size()) + " inputs the images feed; use NAME=" + path);
}

struct Spec {
  std::string name;  // "" when not given
  fs::path path;
};

// "NAME=PATH" or "PATH"; a path that exists as written wins over a split at '='.
Spec parse_spec(const std::string& text) {
  std::error_code ec;
  const auto eq = text.find('=');
  if (eq == std::string::npos || fs::exists(text, ec)) return {"", text};
  return {text.substr(0, eq), text.substr(eq + 1)};
}

bool is_finite_element(const Tensor& t, size_t i) {
  switch (t.dtype) {
    case DType::Float32: return std::isfinite(t.as<float>()[i]);
    case DType::Float64: return std::isfinite(t.as<double>()[i]);
    case DType::Float16: return (t.as<uint16_t>()[i] & 0x7c00) != 0x7c00;  // exponent all ones: Inf or NaN
    case DType::BFloat16: return (t.as<uint16_t>()[i] & 0x7f80) != 0x7f80;
    default: return true;
  }
}

}  // namespace

struct InputSource::Impl {
  std::vector<std::unique_ptr<Feed>> feeds;  // file feeds first, then synthetic ones (derived ones last)
  std::map<std::string, const Feed*> feed_of;
  int64_t total = -1;  // samples the files hold; -1 when every input is synthetic
  int64_t limit = 0;   // samples to yield
  std::vector<int64_t> order;  // --shuffle: a permutation of the file samples
  int64_t cursor = 0, produced = 0;
  bool check_finite = true, skip_bad = false;
  std::vector<std::string> skipped_at_build, skipped;

  void add(std::unique_ptr<Feed> feed) {
    for (const auto& name : feed->inputs()) {
      if (feed_of.count(name))
        throw DataError("input '" + name + "' is given twice (" + feed_of[name]->description() + ", and " + feed->description() + ")");
      feed_of[name] = feed.get();
    }
    for (auto& s : feed->skipped()) skipped_at_build.push_back(std::move(s));
    feeds.push_back(std::move(feed));
  }

  void check_values(const NamedTensors& sample, int64_t index) const {
    for (const auto& [name, t] : sample) {
      if (!dtype_is_float(t.dtype)) continue;
      const size_t n = static_cast<size_t>(t.elements());
      for (size_t i = 0; i < n; ++i) {
        if (is_finite_element(t, i)) continue;
        const double v = t.to_doubles()[i];
        throw DataError("sample " + std::to_string(index) + " (" + feed_of.at(name)->origin(index) + "): input '" + name + "' holds " +
                            (std::isnan(v) ? "NaN" : "Inf") + " at element " + std::to_string(i),
                        "clean the data, or pass --allow-nonfinite to use it as it is");
      }
    }
  }
};

InputSource::InputSource(const std::vector<IoInfo>& inputs, const InputOptions& o) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.check_finite = o.check_finite;
  m.skip_bad = o.skip_bad;
  for (const auto& [name, _] : o.shapes) sources::find_input(inputs, name, "--input-shape");
  for (const auto& [name, _] : o.values) sources::find_input(inputs, name, "--input-value");
  for (const auto& [name, _] : o.raw_shapes)
    if (!name.empty()) sources::find_input(inputs, name, "--raw-shape");

  // Image folders are built last: their im_shape/scale_factor companions are whatever no other file feeds.
  std::vector<std::pair<Spec, std::vector<fs::path>>> image_specs;
  for (const auto& text : o.files) {
    const Spec spec = parse_spec(text);
    const std::string where = spec.path.string();
    std::error_code ec;
    if (!fs::exists(spec.path, ec)) throw DataError(where + ": no such file or folder");
    if (fs::is_directory(spec.path, ec)) {
      auto [kind, files] = scan_folder(spec.path);
      switch (kind) {
        case FolderKind::Images: image_specs.emplace_back(spec, std::move(files)); break;
        case FolderKind::Npy: m.add(sources::npy_folder_feed(single_input(inputs, spec.name, where), std::move(files), o)); break;
        case FolderKind::Raw: m.add(sources::raw_folder_feed(single_input(inputs, spec.name, where), std::move(files), o)); break;
        case FolderKind::Npz:
          if (!spec.name.empty()) throw UsageError(where + ": a folder of .npz files names its inputs by member; drop '" + spec.name + "='");
          m.add(sources::npz_folder_feed(inputs, std::move(files), o));
          break;
      }
      continue;
    }
    const std::string ext = sources::lower_extension(spec.path);
    if (ext == ".npy") {
      m.add(sources::npy_file_feed(single_input(inputs, spec.name, where), spec.path, o));
    } else if (ext == ".npz") {
      for (auto& f : sources::npz_file_feeds(inputs, spec.path, spec.name, o)) m.add(std::move(f));
    } else if (ext == ".safetensors") {
      for (auto& f : sources::safetensors_file_feeds(inputs, spec.path, spec.name, o)) m.add(std::move(f));
    } else if (ext == ".bin") {
      m.add(sources::raw_folder_feed(single_input(inputs, spec.name, where), {spec.path}, o));
    } else if (std::find(kImageExtensions.begin(), kImageExtensions.end(), ext) != kImageExtensions.end()) {
      image_specs.emplace_back(spec, std::vector<fs::path>{spec.path});
    } else {
      throw DataError(where + ": unsupported data file (use .npy, .npz, .safetensors, .bin, an image, or a folder of them)");
    }
  }
  for (auto& [spec, files] : image_specs) {
    const IoInfo& in = image_input(inputs, spec.name, spec.path.string());
    std::vector<IoInfo> companions;
    for (const auto& c : inputs) {
      const auto role = sources::input_role(c);
      if ((role == sources::InputRole::ImageShape || role == sources::InputRole::ScaleFactor) && !m.feed_of.count(c.name) && !o.values.count(c.name))
        companions.push_back(c);
    }
    m.add(sources::image_folder_feed(in, companions, std::move(files), o));
  }

  // Synthetic feeds for the rest; image-size inputs last, as they read the image tensor of the sample.
  std::vector<const IoInfo*> rest;
  for (const auto& in : inputs)
    if (!m.feed_of.count(in.name)) rest.push_back(&in);
  std::stable_partition(rest.begin(), rest.end(), [](const IoInfo* in) { return sources::input_role(*in) != sources::InputRole::ImageShape; });
  for (const IoInfo* in : rest) m.add(sources::synthetic_feed(*in, inputs, o));

  const Feed* first = nullptr;
  for (const auto& f : m.feeds) {
    if (f->samples() < 0) continue;
    if (first && f->samples() != first->samples())
      throw DataError("the data sources disagree on the number of samples: " + first->description() + ", but " + f->description());
    if (!first) first = f.get();
  }
  m.total = first ? first->samples() : -1;
  if (m.total == 0) throw DataError(first->description() + ": no samples");
  m.limit = m.total >= 0 ? m.total : std::max<int64_t>(o.max_samples, 1);
  if (o.max_samples > 0) m.limit = std::min(m.limit, o.max_samples);
  if (o.shuffle && m.total > 0) {
    // Fisher-Yates with our own index draw: std::shuffle's algorithm differs between standard libraries.
    m.order.resize(static_cast<size_t>(m.total));
    std::iota(m.order.begin(), m.order.end(), int64_t{0});
    std::mt19937_64 rng(o.seed);
    for (size_t i = m.order.size(); i-- > 1;) std::swap(m.order[i], m.order[static_cast<size_t>(rng() % (i + 1))]);
  }
  m.skipped = m.skipped_at_build;
}

InputSource::InputSource(InputSource&&) noexcept = default;
InputSource::~InputSource() = default;

std::optional<NamedTensors> InputSource::next() {
  Impl& m = *impl_;
  while (m.produced < m.limit) {
    if (m.total >= 0 && m.cursor >= m.total) return std::nullopt;
    const int64_t index = m.order.empty() ? m.cursor : m.order[static_cast<size_t>(m.cursor)];
    ++m.cursor;
    NamedTensors sample;
    try {
      for (const auto& feed : m.feeds) feed->fill(index, sample);
    } catch (const sources::BadSampleFile& e) {
      if (!m.skip_bad) throw;
      m.skipped.push_back(e.what());
      continue;
    }
    if (m.check_finite) m.check_values(sample, index);
    ++m.produced;
    return sample;
  }
  return std::nullopt;
}

int64_t InputSource::size() const { return impl_->limit; }

void InputSource::rewind() {
  impl_->cursor = impl_->produced = 0;
  impl_->skipped = impl_->skipped_at_build;
}

const std::vector<std::string>& InputSource::skipped() const { return impl_->skipped; }

std::vector<std::string> InputSource::describe() const {
  std::vector<std::string> lines;
  for (const auto& f : impl_->feeds) lines.push_back(f->description());
  return lines;
}

std::vector<NamedTensors> load_model_inputs(const std::vector<IoInfo>& inputs, const InputOptions& options) {
  InputSource source(inputs, options);
  std::vector<NamedTensors> all;
  while (auto s = source.next()) all.push_back(std::move(*s));
  return all;
}

// ---- option text ---------------------------------------------------------------------------------

namespace {
std::pair<std::string, std::string> split_assignment(const std::string& text, const char* option) {
  const auto eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    throw UsageError(std::string(option) + " '" + text + "': expected NAME=VALUES");
  return {text.substr(0, eq), text.substr(eq + 1)};
}

template <typename T, typename Parse>
std::vector<T> parse_list(const std::string& list, const std::string& whole, const std::string& option, Parse parse) {
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
      throw UsageError(option + " '" + whole + "': '" + item + "' is not a number");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

Shape parse_dims(const std::string& list, const std::string& whole, const std::string& option) {
  Shape s = parse_list<int64_t>(list, whole, option, [](const std::string& x, size_t* u) { return std::stoll(x, u); });
  for (int64_t d : s)
    if (d <= 0) throw UsageError(option + " '" + whole + "': dims must be positive");
  return s;
}
}  // namespace

std::pair<std::string, Shape> parse_shape_assignment(const std::string& text) {
  auto [name, list] = split_assignment(text, "--input-shape");
  return {name, parse_dims(list, text, "--input-shape")};
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

std::pair<std::string, Shape> parse_raw_shape(const std::string& text) {
  if (text.find('=') == std::string::npos) return {"", parse_dims(text, text, "--raw-shape")};
  auto [name, list] = split_assignment(text, "--raw-shape");
  return {name, parse_dims(list, text, "--raw-shape")};
}

std::array<int64_t, 2> parse_height_width(const std::string& text, const std::string& option) {
  const Shape s = parse_dims(text, text, option);
  if (s.size() == 1) return {s[0], s[0]};
  if (s.size() != 2) throw UsageError(option + " '" + text + "': expected H,W (or one number for a square)");
  return {s[0], s[1]};
}

std::vector<float> parse_float_list(const std::string& text, const std::string& option) {
  return parse_list<float>(text, text, option, [](const std::string& x, size_t* u) { return std::stof(x, u); });
}

ImageLayout parse_layout(const std::string& text) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (t == "NCHW") return ImageLayout::NCHW;
  if (t == "NHWC") return ImageLayout::NHWC;
  throw UsageError("--layout '" + text + "': expected NCHW or NHWC");
}

std::vector<IoInfo> declared_inputs(const Model& model) {
  const Graph g(model.proto().graph());
  std::vector<IoInfo> inputs;
  for (const auto& name : g.input_names()) {
    IoInfo info;
    info.name = name;
    if (const auto type = g.value_type(name)) {
      info.dtype = type->dtype;
      if (type->shape)
        for (const auto& d : *type->shape) {
          info.shape.push_back(d.value.value_or(-1));
          info.dim_names.push_back(d.value ? "" : d.param);
        }
    }
    inputs.push_back(std::move(info));
  }
  return inputs;
}

}  // namespace onnxquant
