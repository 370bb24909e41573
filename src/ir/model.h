// The Model owns an onnx::ModelProto plus where it came from (for external data). It is the only way the
// rest of onnxquant loads or saves models. Protobuf types are forward-declared so that including this
// header stays cheap; code that edits the graph includes <onnx/onnx_pb.h> itself.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "ir/external_data.h"

namespace onnx {
class ModelProto;
}

namespace onnxquant {

class PendingFiles;

struct LoadOptions {
  // Model files above this size are refused before parsing (protobuf itself cannot exceed 2 GB; larger
  // models keep their weights in external data, which is read separately and checked per tensor).
  uint64_t max_model_bytes = (uint64_t{1} << 31) - 1;
  // External-data files must resolve inside the model's folder (no "..", no absolute paths, no symlink
  // escapes) unless this is set.
  bool allow_external_data_outside_model_dir = false;
  // Defer leaves external tensors on disk (checked, not read) until load_deferred_data(): for jobs that
  // hand the model to ONNX Runtime or only look at its structure, so big weights are not held twice.
  ExternalDataLoad external_data = ExternalDataLoad::Read;
};

enum class ExternalData {
  Auto,    // external data only when the model would not fit in one protobuf (> 2 GB)
  Always,  // every tensor of at least 1 KiB goes to "<model file name>.data"
  Never,   // fail with IoError when the model is too large for one protobuf (deferred tensors stay external)
};

struct SaveOptions {
  ExternalData external_data = ExternalData::Auto;
};

class Model {
 public:
  Model();
  explicit Model(std::unique_ptr<onnx::ModelProto> proto, std::filesystem::path source = {});
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  // Throws LoadError naming the file (missing, empty, not protobuf, not ONNX, unsafe external data).
  static Model load(const std::filesystem::path& path, const LoadOptions& options = {});
  // Parses serialized bytes; `origin` names the source in errors and is the base for external data.
  static Model from_bytes(std::string_view bytes, const std::filesystem::path& origin = "<memory>",
                          const LoadOptions& options = {});

  // Writes atomically (temp file + rename). Models over 2 GB get external data automatically, and so do
  // models with deferred tensors (copied from their files piece by piece, never read whole).
  void save(const std::filesystem::path& path, const SaveOptions& options = {}) const;
  // The same files, written as temps into `files` and published only when the caller commits them (so a
  // job can write its output, free the model, and still publish nothing if a later check fails).
  void save(const std::filesystem::path& path, PendingFiles& files, const SaveOptions& options = {}) const;
  // Serialized protobuf; throws IoError if the model is too large for one message. Deferred tensors stay
  // references (to absolute paths): save() a model that has them instead.
  std::string serialize() const;

  // Tensors loaded with ExternalDataLoad::Defer whose bytes are still on disk.
  bool has_deferred_data() const;
  // Reads every deferred tensor into the model (before anything reads or edits weights).
  void load_deferred_data();

  Model clone() const;
  onnx::ModelProto& proto() { return *proto_; }
  const onnx::ModelProto& proto() const { return *proto_; }
  const std::filesystem::path& source() const { return source_; }

  // Opset imported for a domain ("" and "ai.onnx" are the same); 0 when not imported.
  int64_t opset(std::string_view domain = "") const;
  // Bytes the model takes on disk when saved (protobuf plus deferred external data, if any).
  uint64_t byte_size() const;

 private:
  std::unique_ptr<onnx::ModelProto> proto_;
  std::filesystem::path source_;
};

}  // namespace onnxquant
