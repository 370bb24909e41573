#include "core/atomic_file.h"

#include <unistd.h>

#include <fstream>
#include <random>
#include <system_error>

#include "core/errors.h"
#include "core/interrupt.h"

namespace onnxquant {
namespace fs = std::filesystem;

static fs::path temp_path_beside(const fs::path& target) {
  std::random_device rd;
  const auto tag = std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000);
  fs::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  return dir / ("." + target.filename().string() + ".tmp-" + tag);
}

struct PendingFiles::File {
  fs::path target, temp;
  std::unique_ptr<InterruptCleanup> cleanup;  // registered before the temp file exists
};

PendingFiles::PendingFiles() = default;

PendingFiles::~PendingFiles() {
  std::error_code ec;
  for (const auto& f : files_) fs::remove(f.temp, ec);
}

void PendingFiles::add(const fs::path& target, const std::function<void(std::ostream&)>& write) {
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw IoError("cannot write " + target.string() + ": folder " + dir.string() + " does not exist");
  if (fs::is_directory(target, ec)) throw IoError("cannot write " + target.string() + ": it is a folder");
  const fs::path tmp = temp_path_beside(target);
  files_.push_back(File{target, tmp, std::make_unique<InterruptCleanup>(tmp)});
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) throw IoError("cannot create " + tmp.string() + " (permission denied or read-only folder?)");
  write(out);
  out.close();  // flushes: a full disk shows here
  if (!out) throw IoError("error while writing " + target.string() + " (disk full?)");
}

void PendingFiles::add(const fs::path& target, std::string_view contents) {
  add(target, [&](std::ostream& out) { out.write(contents.data(), static_cast<std::streamsize>(contents.size())); });
}

void PendingFiles::commit() {
  std::string failure;
  {
    const auto held = hold_interrupts();
    for (auto& f : files_) {
      std::error_code ec;
      fs::rename(f.temp, f.target, ec);
      if (ec) {
        failure = "cannot move " + f.temp.string() + " to " + f.target.string() + ": " + ec.message();
        break;
      }
      f.temp.clear();  // published: nothing to remove
    }
  }
  if (!failure.empty()) throw IoError(failure);  // the destructor removes the temps not yet renamed
  files_.clear();
}

void write_file_atomically(const fs::path& target, const std::function<void(std::ostream&)>& write) {
  PendingFiles file;
  file.add(target, write);
  file.commit();
}

void write_file_atomically(const fs::path& target, std::string_view contents) {
  PendingFiles file;
  file.add(target, contents);
  file.commit();
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
