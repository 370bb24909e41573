#include "io/source_safetensors.h"

#include "io/safetensors.h"

namespace onnxquant::sources {
namespace {

class SafetensorsRows : public RowArray {
 public:
  SafetensorsRows(std::shared_ptr<const SafetensorsReader> file, const SafetensorsEntry& entry)
      : file_(std::move(file)), entry_(entry), origin_(file_->name() + ":" + entry.name) {}
  DType dtype() const override { return entry_.dtype; }
  const Shape& shape() const override { return entry_.shape; }
  Tensor read_rows(int64_t first, int64_t count) const override { return file_->read_rows(entry_, first, count); }
  std::string origin() const override { return origin_; }

 private:
  std::shared_ptr<const SafetensorsReader> file_;  // one open file shared by the tensors it holds
  SafetensorsEntry entry_;
  std::string origin_;
};

}  // namespace

std::vector<std::unique_ptr<Feed>> safetensors_file_feeds(const std::vector<IoInfo>& inputs, const std::filesystem::path& file,
                                                          const std::string& only, const InputOptions& options) {
  auto reader = std::make_shared<const SafetensorsReader>(file);
  std::vector<std::unique_ptr<Feed>> feeds;
  for (const SafetensorsEntry& e : reader->entries()) {
    if (!only.empty() && e.name != only) continue;
    const IoInfo& in = find_input(inputs, e.name, file.string());
    feeds.push_back(make_array_feed(in, std::make_unique<SafetensorsRows>(reader, e), options));
  }
  if (!only.empty() && feeds.empty()) throw DataError(file.string() + ": has no tensor '" + only + "'");
  if (feeds.empty()) throw DataError(file.string() + ": holds no tensors");
  return feeds;
}

}  // namespace onnxquant::sources
