// Layout references: PKWARE APPNOTE.TXT sections 4.3 (records) and 4.5.3 (zip64 extra field). Only
// single-disk archives are accepted; that is all numpy (Python's zipfile) writes.
#include "io/zip_archive.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/errors.h"
#include "io/random_access_file.h"

namespace onnxquant::zip {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50, kLocator64Sig = 0x07064b50;
constexpr size_t kLocalLen = 30, kCentralLen = 46, kEndLen = 22, kEnd64Len = 56, kLocator64Len = 20;
constexpr uint32_t kMax32 = 0xffffffff;
constexpr uint16_t kMax16 = 0xffff, kZip64ExtraId = 0x0001;
constexpr uint16_t kFlagEncrypted = 0x1, kFlagUtf8 = 0x800;
constexpr uint16_t kDosDate1980 = (0 << 9) | (1 << 5) | 1;  // 1980-01-01, the earliest DOS date
constexpr size_t kChunk = 1 << 20;

[[noreturn]] void fail(const std::string& where, const std::string& what) { throw DataError(where + ": " + what); }

// Little-endian fields from a bounded buffer; running off the end is a DataError, never a wild read.
class Cursor {
 public:
  Cursor(std::string_view data, std::string where) : d_(data), where_(std::move(where)) {}
  uint64_t le(size_t n) {
    need(n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(d_[pos_ + i])) << (8 * i);
    pos_ += n;
    return v;
  }
  uint16_t u16() { return static_cast<uint16_t>(le(2)); }
  uint32_t u32() { return static_cast<uint32_t>(le(4)); }
  uint64_t u64() { return le(8); }
  std::string_view bytes(size_t n) {
    need(n);
    pos_ += n;
    return d_.substr(pos_ - n, n);
  }
  void skip(size_t n) { bytes(n); }
  size_t left() const { return d_.size() - pos_; }

 private:
  void need(size_t n) const {
    if (n > d_.size() - pos_) fail(where_, "record is truncated");
  }
  std::string_view d_;
  std::string where_;
  size_t pos_ = 0;
};

std::string member(const std::string& file, const std::string& name) { return file + ": member '" + name + "'"; }

// Replaces the 32-bit fields that are saturated (0xffffffff) with the 64-bit values of a zip64 extra.
void apply_zip64_extra(std::string_view extra, Entry& e, const std::string& where) {
  Cursor c(extra, where + " (extra field)");
  while (c.left() >= 4) {
    const uint16_t id = c.u16(), len = c.u16();
    std::string_view body = c.bytes(len);
    if (id != kZip64ExtraId) continue;
    Cursor z(body, where + " (zip64 extra field)");
    if (e.uncompressed_size == kMax32) e.uncompressed_size = z.u64();
    if (e.compressed_size == kMax32) e.compressed_size = z.u64();
    if (e.local_header_offset == kMax32) e.local_header_offset = z.u64();
    return;
  }
}

uint32_t crc_of(const char* data, uint64_t n, uint32_t crc) {
  for (uint64_t done = 0; done < n;) {  // zlib's length is 32-bit
    const uInt step = static_cast<uInt>(std::min<uint64_t>(n - done, kChunk));
    crc = static_cast<uint32_t>(::crc32(crc, reinterpret_cast<const Bytef*>(data + done), step));
    done += step;
  }
  return crc;
}

}  // namespace

struct Reader::Impl {
  explicit Impl(const std::filesystem::path& path) : file(path), name(file.name()), size(file.size()) {}
  RandomAccessFile file;
  std::string name;
  uint64_t size = 0;
  uint64_t cd_offset = 0;  // members must lie before the central directory
  std::vector<Entry> entries;

  void read_at(uint64_t offset, size_t n, char* dst, const std::string& where) const {
    if (offset > size || n > size - offset) fail(where, "points past the end of the file");
    file.read_at(offset, n, dst, where);
  }
  std::string read_string(uint64_t offset, uint64_t n, const std::string& where) const { return file.read_string(offset, n, where); }

