#include "io/source_npy.h"

#include <algorithm>
#include <optional>

#include "io/npy.h"
#include "io/npz.h"

namespace onnxquant::sources {
namespace fs = std::filesystem;

namespace {

class NpyRows : public RowArray {
 public:
  explicit NpyRows(const fs::path& path) : reader_(path), origin_(path.string()) {}
  DType dtype() const override { return reader_.dtype(); }
  const Shape& shape() const override { return reader_.shape(); }
  Tensor read_rows(int64_t first, int64_t count) const override { return reader_.read_rows(first, count); }
  std::string origin() const override { return origin_; }

 private:
  NpyReader reader_;
  std::string origin_;
};

class TensorRows : public RowArray {  // an .npz member: members may be deflated, so they are read whole
 public:
  TensorRows(Tensor t, std::string origin) : t_(std::move(t)), origin_(std::move(origin)) {}
  DType dtype() const override { return t_.dtype; }
  const Shape& shape() const override { return t_.shape; }
  Tensor read_rows(int64_t first, int64_t count) const override {
    if (t_.shape.empty()) return t_;
    Shape shape = t_.shape;
    shape[0] = count;
    Tensor out(t_.dtype, shape);
    const size_t row_bytes = t_.shape[0] > 0 ? t_.bytes.size() / static_cast<size_t>(t_.shape[0]) : 0;
    std::copy_n(t_.bytes.begin() + static_cast<std::ptrdiff_t>(row_bytes * static_cast<size_t>(first)), out.bytes.size(), out.bytes.begin());
    return out;
  }
  std::string origin() const override { return origin_; }

 private:
  Tensor t_;
  std::string origin_;
};

Tensor as_sample(const IoInfo& in, Tensor t, const std::string& origin) {
  const Shape shape = per_file_sample_shape(in, t.shape);
  check_fits(in, t.dtype, shape, origin);
  t.shape = shape;
  return t;
}

class NpyFolderFeed : public Feed {
 public:
  NpyFolderFeed(const IoInfo& in, std::vector<fs::path> files, const InputOptions& o) : in_(in) {
    for (auto& f : files) {
      std::optional<NpyReader> reader;
      try {
        reader.emplace(f);
      } catch (const DataError& e) {
        if (!o.skip_bad) throw;
        skipped_.push_back(e.what());
        continue;
      }
      check_fits(in, reader->dtype(), per_file_sample_shape(in, reader->shape()), f.string());
      files_.push_back(std::move(f));
    }
    if (files_.empty()) throw DataError(files.empty() ? "no .npy files" : files.front().parent_path().string() + ": no readable .npy file");
  }
  std::vector<std::string> inputs() const override { return {in_.name}; }
  int64_t samples() const override { return static_cast<int64_t>(files_.size()); }
  void fill(int64_t index, NamedTensors& sample) const override {
    const fs::path& f = files_[static_cast<size_t>(index)];
    Tensor t;
    try {
      t = read_npy(f);
    } catch (const DataError& e) {
      throw BadSampleFile(e.what());  // changed since the header check: skippable like any unreadable file
    }
    sample[in_.name] = as_sample(in_, std::move(t), f.string());
  }
  std::string origin(int64_t index) const override { return files_[static_cast<size_t>(index)].string(); }
  std::string description() const override {
    return files_.front().parent_path().string() + "/: " + std::to_string(files_.size()) + " .npy files -> '" + in_.name + "'";
  }
  std::vector<std::string> skipped() const override { return skipped_; }

