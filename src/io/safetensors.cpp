// Reference: https://github.com/huggingface/safetensors (format section of its README). The header is
// untrusted JSON: its size is capped as the reference implementation caps it, and every number in it is
// checked against the file before anything is allocated or read.
#include "io/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cstring>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "io/random_access_file.h"

namespace onnxquant {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian, as is this host");

constexpr uint64_t kMaxHeader = 100'000'000;  // the reference implementation's limit
constexpr size_t kMaxRank = 64;

[[noreturn]] void fail(const std::string& where, const std::string& what) { throw DataError(where + ": " + what); }

const std::vector<std::pair<std::string, DType>>& codes() {
  static const std::vector<std::pair<std::string, DType>> table{
      {"F32", DType::Float32}, {"F16", DType::Float16}, {"BF16", DType::BFloat16}, {"F64", DType::Float64},
      {"I64", DType::Int64},   {"I32", DType::Int32},   {"I16", DType::Int16},     {"I8", DType::Int8},
      {"U64", DType::UInt64},  {"U32", DType::UInt32},  {"U16", DType::UInt16},    {"U8", DType::UInt8},
      {"BOOL", DType::Bool}};
  return table;
}

uint64_t non_negative(const nlohmann::json& v, const std::string& where, const char* what) {
  if (!v.is_number_unsigned())  // nlohmann parses every non-negative integer literal as unsigned
    fail(where, std::string(what) + " must be non-negative integers, got " + v.dump());
  return v.get<uint64_t>();
}

SafetensorsEntry parse_entry(const std::string& name, const nlohmann::json& v, uint64_t data_start, uint64_t data_size,
                             const std::string& file) {
  const std::string where = file + ": tensor '" + name + "'";
  if (!v.is_object()) fail(where, "header entry is not an object");
  SafetensorsEntry e;
  e.name = name;
  const auto dt = v.find("dtype");
  if (dt == v.end() || !dt->is_string()) fail(where, "header entry has no \"dtype\" string");
  e.dtype = safetensors_dtype(dt->get<std::string>());
  if (e.dtype == DType::Undefined)
    fail(where, "dtype " + dt->get<std::string>() + " is not supported (F32, F16, BF16, F64, I64, I32, I16, I8, U64, U32, U16, U8, BOOL)");
  const auto sh = v.find("shape");
  if (sh == v.end() || !sh->is_array() || sh->size() > kMaxRank) fail(where, "header entry has no \"shape\" list (or rank over 64)");
  for (const auto& d : *sh) {
    const uint64_t dim = non_negative(d, where, "shape dims");
    if (dim > static_cast<uint64_t>(INT64_MAX)) fail(where, "shape dim " + d.dump() + " is too large");
    e.shape.push_back(static_cast<int64_t>(dim));
  }
  const auto off = v.find("data_offsets");
  if (off == v.end() || !off->is_array() || off->size() != 2) fail(where, "header entry has no \"data_offsets\": [begin, end]");
  const uint64_t begin = non_negative((*off)[0], where, "data_offsets"), end = non_negative((*off)[1], where, "data_offsets");
  if (begin > end) fail(where, "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] run backwards");
  if (end > data_size)
    fail(where, "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] lie outside the " + std::to_string(data_size) +
                    " data bytes of the file (truncated?)");
  int64_t n = 0;
  try {
    n = element_count(e.shape);
  } catch (const DataError&) {
    fail(where, "shape " + shape_string(e.shape) + " is too large");
  }
  const uint64_t es = dtype_size(e.dtype);
  if (static_cast<uint64_t>(n) > data_size / es)
    fail(where, "shape " + shape_string(e.shape) + " of " + dt->get<std::string>() + " needs more bytes than the file holds");
  if (static_cast<uint64_t>(n) * es != end - begin)
    fail(where, "shape " + shape_string(e.shape) + " of " + dt->get<std::string>() + " needs " + std::to_string(static_cast<uint64_t>(n) * es) +
                    " bytes but data_offsets give " + std::to_string(end - begin));
  e.offset = data_start + begin;
  e.bytes = end - begin;
  return e;
}

}  // namespace

DType safetensors_dtype(const std::string& code) {
  for (const auto& [c, t] : codes())
    if (c == code) return t;
  return DType::Undefined;
}

std::string safetensors_code(DType dtype) {
  for (const auto& [c, t] : codes())
    if (t == dtype) return c;
  return {};
}

struct SafetensorsReader::Impl {
  explicit Impl(const std::filesystem::path& path) : file(path) {}
  RandomAccessFile file;
  std::vector<SafetensorsEntry> entries;
  std::map<std::string, std::string> metadata;

