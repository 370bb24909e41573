// A .safetensors file as a data source: each tensor feeds the model input of its name (Hugging Face
// exports name them after the model's inputs), cut into samples by the rules of make_array_feed. Rows
// are read by pread when a sample is asked for; the header is checked against the model up front.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "io/source.h"

namespace onnxquant::sources {

// With `only` set, just that tensor (for `-i NAME=file.safetensors`).
std::vector<std::unique_ptr<Feed>> safetensors_file_feeds(const std::vector<IoInfo>& inputs, const std::filesystem::path& file,
                                                          const std::string& only, const InputOptions& options);

}  // namespace onnxquant::sources
