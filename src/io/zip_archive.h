// Just enough of the zip format for .npz: read stored and deflated members (zip64 aware, CRC checked)
// by offset without loading the archive, and write stored members. Hostile archives get a DataError
// naming the file and member; every declared size is checked against the file before allocating.
#pragma once
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace onnxquant::zip {

struct Entry {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;  // 0 stored, 8 deflated; others are rejected by read()
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
};

class Reader {
 public:
  explicit Reader(const std::filesystem::path& path);  // parses the central directory
  Reader(Reader&&) noexcept;
  ~Reader();
  const std::vector<Entry>& entries() const;
  // The member's uncompressed bytes, CRC checked. Memory grows with the data actually inflated, never
  // just because a header claims a large size.
  std::string read(const Entry& entry) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Zip64 records are needed past 4 GiB or 65535 members; Always forces them (numpy always writes a zip64
// extra in local headers) so the paths can be tested on small archives.
enum class Zip64 { WhenNeeded, Always };
struct WriteOptions {
  Zip64 zip64 = Zip64::WhenNeeded;
};

// Writes a zip with stored (uncompressed) members to a stream, one member at a time. Timestamps are fixed
// (1980-01-01) so that the same arrays give the same bytes.
class Writer {
 public:
  explicit Writer(std::ostream& out, WriteOptions options = {});
  // The member's data is the concatenation of `pieces` (e.g. a header and a tensor's bytes, uncopied).
  void add(const std::string& name, std::initializer_list<std::string_view> pieces);
  void finish();  // writes the central directory; nothing may be added afterwards

 private:
  struct Record {
    std::string name;
    uint32_t crc32;
    uint64_t size;
    uint64_t offset;
  };
  void put(std::string_view bytes);
  std::ostream& out_;
  WriteOptions options_;
  std::vector<Record> records_;
  uint64_t offset_ = 0;
  bool finished_ = false;
};

}  // namespace onnxquant::zip
