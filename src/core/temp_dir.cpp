#include "core/temp_dir.h"

#include <random>

#include "core/errors.h"

namespace onnxquant {
namespace fs = std::filesystem;

TempDir::TempDir(const std::string& prefix) {
  std::random_device rd;
  std::error_code ec;
  for (int attempt = 0; attempt < 16; ++attempt) {
    path_ = fs::temp_directory_path(ec) / (prefix + "-" + std::to_string(rd()) + std::to_string(rd()));
    // Registered only once it is ours (a name that existed may belong to another process), and created
    // and registered under one hold, so that an interrupt between the two cannot leave it behind.
    const auto held = hold_interrupts();
    if (fs::create_directory(path_, ec)) {
      cleanup_ = std::make_unique<InterruptCleanup>(path_, held);
      return;
    }
  }
  throw IoError("cannot create a temporary folder in " + fs::temp_directory_path(ec).string());
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace onnxquant