  void parse_directory() {
    // The end record sits in the last 22 bytes plus an optional comment of up to 64 KiB.
    const uint64_t tail_len = std::min<uint64_t>(size, kEndLen + kMax16);
    const std::string tail = read_string(size - tail_len, tail_len, name);
    uint64_t end_pos = std::numeric_limits<uint64_t>::max();
    for (size_t i = tail.size() >= kEndLen ? tail.size() - kEndLen + 1 : 0; i-- > 0;) {
      if (std::memcmp(tail.data() + i, "PK\x05\x06", 4) != 0) continue;
      const size_t comment_len = static_cast<uint8_t>(tail[i + 20]) | static_cast<size_t>(static_cast<uint8_t>(tail[i + 21])) << 8;
      if (comment_len <= tail.size() - i - kEndLen) { end_pos = size - tail_len + i; break; }
    }
    if (end_pos == std::numeric_limits<uint64_t>::max()) fail(name, "not a zip/.npz archive (no end of central directory record)");
    Cursor end(std::string_view(tail).substr(static_cast<size_t>(end_pos - (size - tail_len))), name + " (end record)");
    end.skip(4);
    const uint16_t disk = end.u16(), cd_disk = end.u16();
    end.skip(2);
    uint64_t count = end.u16(), cd_size = end.u32();
    cd_offset = end.u32();
    uint64_t cd_limit = end_pos;  // the directory ends where the end records begin

    if (end_pos >= kLocator64Len) {
      const std::string loc = read_string(end_pos - kLocator64Len, kLocator64Len, name);
      Cursor l(loc, name + " (zip64 locator)");
      if (l.u32() == kLocator64Sig) {
        l.skip(4);
        const uint64_t rec = l.u64();
        if (rec > end_pos - kLocator64Len || end_pos - kLocator64Len - rec < kEnd64Len) fail(name, "zip64 end record is out of place");
        const std::string r = read_string(rec, kEnd64Len, name);
        Cursor z(r, name + " (zip64 end record)");
        if (z.u32() != kEnd64Sig) fail(name, "zip64 locator does not point at a zip64 end record");
        z.skip(8 + 2 + 2 + 4 + 4 + 8);
        count = z.u64();
        cd_size = z.u64();
        cd_offset = z.u64();
        cd_limit = rec;
      }
    }
    if (disk != 0 || cd_disk != 0) fail(name, "multi-disk (split) zip archives are not supported");
    if (cd_offset > cd_limit || cd_size > cd_limit - cd_offset)
      fail(name, "central directory (offset " + std::to_string(cd_offset) + ", " + std::to_string(cd_size) + " bytes) lies outside the file");
    if (count > cd_size / kCentralLen)
      fail(name, "central directory claims " + std::to_string(count) + " members but has room for " + std::to_string(cd_size / kCentralLen));

    const std::string cd = read_string(cd_offset, cd_size, name);
    Cursor c(cd, name + " (central directory)");
    entries.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      if (c.u32() != kCentralSig) fail(name, "central directory entry " + std::to_string(i) + " has a bad signature");
      Entry e;
      c.skip(4);
      e.flags = c.u16();
      e.method = c.u16();
      c.skip(4);
      e.crc32 = c.u32();
      e.compressed_size = c.u32();
      e.uncompressed_size = c.u32();
      const uint16_t name_len = c.u16(), extra_len = c.u16(), comment_len = c.u16();
      c.skip(8);
      e.local_header_offset = c.u32();
      e.name = std::string(c.bytes(name_len));
      apply_zip64_extra(c.bytes(extra_len), e, member(name, e.name));
      c.skip(comment_len);
      entries.push_back(std::move(e));
    }
  }

  // Offset of the member's data, after checking its local header agrees with the directory.
  uint64_t data_offset(const Entry& e, const std::string& where) const {
    if (e.local_header_offset > cd_offset || cd_offset - e.local_header_offset < kLocalLen)
      fail(where, "local header lies outside the archive's data");
    const std::string h = read_string(e.local_header_offset, kLocalLen, where);
    Cursor c(h, where + " (local header)");
    if (c.u32() != kLocalSig) fail(where, "bad local header signature");
    c.skip(22);
    const uint16_t name_len = c.u16(), extra_len = c.u16();
    const uint64_t start = e.local_header_offset + kLocalLen + name_len + extra_len;
    if (start > cd_offset) fail(where, "local header runs into the central directory");
    if (read_string(e.local_header_offset + kLocalLen, name_len, where) != e.name)
      fail(where, "name in local header differs from the central directory");
    if (e.compressed_size > cd_offset - start)
      fail(where, "compressed size " + std::to_string(e.compressed_size) + " runs past the member's data");
    return start;
  }

  std::string inflate_member(const Entry& e, uint64_t start, const std::string& where) const {
    z_stream s{};
    if (inflateInit2(&s, -MAX_WBITS) != Z_OK) fail(where, "cannot initialise zlib");
    struct Guard {
      z_stream* s;
      ~Guard() { inflateEnd(s); }
    } guard{&s};
    // Grow the output as data arrives (capped by the declared size) instead of trusting the declaration.
    std::string out(static_cast<size_t>(std::min<uint64_t>(e.uncompressed_size, std::max<uint64_t>(kChunk, e.compressed_size))), '\0');
    std::string in;
    uint64_t consumed = 0, produced = 0;
    char overflow = 0;  // output slot once the declared size is reached: anything landing here is too much
    for (int ret = Z_OK; ret != Z_STREAM_END;) {
      if (s.avail_in == 0 && consumed < e.compressed_size) {
        in.resize(static_cast<size_t>(std::min<uint64_t>(kChunk, e.compressed_size - consumed)));
        read_at(start + consumed, in.size(), in.data(), where);
        consumed += in.size();
        s.next_in = reinterpret_cast<Bytef*>(in.data());
        s.avail_in = static_cast<uInt>(in.size());
      }
      if (produced == out.size() && out.size() < e.uncompressed_size)
        out.resize(static_cast<size_t>(std::min<uint64_t>(e.uncompressed_size, out.size() * 2)));
      const bool full = produced == out.size();
      s.next_out = full ? reinterpret_cast<Bytef*>(&overflow) : reinterpret_cast<Bytef*>(out.data() + produced);
      s.avail_out = full ? 1 : static_cast<uInt>(std::min<uint64_t>(out.size() - produced, kMax32));
      const uInt room = s.avail_out;
      ret = inflate(&s, Z_NO_FLUSH);
      if (full && s.avail_out != room) fail(where, "inflates to more than the declared " + std::to_string(e.uncompressed_size) + " bytes");
      produced += room - s.avail_out;
      if (ret == Z_BUF_ERROR && s.avail_in == 0 && consumed == e.compressed_size) fail(where, "deflate stream is truncated");
      if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR)
        fail(where, std::string("corrupt deflate data (") + (s.msg ? s.msg : "zlib error " + std::to_string(ret)) + ")");
    }
    if (produced != e.uncompressed_size)
      fail(where, "inflates to " + std::to_string(produced) + " bytes but the directory says " + std::to_string(e.uncompressed_size));
    return out;
  }
};

