// NumPy .npy files (format 1.0/2.0/3.0): read whole, read a slice of the first axis without loading
// the rest (for large sample stacks), and write. Owned by the io layer; everything is checked against the
// file size before any allocation, and errors are DataError naming the file.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/tensor.h"

namespace onnxquant {

Tensor read_npy(const std::filesystem::path& path);
Tensor parse_npy(std::string_view bytes, const std::string& origin);
std::string npy_bytes(const Tensor& tensor);  // format 1.0, byte-identical to numpy's np.save
// The header alone (magic, version, length, padded dict): the file is this followed by tensor.bytes.
// Lets writers stream large tensors without copying them into one string.
std::string npy_header(const Tensor& tensor);
void write_npy(const std::filesystem::path& path, const Tensor& tensor);  // atomic

// Opens a .npy and reads rows of the first axis on demand (pread), never the whole file.
class NpyReader {
 public:
  explicit NpyReader(const std::filesystem::path& path);
  NpyReader(NpyReader&&) noexcept;
  NpyReader& operator=(NpyReader&&) noexcept;
  ~NpyReader();
  DType dtype() const;
  const Shape& shape() const;
  int64_t rows() const;  // shape[0]; 1 for a 0-d array
  // Rows [first, first+count) as one tensor of shape [count, ...rest]. Throws DataError when out of range.
  // A 0-d array has one "row", the scalar itself: read_rows(0, 1) returns it with shape [].
  Tensor read_rows(int64_t first, int64_t count) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace onnxquant