 private:
  IoInfo in_;
  std::vector<fs::path> files_;
  std::vector<std::string> skipped_;
};

class NpzFolderFeed : public Feed {
 public:
  NpzFolderFeed(const std::vector<IoInfo>& inputs, std::vector<fs::path> files, const InputOptions& o) : files_(std::move(files)) {
    // The first readable file decides which inputs the folder supplies.
    while (!files_.empty()) {
      NamedTensors first;
      try {
        first = read_npz(files_.front());
      } catch (const DataError& e) {
        if (!o.skip_bad) throw;
        skipped_.push_back(e.what());
        files_.erase(files_.begin());
        continue;
      }
      for (const auto& [key, t] : first) {  // not fitting the model is an error even with skip_bad
        const IoInfo& in = find_input(inputs, key, files_.front().string());
        as_sample(in, t, files_.front().string() + ": member '" + key + "'");
        inputs_.push_back(in);
      }
      break;
    }
    if (files_.empty()) throw DataError("no readable .npz file in the folder");
    if (inputs_.empty()) throw DataError(files_.front().string() + ": the archive holds no arrays");
  }
  std::vector<std::string> inputs() const override {
    std::vector<std::string> names;
    for (const auto& in : inputs_) names.push_back(in.name);
    return names;
  }
  int64_t samples() const override { return static_cast<int64_t>(files_.size()); }
  void fill(int64_t index, NamedTensors& sample) const override {
    const fs::path& f = files_[static_cast<size_t>(index)];
    NamedTensors arrays;
    try {
      arrays = read_npz(f);
    } catch (const DataError& e) {
      throw BadSampleFile(e.what());
    }
    for (const auto& in : inputs_) {
      auto it = arrays.find(in.name);
      if (it == arrays.end())
        throw DataError(f.string() + ": has no array '" + in.name + "' (the first file of the folder, " + files_.front().filename().string() +
                        ", has one)");
      sample[in.name] = as_sample(in, std::move(it->second), f.string() + ": member '" + in.name + "'");
    }
  }
  std::string origin(int64_t index) const override { return files_[static_cast<size_t>(index)].string(); }
  std::string description() const override {
    std::string names;
    for (const auto& in : inputs_) names += (names.empty() ? "'" : ", '") + in.name + "'";
    return files_.front().parent_path().string() + "/: " + std::to_string(files_.size()) + " .npz files -> " + names;
  }
  std::vector<std::string> skipped() const override { return skipped_; }

 private:
  std::vector<IoInfo> inputs_;
  std::vector<fs::path> files_;
  std::vector<std::string> skipped_;
};

}  // namespace

Shape per_file_sample_shape(const IoInfo& in, const Shape& shape) {
  if (shape.size() + 1 == in.shape.size()) {
    Shape s{1};
    s.insert(s.end(), shape.begin(), shape.end());
    return s;
  }
  return shape;
}

std::unique_ptr<Feed> npy_file_feed(const IoInfo& input, const fs::path& file, const InputOptions& options) {
  return make_array_feed(input, std::make_unique<NpyRows>(file), options);
}

std::vector<std::unique_ptr<Feed>> npz_file_feeds(const std::vector<IoInfo>& inputs, const fs::path& file, const std::string& only,
                                                  const InputOptions& options) {
  std::vector<std::unique_ptr<Feed>> feeds;
  for (auto& [key, tensor] : read_npz(file)) {
    if (!only.empty() && key != only) continue;
    const IoInfo& in = find_input(inputs, key, file.string());
    feeds.push_back(make_array_feed(in, std::make_unique<TensorRows>(std::move(tensor), file.string() + ":" + key), options));
  }
  if (!only.empty() && feeds.empty()) throw DataError(file.string() + ": has no array '" + only + "'");
  return feeds;
}

std::unique_ptr<Feed> npy_folder_feed(const IoInfo& input, std::vector<fs::path> files, const InputOptions& options) {
  return std::make_unique<NpyFolderFeed>(input, std::move(files), options);
}

std::unique_ptr<Feed> npz_folder_feed(const std::vector<IoInfo>& inputs, std::vector<fs::path> files, const InputOptions& options) {
  return std::make_unique<NpzFolderFeed>(inputs, std::move(files), options);
}

}  // namespace onnxquant::sources
