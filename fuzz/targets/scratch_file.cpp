#include "targets/scratch_file.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace onnxquant::fuzz {
namespace fs = std::filesystem;

namespace {
// Leaked on purpose: the atexit cleanup below runs after static destructors would have destroyed it.
const fs::path& scratch_dir() {
  static const fs::path* dir = [] {
    std::error_code ec;
    const fs::path base = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    auto* d = new fs::path(base / ("onnxq-fuzz-" + std::to_string(::getpid())));
    fs::create_directories(*d);
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(scratch_dir(), ignored);
    });
    return d;
  }();
  return *dir;
}
}  // namespace

fs::path scratch_file(std::string_view bytes, const char* name) {
  const fs::path path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw std::runtime_error("fuzz harness: cannot write " + path.string());  // harness fault, not a finding
  return path;
}

}  // namespace onnxquant::fuzz
