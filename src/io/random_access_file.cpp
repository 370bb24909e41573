#include "io/random_access_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "core/errors.h"

namespace onnxquant {
namespace {
[[noreturn]] void fail(const std::string& where, const std::string& what) { throw DataError(where + ": " + what); }
// pread may return less than asked; one call is capped because Linux transfers at most ~2 GiB per call.
constexpr size_t kMaxPerCall = size_t{1} << 30;
}  // namespace

RandomAccessFile::RandomAccessFile(const std::filesystem::path& path) : name_(path.string()) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) fail(name_, errno == ENOENT ? "no such file" : std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    fail(name_, "not a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

RandomAccessFile::RandomAccessFile(RandomAccessFile&& other) noexcept
    : name_(std::move(other.name_)), fd_(std::exchange(other.fd_, -1)), size_(other.size_) {}

RandomAccessFile& RandomAccessFile::operator=(RandomAccessFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    name_ = std::move(other.name_);
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
  }
  return *this;
}

RandomAccessFile::~RandomAccessFile() {
  if (fd_ >= 0) ::close(fd_);
}

void RandomAccessFile::read_at(uint64_t offset, size_t n, char* dst, const std::string& where) const {
  while (n > 0) {
    const ssize_t got = ::pread(fd_, dst, std::min(n, kMaxPerCall), static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail(where, std::string("read error: ") + std::strerror(errno));
    if (got == 0) fail(where, "file ended early (truncated or changed while reading)");
    dst += got, n -= static_cast<size_t>(got), offset += static_cast<uint64_t>(got);
  }
}

std::string RandomAccessFile::read_string(uint64_t offset, uint64_t n, const std::string& where) const {
  if (offset > size_ || n > size_ - offset) fail(where, "points past the end of the file");
  std::string s(static_cast<size_t>(n), '\0');
  read_at(offset, s.size(), s.data(), where);
  return s;
}

}  // namespace onnxquant
