#include "core/atomic_file.h"

#include <unistd.h>

#include <fstream>
#include <random>
#include <system_error>

#include "core/errors.h"

namespace onnxquant {
namespace fs = std::filesystem;

static fs::path temp_path_beside(const fs::path& target) {
  std::random_device rd;
  const auto tag = std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000);
  fs::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  return dir / ("." + target.filename().string() + ".tmp-" + tag);
}

void write_file_atomically(const fs::path& target, const std::function<void(std::ostream&)>& write) {
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw IoError("cannot write " + target.string() + ": folder " + dir.string() + " does not exist");
  if (fs::is_directory(target, ec)) throw IoError("cannot write " + target.string() + ": it is a folder");
  const fs::path tmp = temp_path_beside(target);
  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) throw IoError("cannot create " + tmp.string() + " (permission denied or read-only folder?)");
      write(out);
      out.flush();
      if (!out) throw IoError("error while writing " + target.string() + " (disk full?)");
    }
    fs::rename(tmp, target, ec);
    if (ec) throw IoError("cannot move " + tmp.string() + " to " + target.string() + ": " + ec.message());
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
}

void write_file_atomically(const fs::path& target, std::string_view contents) {
  write_file_atomically(target, [&](std::ostream& out) { out.write(contents.data(), static_cast<std::streamsize>(contents.size())); });
}

std::string read_file(const fs::path& path, size_t max_bytes) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw LoadError(path.string() + ": no such file");
  if (fs::is_directory(path, ec)) throw LoadError(path.string() + ": is a folder, not a file");
  const auto size = fs::file_size(path, ec);
  if (ec) throw LoadError(path.string() + ": cannot read size: " + ec.message());
  if (size > max_bytes)
    throw LoadError(path.string() + ": file is " + std::to_string(size) + " bytes, over the limit of " + std::to_string(max_bytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw LoadError(path.string() + ": cannot open (permission denied?)");
  std::string data(size, '\0');
  in.read(data.data(), static_cast<std::streamsize>(size));
  if (static_cast<size_t>(in.gcount()) != size) throw LoadError(path.string() + ": short read");
  return data;
}

}  // namespace onnxquant
