// A private temporary folder, removed with everything in it when the object goes out of scope, so
// concurrent runs never share files and failures (or an interrupt) leave nothing behind.
#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include "core/interrupt.h"

namespace onnxquant {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "onnxquant");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
  std::unique_ptr<InterruptCleanup> cleanup_;  // removed on Ctrl-C too (core/interrupt.h)
};

}  // namespace onnxquant
