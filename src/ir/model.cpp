#include "ir/model.h"

#include <google/protobuf/io/coded_stream.h>
#include <onnx/onnx_pb.h>

#include <fstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "ir/external_data.h"
#include "ir/graph_walk.h"
#include "ir/graph_structure_check.h"
#include "ir/tensor_data_check.h"

namespace onnxquant {
namespace fs = std::filesystem;

Model::Model() : proto_(std::make_unique<onnx::ModelProto>()) {}
Model::Model(std::unique_ptr<onnx::ModelProto> proto, fs::path source)
    : proto_(std::move(proto)), source_(std::move(source)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

static void check_is_onnx(const onnx::ModelProto& m, const std::string& origin) {
  // A protobuf parser accepts many non-ONNX byte strings (every field is optional), so ask for what a
  // real ONNX model always has.
  if (m.ir_version() <= 0) throw LoadError(origin + ": not an ONNX model (no ir_version)");
  if (!m.has_graph()) throw LoadError(origin + ": not an ONNX model (no graph)");
  if (m.opset_import_size() == 0 && m.ir_version() >= 3)
    throw LoadError(origin + ": not a valid ONNX model (no opset_import)");
}

Model Model::from_bytes(std::string_view bytes, const fs::path& origin, const LoadOptions& options) {
  const std::string name = origin.string();
  if (bytes.empty()) throw LoadError(name + ": file is empty");
  if (bytes.size() > options.max_model_bytes)
    throw LoadError(name + ": " + std::to_string(bytes.size()) + " bytes, over the limit of " +
                    std::to_string(options.max_model_bytes));
  auto proto = std::make_unique<onnx::ModelProto>();
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(static_cast<int>(std::min<uint64_t>(options.max_model_bytes, INT32_MAX)));
  in.SetRecursionLimit(200);  // nested subgraphs; protobuf's default (100) is tight for deep If/Loop nests
  if (!proto->ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
    throw LoadError(name + ": not a valid ONNX file (protobuf parse failed: truncated or corrupt)");
  check_is_onnx(*proto, name);
  Model model(std::move(proto), origin);
  load_external_data(*model.proto_, origin.has_parent_path() ? origin.parent_path() : fs::path("."), name,
                     options.allow_external_data_outside_model_dir, options.external_data);
  // Untrusted files: refuse what later stages cannot index or would allocate from declared sizes.
  check_graph_structure(model.proto_->graph(), name);
  check_all_tensor_data(model.proto_->graph(), name);
  return model;
}

Model Model::load(const fs::path& path, const LoadOptions& options) {
  const std::string bytes = read_file(path, options.max_model_bytes);
  return from_bytes(bytes, path, options);
}

std::string Model::serialize() const {
  const size_t size = proto_->ByteSizeLong();
  if (size > static_cast<size_t>(INT32_MAX))
    throw IoError("model is " + std::to_string(size) + " bytes, too large for one protobuf; save it to a file (external data)");
  std::string out;
  if (!proto_->SerializeToString(&out)) throw IoError("protobuf serialization failed");
  return out;
}

void Model::save(const fs::path& path, const SaveOptions& options) const {
  PendingFiles files;
  save(path, files, options);
  files.commit();
}

void Model::save(const fs::path& path, PendingFiles& files, const SaveOptions& options) const {
  const bool too_big = proto_->ByteSizeLong() > kMaxInlineModelBytes;
  const bool external = options.external_data == ExternalData::Always || has_deferred_data() ||
                        (options.external_data == ExternalData::Auto && too_big);
  if (too_big && options.external_data == ExternalData::Never && !has_deferred_data())
    throw IoError(path.string() + ": model is over 2 GB and external data is disabled");
  if (!external) {
    // Streamed: a 1.9 GB model is not first copied into one string.
    files.add(path, [&](std::ostream& out) {
      if (!proto_->SerializeToOstream(&out)) throw IoError(path.string() + ": protobuf serialization failed");
    });
    return;
  }
  save_with_external_data(*proto_, path, files);
}

Model Model::clone() const { return Model(std::make_unique<onnx::ModelProto>(*proto_), source_); }

int64_t Model::opset(std::string_view domain) const {
  const bool default_domain = domain.empty() || domain == "ai.onnx";
  for (const auto& op : proto_->opset_import()) {
    const bool match = default_domain ? (op.domain().empty() || op.domain() == "ai.onnx") : op.domain() == domain;
    if (match) return op.version();
  }
  return 0;
}

uint64_t Model::byte_size() const { return proto_->ByteSizeLong() + deferred_bytes(*proto_); }

bool Model::has_deferred_data() const {
  bool found = false;
  for_each_tensor(proto_->graph(), [&](const onnx::TensorProto& t) { found = found || deferred_bytes(t).has_value(); });
  return found;
}

void Model::load_deferred_data() { read_deferred_data(*proto_); }

}  // namespace onnxquant
