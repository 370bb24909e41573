// The .safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
// {"NAME": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}, then the
// raw little-endian tensor bytes, offsets relative to the end of the header. The reader parses and checks
// the header once (every range inside the file, sized exactly for its dtype and shape, no two tensors
// overlapping) and then reads tensors, or rows of their first axis, by pread: a large stack of samples is
// read one sample at a time, never loaded whole. Errors are DataError naming the file and tensor.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace onnxquant {

struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::Undefined;
  Shape shape;
  uint64_t offset = 0;  // absolute position in the file
  uint64_t bytes = 0;
};

class SafetensorsReader {
 public:
  explicit SafetensorsReader(const std::filesystem::path& path);
  SafetensorsReader(SafetensorsReader&&) noexcept;
  ~SafetensorsReader();
  const std::string& name() const;
  const std::vector<SafetensorsEntry>& entries() const;  // in the order of their data in the file
  const SafetensorsEntry* find(const std::string& tensor) const;  // nullptr when absent
  const std::map<std::string, std::string>& metadata() const;
  Tensor read(const SafetensorsEntry& entry) const;
  // Rows [first, first+count) of the first axis, shape [count, ...rest]; a 0-d tensor has one row, the
  // scalar itself (read_rows(e, 0, 1) returns shape []), as NpyReader does.
  Tensor read_rows(const SafetensorsEntry& entry, int64_t first, int64_t count) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "F32" <-> DType; Undefined / empty for types the format or onnxquant lacks (e.g. F8_E4M3).
DType safetensors_dtype(const std::string& code);
std::string safetensors_code(DType dtype);

// Writes tensors (sorted by name, contiguous, header padded to 8 bytes as the reference writer does); atomic.
void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace onnxquant
