#include "io/source_raw.h"

#include "core/half.h"
#include "io/random_access_file.h"
#include "io/source_npy.h"

namespace onnxquant::sources {
namespace fs = std::filesystem;

namespace {

class RawFolderFeed : public Feed {
 public:
  RawFolderFeed(const IoInfo& in, std::vector<fs::path> files, const InputOptions& o)
      : in_(in), file_shape_(raw_file_shape(in, o)), shape_(per_file_sample_shape(in, file_shape_)) {
    if (!dtype_is_float(in.dtype))
      throw DataError("input '" + in.name + "' is " + dtype_name(in.dtype) + "; raw .bin files hold float32", "use .npy files for other types");
    check_fits(in, in.dtype, shape_, "--raw-shape " + shape_string(file_shape_));
    bytes_ = byte_count(DType::Float32, shape_);  // checked: a wrapped product could match a small file
    for (auto& f : files) {
      std::error_code ec;
      const uint64_t size = fs::file_size(f, ec);
      std::string problem;
      if (ec) problem = f.string() + ": cannot read: " + ec.message();
      else if (size != bytes_)
        problem = f.string() + ": " + std::to_string(size) + " bytes, but float32 " + shape_string(file_shape_) + " needs " + std::to_string(bytes_);
      if (problem.empty()) {
        files_.push_back(std::move(f));
      } else if (o.skip_bad) {
        skipped_.push_back(problem);
      } else {
        throw DataError(problem, "check --raw-shape (the shape of one file, float32 little-endian)");
      }
    }
    if (files_.empty()) throw DataError("no .bin file of " + std::to_string(bytes_) + " bytes in the folder");
  }
  std::vector<std::string> inputs() const override { return {in_.name}; }
  int64_t samples() const override { return static_cast<int64_t>(files_.size()); }
  void fill(int64_t index, NamedTensors& sample) const override {
    const fs::path& f = files_[static_cast<size_t>(index)];
    Tensor raw(DType::Float32, shape_);
    try {
      const RandomAccessFile file(f);
      if (file.size() != bytes_) throw DataError(f.string() + ": changed size since the source was built");
      file.read_at(0, raw.bytes.size(), reinterpret_cast<char*>(raw.bytes.data()));
    } catch (const DataError& e) {
      throw BadSampleFile(e.what());
    }
    sample[in_.name] = convert(std::move(raw));
  }
  std::string origin(int64_t index) const override { return files_[static_cast<size_t>(index)].string(); }
  std::string description() const override {
    return files_.front().parent_path().string() + "/: " + std::to_string(files_.size()) + " raw float32 " + shape_string(file_shape_) +
           " files -> '" + in_.name + "'";
  }
  std::vector<std::string> skipped() const override { return skipped_; }

 private:
  Tensor convert(Tensor raw) const {  // float32 files may feed a float16/bfloat16/float64 input
    if (in_.dtype == DType::Float32) return raw;
    Tensor t(in_.dtype, raw.shape);
    const auto src = raw.as<float>();
    for (size_t i = 0; i < src.size(); ++i) {
      if (in_.dtype == DType::Float16) t.as<uint16_t>()[i] = float_to_half(src[i]);
      else if (in_.dtype == DType::BFloat16) t.as<uint16_t>()[i] = float_to_bfloat16(src[i]);
      else t.as<double>()[i] = src[i];
    }
    return t;
  }

  IoInfo in_;
  Shape file_shape_, shape_;
  uint64_t bytes_ = 0;
  std::vector<fs::path> files_;
  std::vector<std::string> skipped_;
};

}  // namespace

Shape raw_file_shape(const IoInfo& in, const InputOptions& o) {
  if (auto it = o.raw_shapes.find(in.name); it != o.raw_shapes.end()) return it->second;
  if (auto it = o.raw_shapes.find(""); it != o.raw_shapes.end()) return it->second;
  Shape s;
  for (size_t i = 0; i < in.shape.size(); ++i) {
    if (in.shape[i] > 0) { s.push_back(in.shape[i]); continue; }
    if (i == 0) { s.push_back(batch_size_of(in, o)); continue; }  // the batch: --dim, else 1 as everywhere
    const std::string& dim = i < in.dim_names.size() ? in.dim_names[i] : std::string();
    auto it = dim.empty() ? o.dims.end() : o.dims.find(dim);
    if (it == o.dims.end())
      throw UsageError("raw .bin files for input '" + in.name + "' " + shape_string(in.shape) + " need their shape",
                       "give --raw-shape " + in.name + "=D1,D2,... (e.g. 1,3,224,224)");
    s.push_back(it->second);
  }
  return s;
}

std::unique_ptr<Feed> raw_folder_feed(const IoInfo& input, std::vector<fs::path> files, const InputOptions& options) {
  return std::make_unique<RawFolderFeed>(input, std::move(files), options);
}

}  // namespace onnxquant::sources