Reader::Reader(const std::filesystem::path& path) : impl_(std::make_unique<Impl>(path)) { impl_->parse_directory(); }
Reader::Reader(Reader&&) noexcept = default;
Reader::~Reader() = default;
const std::vector<Entry>& Reader::entries() const { return impl_->entries; }

std::string Reader::read(const Entry& e) const {
  const std::string where = member(impl_->name, e.name);
  if (e.flags & kFlagEncrypted) fail(where, "is encrypted");
  if (e.method != 0 && e.method != 8) fail(where, "uses compression method " + std::to_string(e.method) + " (only stored and deflate are supported)");
  const uint64_t start = impl_->data_offset(e, where);
  std::string data;
  if (e.method == 0) {
    if (e.compressed_size != e.uncompressed_size) fail(where, "stored member has different compressed and uncompressed sizes");
    data = impl_->read_string(start, e.compressed_size, where);  // size already bounded by the file
  } else {
    data = impl_->inflate_member(e, start, where);
  }
  const uint32_t crc = crc_of(data.data(), data.size(), static_cast<uint32_t>(::crc32(0, nullptr, 0)));
  if (crc != e.crc32) fail(where, "CRC mismatch (corrupt archive)");
  return data;
}

// ---- writing -----------------------------------------------------------------------------------------

namespace {
void le(std::string& s, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}
uint16_t name_flags(const std::string& name) {  // bit 11 tells readers the name is UTF-8
  return std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; }) ? kFlagUtf8 : 0;
}
}  // namespace

Writer::Writer(std::ostream& out, WriteOptions options) : out_(out), options_(options) {}

void Writer::put(std::string_view bytes) {
  out_.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  offset_ += bytes.size();
}

