// ONNX external data: tensors whose bytes live in a side file, referenced by a relative path. Loading
// reads them into the model (checked: the path must stay inside the model's folder and the declared
// range must exist); saving moves large tensors out when the model would exceed protobuf's 2 GB limit.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

namespace onnx {
class ModelProto;
}

namespace onnxquant {

// Protobuf refuses messages of 2 GB and more; stay a little below to leave room for the graph itself.
inline constexpr uint64_t kMaxInlineModelBytes = (uint64_t{1} << 31) - (uint64_t{64} << 20);

void load_external_data(onnx::ModelProto& model, const std::filesystem::path& base_dir, const std::string& origin,
                        bool allow_outside);
// Writes "<path>.data" (every tensor of >= 1 KiB) and then the model, both atomically.
void save_with_external_data(const onnx::ModelProto& model, const std::filesystem::path& path);

}  // namespace onnxquant