  void parse() {
    const std::string& name = file.name();
    if (file.size() < 8) fail(name, "too short for a .safetensors file (" + std::to_string(file.size()) + " bytes)");
    unsigned char len[8];
    file.read_at(0, 8, reinterpret_cast<char*>(len));
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = n << 8 | len[i];
    if (n > kMaxHeader) fail(name, "header length " + std::to_string(n) + " is over the 100 MB limit (not a .safetensors file?)");
    if (n > file.size() - 8) fail(name, "header length " + std::to_string(n) + " runs past the end of the file");
    const std::string text = file.read_string(8, n, name + " (header)");
    if (text.empty() || text[0] != '{') fail(name, "header is not a JSON object (not a .safetensors file?)");
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) fail(name, "header is not valid JSON");
    const uint64_t data_start = 8 + n, data_size = file.size() - data_start;
    for (const auto& [key, v] : j.items()) {
      if (key == "__metadata__") {
        if (!v.is_object()) fail(name, "__metadata__ is not an object");
        for (const auto& [mk, mv] : v.items()) {
          if (!mv.is_string()) fail(name, "__metadata__ value of '" + mk + "' is not a string");
          metadata.emplace(mk, mv.get<std::string>());
        }
        continue;
      }
      entries.push_back(parse_entry(key, v, data_start, data_size, name));
    }
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.offset < b.offset || (a.offset == b.offset && a.bytes < b.bytes); });
    for (size_t i = 1; i < entries.size(); ++i) {
      const auto& prev = entries[i - 1];
      if (entries[i].offset < prev.offset + prev.bytes)
        fail(name, "tensors '" + prev.name + "' and '" + entries[i].name + "' overlap in the file");
    }
  }
};

SafetensorsReader::SafetensorsReader(const std::filesystem::path& path) : impl_(std::make_unique<Impl>(path)) { impl_->parse(); }
SafetensorsReader::SafetensorsReader(SafetensorsReader&&) noexcept = default;
SafetensorsReader::~SafetensorsReader() = default;
const std::string& SafetensorsReader::name() const { return impl_->file.name(); }
const std::vector<SafetensorsEntry>& SafetensorsReader::entries() const { return impl_->entries; }
const std::map<std::string, std::string>& SafetensorsReader::metadata() const { return impl_->metadata; }

const SafetensorsEntry* SafetensorsReader::find(const std::string& tensor) const {
  for (const auto& e : impl_->entries)
    if (e.name == tensor) return &e;
  return nullptr;
}

Tensor SafetensorsReader::read(const SafetensorsEntry& e) const {
  Tensor t(e.dtype, e.shape);
  impl_->file.read_at(e.offset, t.bytes.size(), reinterpret_cast<char*>(t.bytes.data()), name() + ": tensor '" + e.name + "'");
  return t;
}

Tensor SafetensorsReader::read_rows(const SafetensorsEntry& e, int64_t first, int64_t count) const {
  const int64_t rows = e.shape.empty() ? 1 : e.shape[0];
  if (first < 0 || count < 0 || first > rows || count > rows - first)
    fail(name() + ": tensor '" + e.name + "'", "rows [" + std::to_string(first) + ", +" + std::to_string(count) + ") are out of range (" +
                                                   std::to_string(rows) + " rows)");
  if (e.shape.empty()) return read(e);
  Shape shape = e.shape;
  shape[0] = count;
  Tensor t(e.dtype, shape);
  const uint64_t row_bytes = e.shape[0] == 0 ? 0 : e.bytes / static_cast<uint64_t>(e.shape[0]);
  impl_->file.read_at(e.offset + static_cast<uint64_t>(first) * row_bytes, t.bytes.size(), reinterpret_cast<char*>(t.bytes.data()),
                      name() + ": tensor '" + e.name + "'");
  return t;
}

void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    const std::string code = safetensors_code(t.dtype);
    if (code.empty()) throw DataError(path.string() + ": cannot write a " + dtype_name(t.dtype) + " tensor ('" + name + "') to .safetensors");
    if (t.bytes.size() != static_cast<uint64_t>(element_count(t.shape)) * dtype_size(t.dtype))
      throw DataError(path.string() + ": tensor '" + name + "' holds " + std::to_string(t.bytes.size()) + " bytes for shape " +
                      shape_string(t.shape));
    header[name] = {{"dtype", code}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned for memory-mapping readers
  write_file_atomically(path, [&](std::ostream& out) {
    char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<char>(static_cast<uint64_t>(text.size()) >> (8 * i) & 0xff);
    out.write(len, 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& [name, t] : tensors) out.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
  });
}

}  // namespace onnxquant
