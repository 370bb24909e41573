// ONNX external data: tensors whose bytes live in a side file, referenced by a relative path. Loading
// checks every reference (the path must stay inside the model's folder, the range must lie inside the
// file) and then either reads the bytes into the model or leaves them on disk ("deferred": the model
// then holds only the checked place of each tensor, so a 2 GB model costs no memory until its weights
// are needed). Saving moves large tensors out, copying deferred ones from disk piece by piece.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace onnx {
class ModelProto;
class TensorProto;
}

namespace onnxquant {

class PendingFiles;

// Protobuf refuses messages of 2 GB and more; stay a little below to leave room for the graph itself.
inline constexpr uint64_t kMaxInlineModelBytes = (uint64_t{1} << 31) - (uint64_t{64} << 20);

// Tensors may share bytes (tied weights point at one range; overlaps are harmless since the file is only
// read), but a few KB of model must not make us read one big file again and again: the ranges pointing
// into a file may add up to at most this many times its size.
inline constexpr uint64_t kMaxExternalReadsPerFile = 4;

enum class ExternalDataLoad {
  Read,   // bytes go into each tensor's raw_data
  Defer,  // tensors stay EXTERNAL, pointing at the checked absolute path with offset and length filled in
};

void load_external_data(onnx::ModelProto& model, const std::filesystem::path& base_dir, const std::string& origin, bool allow_outside,
                        ExternalDataLoad mode);
// Reads the bytes of every deferred tensor into its raw_data. Throws LoadError when a file changed
// under us (shorter than it was at load).
void read_deferred_data(onnx::ModelProto& model);
// Bytes of a deferred tensor (its checked length), nullopt for tensors held in the model.
std::optional<uint64_t> deferred_bytes(const onnx::TensorProto& t);
// Sum of deferred_bytes over every tensor of the model.
uint64_t deferred_bytes(const onnx::ModelProto& model);

// Writes "<path>.data" (every tensor of >= 1 KiB held in the model, and every deferred tensor, copied from
// its file in pieces; tensors that shared one range share it again) and then the model, as temp files
// added to `files`: they appear together when the caller commits them.
void save_with_external_data(const onnx::ModelProto& model, const std::filesystem::path& path, PendingFiles& files);

}  // namespace onnxquant
