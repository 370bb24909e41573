// Output files are written to a temporary file beside the target and renamed into place only when
// complete, so a failed or interrupted run never leaves a half-written file or damages an existing one.
#pragma once
#include <filesystem>
#include <functional>
#include <ostream>
#include <string_view>

namespace onnxquant {

// Calls `write` with a stream to a temp file in target's folder, then renames it to `target`.
// On any exception the temp file is removed and the exception propagates. Throws IoError.
void write_file_atomically(const std::filesystem::path& target, const std::function<void(std::ostream&)>& write);
void write_file_atomically(const std::filesystem::path& target, std::string_view contents);

// Reads a whole file; throws LoadError naming the file when it is missing or unreadable.
std::string read_file(const std::filesystem::path& path, size_t max_bytes);

}  // namespace onnxquant
