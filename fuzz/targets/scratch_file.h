// The file readers take paths (they read by pread, never the whole file), so a fuzz input is written to a
// scratch file first. One file per process, in /dev/shm when there is one so the fuzzer does not wear a disk.
#pragma once
#include <filesystem>
#include <string_view>

namespace onnxquant::fuzz {

// Replaces the scratch file's contents with `bytes` and returns its path, named NAME inside a folder of
// its own (the folder is the model's folder when the file is a model).
std::filesystem::path scratch_file(std::string_view bytes, const char* name);

}  // namespace onnxquant::fuzz
