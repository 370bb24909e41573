#include "io/source.h"

#include <algorithm>
#include <cctype>

namespace onnxquant::sources {

int64_t batch_size_of(const IoInfo& in, const InputOptions& o) {
  if (in.shape.empty()) return 1;
  if (in.shape[0] > 0) return in.shape[0];
  if (!in.dim_names.empty() && !in.dim_names[0].empty())
    if (auto it = o.dims.find(in.dim_names[0]); it != o.dims.end()) return it->second;
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

const IoInfo& find_input(const std::vector<IoInfo>& inputs, const std::string& name, const std::string& origin) {
  for (const auto& in : inputs)
    if (in.name == name) return in;
  std::string names;
  for (const auto& in : inputs) names += (names.empty() ? "" : ", ") + in.name;
  throw DataError(origin + ": the model has no input '" + name + "' (inputs: " + names + ")");
}

namespace {

class ArrayFeed : public Feed {
 public:
  ArrayFeed(const IoInfo& in, std::unique_ptr<RowArray> array, const InputOptions& o) : name_(in.name), array_(std::move(array)) {
    const Shape& s = array_->shape();
    const std::string origin = array_->origin();
    if (s.size() == in.shape.size() + 1) {  // a stack: axis 0 counts samples
      stacked_ = true;
      check_fits(in, array_->dtype(), Shape(s.begin() + 1, s.end()), origin);
      samples_ = s[0];
    } else if (s.size() == in.shape.size() && !s.empty()) {
      rows_ = batch_size_of(in, o);
      Shape one = s;
      one[0] = rows_;
      check_fits(in, array_->dtype(), one, origin);
      if (s[0] % rows_ != 0)
        throw DataError(origin + ": " + std::to_string(s[0]) + " rows do not split into batches of " + std::to_string(rows_) +
                        " for input '" + in.name + "'");
      samples_ = s[0] / rows_;
    } else {
      check_fits(in, array_->dtype(), s, origin);  // a 0-d input with a 0-d array
      samples_ = 1;
      whole_ = true;
    }
  }
  std::vector<std::string> inputs() const override { return {name_}; }
  int64_t samples() const override { return samples_; }
  void fill(int64_t index, NamedTensors& sample) const override {
    Tensor t = whole_ ? array_->read_rows(0, 1) : array_->read_rows(index * rows_, rows_);
    if (stacked_) t.shape.erase(t.shape.begin());  // [1, ...] -> [...]
    sample[name_] = std::move(t);
  }
  std::string origin(int64_t) const override { return array_->origin(); }
  std::string description() const override {
    return array_->origin() + " " + dtype_name(array_->dtype()) + shape_string(array_->shape()) + " -> '" + name_ + "', " +
           std::to_string(samples_) + " samples";
  }

 private:
  std::string name_;
  std::unique_ptr<RowArray> array_;
  int64_t rows_ = 1, samples_ = 0;
  bool stacked_ = false, whole_ = false;
};

}  // namespace

std::unique_ptr<Feed> make_array_feed(const IoInfo& input, std::unique_ptr<RowArray> array, const InputOptions& options) {
  return std::make_unique<ArrayFeed>(input, std::move(array), options);
}

std::string lower_extension(const std::filesystem::path& path) {
  std::string e = path.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e;
}

std::vector<std::filesystem::path> list_files(const std::filesystem::path& dir, const std::vector<std::string>& extensions) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (!entry.is_regular_file(ec)) continue;  // follows symlinks
    if (std::find(extensions.begin(), extensions.end(), lower_extension(entry.path())) == extensions.end()) continue;
    files.push_back(entry.path());
  }
  if (ec) throw DataError(dir.string() + ": cannot list the folder: " + ec.message());
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.filename().string() < b.filename().string(); });
  return files;
}

}  // namespace onnxquant::sources