void Writer::add(const std::string& name, std::initializer_list<std::string_view> pieces) {
  if (finished_) throw InternalError("zip::Writer::add after finish");
  if (name.empty() || name.size() > kMax16) throw DataError("cannot store a zip member named '" + name + "'");
  Record r{name, static_cast<uint32_t>(::crc32(0, nullptr, 0)), 0, offset_};
  for (auto p : pieces) {
    r.crc32 = crc_of(p.data(), p.size(), r.crc32);
    r.size += p.size();
  }
  const bool big = options_.zip64 == Zip64::Always || r.size >= kMax32;
  std::string h;
  le(h, kLocalSig, 4);
  le(h, big ? 45 : 20, 2);  // version needed: 4.5 for zip64
  le(h, name_flags(name), 2);
  le(h, 0, 2);  // stored
  le(h, 0, 2);
  le(h, kDosDate1980, 2);
  le(h, r.crc32, 4);
  le(h, big ? kMax32 : r.size, 4);
  le(h, big ? kMax32 : r.size, 4);
  le(h, name.size(), 2);
  le(h, big ? 20 : 0, 2);
  h += name;
  if (big) {  // a local zip64 extra holds both sizes
    le(h, kZip64ExtraId, 2);
    le(h, 16, 2);
    le(h, r.size, 8);
    le(h, r.size, 8);
  }
  put(h);
  for (auto p : pieces) put(p);
  records_.push_back(std::move(r));
}

void Writer::finish() {
  if (finished_) return;
  finished_ = true;
  const bool always = options_.zip64 == Zip64::Always;
  const uint64_t cd_start = offset_;
  for (const Record& r : records_) {
    const bool big_size = always || r.size >= kMax32, big_offset = always || r.offset >= kMax32;
    std::string extra;
    if (big_size || big_offset) {  // only the saturated fields appear, in this order
      std::string body;
      if (big_size) le(body, r.size, 8), le(body, r.size, 8);
      if (big_offset) le(body, r.offset, 8);
      le(extra, kZip64ExtraId, 2);
      le(extra, body.size(), 2);
      extra += body;
    }
    const uint16_t version = extra.empty() ? 20 : 45;
    std::string h;
    le(h, kCentralSig, 4);
    le(h, (3u << 8) | version, 2);  // made by: Unix, so unzip applies the permissions below
    le(h, version, 2);
    le(h, name_flags(r.name), 2);
    le(h, 0, 2);
    le(h, 0, 2);
    le(h, kDosDate1980, 2);
    le(h, r.crc32, 4);
    le(h, big_size ? kMax32 : r.size, 4);
    le(h, big_size ? kMax32 : r.size, 4);
    le(h, r.name.size(), 2);
    le(h, extra.size(), 2);
    le(h, 0, 2);                       // comment
    le(h, 0, 2);                       // disk
    le(h, 0, 2);                       // internal attributes
    le(h, uint64_t{0100644} << 16, 4);  // regular file, rw-r--r--
    le(h, big_offset ? kMax32 : r.offset, 4);
    h += r.name;
    h += extra;
    put(h);
  }
  const uint64_t cd_size = offset_ - cd_start, count = records_.size();
  const bool end64 = always || count >= kMax16 || cd_start >= kMax32 || cd_size >= kMax32;
  std::string t;
  if (end64) {
    const uint64_t rec = offset_;
    le(t, kEnd64Sig, 4);
    le(t, kEnd64Len - 12, 8);  // size of the rest of the record
    le(t, (3u << 8) | 45, 2);
    le(t, 45, 2);
    le(t, 0, 4);
    le(t, 0, 4);
    le(t, count, 8);
    le(t, count, 8);
    le(t, cd_size, 8);
    le(t, cd_start, 8);
    le(t, kLocator64Sig, 4);
    le(t, 0, 4);
    le(t, rec, 8);
    le(t, 1, 4);  // total disks
  }
  le(t, kEndSig, 4);
  le(t, 0, 2);
  le(t, 0, 2);
  le(t, end64 ? kMax16 : count, 2);
  le(t, end64 ? kMax16 : count, 2);
  le(t, end64 ? kMax32 : cd_size, 4);
  le(t, end64 ? kMax32 : cd_start, 4);
  le(t, 0, 2);
  put(t);
}

}  // namespace onnxquant::zip
