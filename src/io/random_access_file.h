// A read-only regular file read by offset (pread). The .npy, .npz, .safetensors and raw readers all read
// large files piece by piece: one sample's rows at a time, never the whole file. Every error is a
// DataError naming the file (or the part of it being read), because the files come from users.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

namespace onnxquant {

class RandomAccessFile {
 public:
  explicit RandomAccessFile(const std::filesystem::path& path);  // throws DataError: missing, not a regular file
  RandomAccessFile(RandomAccessFile&& other) noexcept;
  RandomAccessFile& operator=(RandomAccessFile&& other) noexcept;
  RandomAccessFile(const RandomAccessFile&) = delete;
  RandomAccessFile& operator=(const RandomAccessFile&) = delete;
  ~RandomAccessFile();

  uint64_t size() const { return size_; }  // at open time
  const std::string& name() const { return name_; }

  // Exactly n bytes at offset into dst. A short file (truncated or changed while reading) is a DataError;
  // `where` names what is being read in the message (default: the file name).
  void read_at(uint64_t offset, size_t n, char* dst) const { read_at(offset, n, dst, name_); }
  void read_at(uint64_t offset, size_t n, char* dst, const std::string& where) const;
  // n bytes at offset, checked against the file size before allocating.
  std::string read_string(uint64_t offset, uint64_t n, const std::string& where) const;

 private:
  std::string name_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace onnxquant
