#include "rewrite/deduplicate_initializers.h"

#include <onnx/onnx_pb.h>

#include <functional>
#include <set>
#include <unordered_map>

#include "ir/model.h"
#include "rewrite/rename.h"

namespace onnxquant {

namespace {

// Canonical bytes of a tensor's content, whatever field holds it (raw_data or typed fields).
std::string content_key(const onnx::TensorProto& t) {
  onnx::TensorProto copy = t;
  copy.clear_name();
  copy.clear_doc_string();
  std::string key;
  copy.SerializeToString(&key);
  return key;
}

// For each duplicate initializer name, the name of the first identical one.
std::unordered_map<std::string, std::string> find_duplicates(const onnx::GraphProto& g) {
  std::set<std::string> pinned;  // declared as inputs or outputs: their identity is visible to users
  for (const auto& v : g.input()) pinned.insert(v.name());
  for (const auto& v : g.output()) pinned.insert(v.name());
  std::unordered_map<size_t, std::vector<const onnx::TensorProto*>> by_hash;
  std::unordered_map<std::string, std::string> renames;
  for (const auto& t : g.initializer()) {
    if (pinned.count(t.name()) || t.data_location() == onnx::TensorProto::EXTERNAL) continue;
    const std::string key = content_key(t);
    auto& bucket = by_hash[std::hash<std::string>{}(key)];
    bool dup = false;
    for (const auto* first : bucket)
      if (content_key(*first) == key) {
        renames[t.name()] = first->name();
        dup = true;
        break;
      }
    if (!dup) bucket.push_back(&t);
  }
  return renames;
}

}  // namespace

bool DeduplicateInitializers::match(const Model& model) const { return !find_duplicates(model.proto().graph()).empty(); }

PassReport DeduplicateInitializers::apply(Model& model) const {
  PassReport report{name(), 0, {}};
  auto& g = *model.proto().mutable_graph();
  const auto renames = find_duplicates(g);
  if (renames.empty()) return report;
  rename_uses(g, renames);
  google::protobuf::RepeatedPtrField<onnx::TensorProto> kept;
  uint64_t saved = 0;
  for (auto& t : *g.mutable_initializer()) {
    if (renames.count(t.name())) {
      saved += t.ByteSizeLong();
      continue;
    }
    *kept.Add() = std::move(t);
  }
  g.mutable_initializer()->Swap(&kept);
  report.changes = static_cast<int>(renames.size());
  report.notes.push_back("merged " + std::to_string(renames.size()) + " duplicate initializer(s), " + std::to_string(saved) + " bytes saved");
  return report;
}

}  // namespace onnxquant
