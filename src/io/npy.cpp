// .npy reading and writing. The header is a Python dict literal; we parse the small subset numpy writes
// (strings, True/False, tuples of ints) by hand rather than trusting anything, and check every size
// against the bytes actually present before allocating, because calibration data comes from users.
#include "io/npy.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "io/random_access_file.h"

namespace onnxquant {
namespace {

static_assert(std::endian::native == std::endian::little, "the .npy code assumes a little-endian host");

constexpr std::string_view kMagic = "\x93NUMPY";
// numpy itself refuses headers over 10000 bytes by default; ours only need a few hundred, so anything
// near this limit is hostile or a structured dtype we reject anyway.
constexpr uint64_t kMaxHeaderLen = 1 << 20;
constexpr size_t kMaxRank = 64;  // numpy's own NPY_MAXDIMS is 32 (64 since 2.0)
constexpr size_t kGrowthAxisMaxDigits = 21;  // numpy pads the header so the shape can grow in place
constexpr size_t kArrayAlign = 64;
constexpr uint64_t kReadWindow = 1 << 20;  // bytes per pread when gathering Fortran-order runs

// Reads exactly n bytes at offset into dst, or throws DataError naming the origin.
using ReadAt = std::function<void(uint64_t offset, size_t n, char* dst)>;

struct Layout {  // what a header says, validated against the data size
  DType dtype = DType::Undefined;
  size_t elem_size = 0;
  bool big_endian = false;
  bool fortran = false;
  Shape shape;
  uint64_t data_offset = 0;
};

[[noreturn]] void fail(const std::string& origin, const std::string& what) { throw DataError(origin + ": " + what); }

std::string excerpt(std::string_view text) {  // printable, bounded view of a header for messages
  std::string out;
  for (char c : text.substr(0, 80)) out += (c >= 32 && c < 127) ? c : '?';
  return text.size() > 80 ? out + "..." : out;
}

// ---- header dict -------------------------------------------------------------------------------------

struct HeaderValue {
  enum Kind { String, Bool, Tuple, Other } kind = Other;
  std::string text;  // String: contents; Other: what it was ("a list", "None")
  bool flag = false;
  std::vector<int64_t> ints;
};

class DictParser {
 public:
  DictParser(std::string_view text, const std::string& origin) : s_(text), origin_(origin) {}

  std::vector<std::pair<std::string, HeaderValue>> parse() {
    std::vector<std::pair<std::string, HeaderValue>> items;
    expect('{');
    while (!peek('}')) {
      HeaderValue key = value();
      if (key.kind != HeaderValue::String) error("dict keys must be strings");
      expect(':');
      items.emplace_back(key.text, value());
      if (!peek('}')) expect(',');
    }
    expect('}');
    skip_space();
    if (pos_ != s_.size()) error("unexpected text after the dict");
    return items;
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    fail(origin_, "malformed .npy header (" + what + " at offset " + std::to_string(pos_) + "): " + excerpt(s_));
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < s_.size() && s_[pos_] == c;
  }
  void expect(char c) {
    if (!peek(c)) error(std::string("expected '") + c + "'");
    ++pos_;
  }
  bool word(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }
  HeaderValue value() {
    skip_space();
    if (pos_ >= s_.size()) error("unexpected end");
    HeaderValue v;
    const char c = s_[pos_];
    if (c == '\'' || c == '"') {
      v.kind = HeaderValue::String;
      v.text = string_literal(c);
    } else if (word("True")) {
      v.kind = HeaderValue::Bool;
      v.flag = true;
    } else if (word("False")) {
      v.kind = HeaderValue::Bool;
    } else if (c == '(') {
      v.kind = HeaderValue::Tuple;
      ++pos_;
      while (!peek(')')) {
        v.ints.push_back(integer());
        if (v.ints.size() > kMaxRank) error("more than " + std::to_string(kMaxRank) + " dimensions");
        if (!peek(')')) expect(',');
      }
      ++pos_;
    } else if (c == '[' || c == '{') {  // structured dtypes are lists of tuples; skip them balanced
      v.text = c == '[' ? "a list" : "a dict";
      int depth = 0;
      do {
        if (pos_ >= s_.size()) error("unbalanced brackets");
        const char d = s_[pos_];
        if (d == '\'' || d == '"') { string_literal(d); continue; }
        depth += (d == '[' || d == '{' || d == '(') - (d == ']' || d == '}' || d == ')');
        ++pos_;
      } while (depth > 0);
    } else if (word("None")) {
      v.text = "None";
    } else {
      error("unexpected character");
    }
    return v;
  }
  std::string string_literal(char quote) {
    std::string out;
    for (++pos_; pos_ < s_.size() && s_[pos_] != quote; ++pos_) {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;  // keep the escaped char; descr strings never need more
      out += s_[pos_];
    }
    if (pos_ >= s_.size()) error("unterminated string");
    ++pos_;
    return out;
  }
  int64_t integer() {
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == '-') error("negative dimension");
    if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') error("expected a dimension");
    uint64_t n = 0;
    for (; pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9'; ++pos_) {
      n = n * 10 + static_cast<uint64_t>(s_[pos_] - '0');
      if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) error("dimension too large");
    }
    if (pos_ < s_.size() && s_[pos_] == 'L') ++pos_;  // Python 2 wrote long ints as 3L
    return static_cast<int64_t>(n);
  }

