// Output files are written to a temporary file beside the target and renamed into place only when
// complete, so a failed or interrupted run never leaves a half-written file or damages an existing one.
// Temp files are registered for interrupt cleanup (core/interrupt.h) while they exist.
#pragma once
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string_view>
#include <vector>

namespace onnxquant {

class InterruptCleanup;

// Several outputs that must appear together (a model and its external data file): each is written to its
// own temp file by add(), and commit() renames them all, in the order added, with interrupts held off.
// Until commit() every target keeps its old contents; destroying uncommitted files removes the temps.
class PendingFiles {
 public:
  PendingFiles();
  ~PendingFiles();
  PendingFiles(const PendingFiles&) = delete;
  PendingFiles& operator=(const PendingFiles&) = delete;
  // Writes target's temp file now. Throws IoError (folder missing, target is a folder, disk full).
  void add(const std::filesystem::path& target, const std::function<void(std::ostream&)>& write);
  void add(const std::filesystem::path& target, std::string_view contents);
  void commit();  // throws IoError when a rename fails

 private:
  struct File;
  std::vector<File> files_;
};

// Calls `write` with a stream to a temp file in target's folder, then renames it to `target`.
// On any exception the temp file is removed and the exception propagates. Throws IoError.
void write_file_atomically(const std::filesystem::path& target, const std::function<void(std::ostream&)>& write);
void write_file_atomically(const std::filesystem::path& target, std::string_view contents);

// Reads a whole file; throws LoadError naming the file when it is missing or unreadable.
std::string read_file(const std::filesystem::path& path, size_t max_bytes);

}  // namespace onnxquant