  std::string_view s_;
  const std::string& origin_;
  size_t pos_ = 0;
};

// Maps a numpy type string ("<f4", "|b1", ">i8") to our dtype, or explains why it cannot.
void parse_descr(const std::string& d, Layout& out, const std::string& origin) {
  const auto reject = [&](const std::string& why) { fail(origin, "unsupported dtype '" + d + "' (" + why + "); onnxquant reads numeric and bool arrays"); };
  size_t i = 0;
  char order = '=';
  if (!d.empty() && std::string_view("<>=|").find(d[0]) != std::string_view::npos) order = d[i++];
  if (i >= d.size()) reject("empty type");
  const char kind = d[i++];
  const std::string size_text = d.substr(i);
  const char* why = kind == 'O' ? "Python objects"
                    : (kind == 'U' || kind == 'S' || kind == 'a') ? "strings"
                    : kind == 'V' ? "raw void/structured records"
                    : kind == 'c' ? "complex numbers"
                    : (kind == 'M' || kind == 'm') ? "dates/times"
                                                    : nullptr;
  if (why) reject(why);
  if (size_text.empty() || size_text.size() > 2 || !std::all_of(size_text.begin(), size_text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    reject("not a numpy type string");
  const int size = std::stoi(size_text);
  DType t = DType::Undefined;
  if (kind == 'f') t = size == 2 ? DType::Float16 : size == 4 ? DType::Float32 : size == 8 ? DType::Float64 : t;
  if (kind == 'i') t = size == 1 ? DType::Int8 : size == 2 ? DType::Int16 : size == 4 ? DType::Int32 : size == 8 ? DType::Int64 : t;
  if (kind == 'u') t = size == 1 ? DType::UInt8 : size == 2 ? DType::UInt16 : size == 4 ? DType::UInt32 : size == 8 ? DType::UInt64 : t;
  if (kind == 'b' && size == 1) t = DType::Bool;
  if (t == DType::Undefined) reject("unknown kind or size");
  out.dtype = t;
  out.elem_size = dtype_size(t);
  out.big_endian = order == '>' && out.elem_size > 1;
}

// Parses magic, version and dict, and checks that the data the shape needs is present.
Layout parse_layout(const ReadAt& read_at, uint64_t total, const std::string& origin) {
  if (total < 10) fail(origin, "file too short for a .npy header (" + std::to_string(total) + " bytes)");
  char pre[12] = {};
  read_at(0, static_cast<size_t>(std::min<uint64_t>(total, sizeof pre)), pre);
  if (std::string_view(pre, 6) != kMagic) fail(origin, "not a .npy file (bad magic bytes)");
  const auto major = static_cast<uint8_t>(pre[6]), minor = static_cast<uint8_t>(pre[7]);
  if (major < 1 || major > 3 || minor != 0)
    fail(origin, "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor));
  const auto b = [&](int k) { return static_cast<uint64_t>(static_cast<uint8_t>(pre[k])); };
  uint64_t header_len = 0, header_start = 10;
  if (major == 1) {
    header_len = b(8) | b(9) << 8;
  } else {
    if (total < 12) fail(origin, "file too short for a version " + std::to_string(major) + ".0 .npy header");
    header_len = b(8) | b(9) << 8 | b(10) << 16 | b(11) << 24;
    header_start = 12;
  }
  if (header_len > total - header_start)
    fail(origin, "header length " + std::to_string(header_len) + " runs past the end of the file (" + std::to_string(total) + " bytes)");
  if (header_len > kMaxHeaderLen) fail(origin, "header length " + std::to_string(header_len) + " is over the limit");
  std::string text(header_len, '\0');
  read_at(header_start, text.size(), text.data());

  Layout L;
  L.data_offset = header_start + header_len;
  std::optional<HeaderValue> descr, fortran, shape;
  for (auto& [key, v] : DictParser(text, origin).parse()) {
    auto* slot = key == "descr" ? &descr : key == "fortran_order" ? &fortran : key == "shape" ? &shape : nullptr;
    if (!slot) fail(origin, "unexpected key '" + excerpt(key) + "' in .npy header");
    if (*slot) fail(origin, "duplicate key '" + key + "' in .npy header");
    *slot = std::move(v);
  }
  if (!descr || !fortran || !shape) fail(origin, ".npy header lacks one of 'descr', 'fortran_order', 'shape': " + excerpt(text));
  if (descr->kind != HeaderValue::String)
    fail(origin, "unsupported dtype: the header's 'descr' is " + (descr->text.empty() ? "not a string" : descr->text) +
                     " (a structured dtype); onnxquant reads numeric and bool arrays");
  if (fortran->kind != HeaderValue::Bool) fail(origin, "'fortran_order' in .npy header is not True/False");
  if (shape->kind != HeaderValue::Tuple) fail(origin, "'shape' in .npy header is not a tuple of integers");
  parse_descr(descr->text, L, origin);
  L.shape = shape->ints;
  L.fortran = fortran->flag && L.shape.size() > 1;

  // Multiply the non-zero dims too, so that any partial product (a row's size) is known not to overflow.
  uint64_t nonzero = 1;
  bool has_zero = false;
  for (int64_t d : L.shape) {
    if (d == 0) { has_zero = true; continue; }
    if (nonzero > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / L.elem_size / static_cast<uint64_t>(d))
      fail(origin, "absurd shape " + shape_string(L.shape) + " (too many elements)");
    nonzero *= static_cast<uint64_t>(d);
  }
  const uint64_t need = has_zero ? 0 : nonzero * L.elem_size;
  const uint64_t have = total - L.data_offset;
  if (need > have)
    fail(origin, "data is " + std::to_string(have) + " bytes but shape " + shape_string(L.shape) + " of " + dtype_name(L.dtype) +
                     " needs " + std::to_string(need) + " (truncated file?)");
  return L;
}

// ---- data --------------------------------------------------------------------------------------------

template <size_t N>
void copy_fortran_to_c(const std::byte* src, std::byte* dst, const Shape& shape) {
  // Fortran layout: axis 0 varies fastest. Walk the output in C order with an odometer and keep the
  // source offset in step, so any rank works without recursion.
  const size_t rank = shape.size();
  std::vector<int64_t> fstride(rank), idx(rank, 0);
  int64_t s = 1;
  for (size_t k = 0; k < rank; ++k) { fstride[k] = s; s *= shape[k]; }
  const int64_t total = s;
  int64_t off = 0;
  for (int64_t i = 0; i < total; ++i) {
    std::memcpy(dst + i * N, src + off * N, N);
    for (size_t k = rank; k-- > 0;) {
      if (++idx[k] < shape[k]) { off += fstride[k]; break; }
      off -= fstride[k] * (shape[k] - 1);
      idx[k] = 0;
    }
  }
}

void fortran_to_c(const std::byte* src, std::byte* dst, const Shape& shape, size_t elem_size) {
  switch (elem_size) {
    case 1: copy_fortran_to_c<1>(src, dst, shape); break;
    case 2: copy_fortran_to_c<2>(src, dst, shape); break;
    case 4: copy_fortran_to_c<4>(src, dst, shape); break;
    default: copy_fortran_to_c<8>(src, dst, shape); break;
  }
}

void to_native(Tensor& t, const Layout& L) {
  if (L.big_endian)
    for (size_t i = 0; i + L.elem_size <= t.bytes.size(); i += L.elem_size) std::reverse(t.bytes.begin() + i, t.bytes.begin() + i + L.elem_size);
  // Downstream code treats bool bytes as 0/1; a crafted file could hold other values.
  if (L.dtype == DType::Bool)
    for (auto& b : t.bytes) b = b != std::byte{0} ? std::byte{1} : std::byte{0};
}

// Rows [first, first+count) of axis 0, in C order. The caller has checked the range.
Tensor read_rows_of(const Layout& L, const ReadAt& read_at, int64_t first, int64_t count) {
  if (L.shape.empty()) {  // 0-d: the scalar itself
    Tensor t(L.dtype, {});
    read_at(L.data_offset, t.bytes.size(), reinterpret_cast<char*>(t.bytes.data()));
    to_native(t, L);
    return t;
  }
  Shape out_shape = L.shape;
  out_shape[0] = count;
  Tensor t(L.dtype, out_shape);
  const uint64_t es = L.elem_size;
  const auto d0 = static_cast<uint64_t>(L.shape[0]);
  if (!L.fortran || static_cast<uint64_t>(count) == d0) {
    // C order rows are contiguous; so is the whole array in Fortran order.
    const uint64_t row_bytes = t.bytes.size() / std::max<uint64_t>(static_cast<uint64_t>(count), 1);
    if (!t.bytes.empty()) read_at(L.data_offset + static_cast<uint64_t>(first) * row_bytes, t.bytes.size(), reinterpret_cast<char*>(t.bytes.data()));
    if (L.fortran) {
      std::vector<std::byte> f(t.bytes);
      fortran_to_c(f.data(), t.bytes.data(), out_shape, es);
    }
  } else if (!t.bytes.empty()) {
    // In Fortran order the selected rows are `runs` runs of `count` elements, one per index of the other
    // axes, spaced shape[0] elements apart. Read them through a bounded window so that neither many tiny
    // preads nor reading the whole file is needed.
    const uint64_t runs = t.bytes.size() / es / static_cast<uint64_t>(count);
    const uint64_t len = static_cast<uint64_t>(count) * es, stride = d0 * es;
    std::vector<std::byte> f(t.bytes.size());
    std::vector<char> window;
    for (uint64_t r = 0; r < runs;) {
      const uint64_t k = len >= kReadWindow ? 1 : std::min(runs - r, (kReadWindow - len) / stride + 1);
      const uint64_t span = (k - 1) * stride + len;
      window.resize(span);
      read_at(L.data_offset + (static_cast<uint64_t>(first) + r * d0) * es, span, window.data());
      for (uint64_t j = 0; j < k; ++j) std::memcpy(f.data() + (r + j) * len, window.data() + j * stride, len);
      r += k;
    }
    fortran_to_c(f.data(), t.bytes.data(), out_shape, es);
  }
  to_native(t, L);
  return t;
}

const char* descr_of(DType t) {
  switch (t) {
    case DType::Float32: return "<f4";
    case DType::Float64: return "<f8";
    case DType::Float16: return "<f2";
    case DType::Int8: return "|i1";
    case DType::UInt8: return "|u1";
    case DType::Int16: return "<i2";
    case DType::UInt16: return "<u2";
    case DType::Int32: return "<i4";
    case DType::UInt32: return "<u4";
    case DType::Int64: return "<i8";
    case DType::UInt64: return "<u8";
    case DType::Bool: return "|b1";
    default: return nullptr;
  }
}

}  // namespace

// ---- public API --------------------------------------------------------------------------------------

Tensor parse_npy(std::string_view bytes, const std::string& origin) {
  const ReadAt read_at = [&](uint64_t offset, size_t n, char* dst) {
    if (offset > bytes.size() || n > bytes.size() - offset) fail(origin, "read past the end of the data");
    std::memcpy(dst, bytes.data() + offset, n);
  };
  const Layout L = parse_layout(read_at, bytes.size(), origin);
  return read_rows_of(L, read_at, 0, L.shape.empty() ? 1 : L.shape[0]);
}

Tensor read_npy(const std::filesystem::path& path) {
  NpyReader reader(path);
  return reader.read_rows(0, reader.rows());
}

std::string npy_header(const Tensor& tensor) {
  const char* descr = descr_of(tensor.dtype);
  if (!descr) throw DataError("cannot write a " + dtype_name(tensor.dtype) + " tensor to .npy (numpy has no such dtype)");
  const int64_t n = element_count(tensor.shape);
  if (tensor.bytes.size() != static_cast<uint64_t>(n) * dtype_size(tensor.dtype))
    throw DataError("cannot write .npy: tensor of shape " + shape_string(tensor.shape) + " holds " + std::to_string(tensor.bytes.size()) + " bytes");
  // Same text as numpy's repr of the dict and of the shape tuple, so the files are byte-identical.
  std::string shape = "(";
  for (size_t i = 0; i < tensor.shape.size(); ++i) shape += (i ? ", " : "") + std::to_string(tensor.shape[i]);
  shape += tensor.shape.size() == 1 ? ",)" : ")";
  std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  if (!tensor.shape.empty()) dict.append(kGrowthAxisMaxDigits - std::to_string(tensor.shape[0]).size(), ' ');
  // Version 1.0 stores the length in 16 bits; only absurd ranks need 2.0.
  const size_t prefix = dict.size() + 1 + kArrayAlign <= 0xffff ? 10 : 12;
  const size_t pad = kArrayAlign - (prefix + dict.size() + 1) % kArrayAlign;  // numpy pads 64 when already aligned
  const uint64_t len = dict.size() + pad + 1;
  std::string out(kMagic);
  out += prefix == 10 ? '\x01' : '\x02';
  out += '\0';
  for (size_t i = 0; i < prefix - 8; ++i) out += static_cast<char>((len >> (8 * i)) & 0xff);
  out += dict;
  out.append(pad, ' ');
  out += '\n';
  return out;
}

std::string npy_bytes(const Tensor& tensor) {
  std::string out = npy_header(tensor);
  out.append(reinterpret_cast<const char*>(tensor.bytes.data()), tensor.bytes.size());
  return out;
}

void write_npy(const std::filesystem::path& path, const Tensor& tensor) {
  std::string header;
  try {
    header = npy_header(tensor);  // validates before a temp file is created
  } catch (const DataError& e) {
    fail(path.string(), e.what());
  }
  write_file_atomically(path, [&](std::ostream& out) {
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(reinterpret_cast<const char*>(tensor.bytes.data()), static_cast<std::streamsize>(tensor.bytes.size()));
  });
}

struct NpyReader::Impl {
  explicit Impl(const std::filesystem::path& path) : file(path) {
    read_at = [this](uint64_t offset, size_t n, char* dst) { file.read_at(offset, n, dst); };
    layout = parse_layout(read_at, file.size(), file.name());
  }
  RandomAccessFile file;
  ReadAt read_at;
  Layout layout;
};

NpyReader::NpyReader(const std::filesystem::path& path) : impl_(std::make_unique<Impl>(path)) {}
NpyReader::NpyReader(NpyReader&&) noexcept = default;
NpyReader& NpyReader::operator=(NpyReader&&) noexcept = default;
NpyReader::~NpyReader() = default;
DType NpyReader::dtype() const { return impl_->layout.dtype; }
const Shape& NpyReader::shape() const { return impl_->layout.shape; }
int64_t NpyReader::rows() const { return impl_->layout.shape.empty() ? 1 : impl_->layout.shape[0]; }

Tensor NpyReader::read_rows(int64_t first, int64_t count) const {
  const int64_t n = rows();
  if (first < 0 || count < 0 || first > n || count > n - first)
    fail(impl_->file.name(), "rows [" + std::to_string(first) + ", " + std::to_string(first) + "+" + std::to_string(count) +
                                 ") are out of range: the array has " + std::to_string(n) + " rows");
  if (impl_->layout.shape.empty() && count == 0) return Tensor(impl_->layout.dtype, {0});
  return read_rows_of(impl_->layout, impl_->read_at, first, count);
}

}  // namespace onnxquant
