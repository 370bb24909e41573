// `diff`: what changed between two models — typically an FP32 model and its quantized or cast version,
// or two exports of the same network. Reports interface changes (inputs/outputs), operator counts,
// parameter tensors (by name), opsets and sizes. Library API (also for Python); no printing here.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/model_facts.h"

namespace onnxquant {

class Model;

struct IoChange {
  IoEntry before, after;  // same name, different dtype or shape
};

struct IoDiff {
  std::vector<IoEntry> added, removed;  // in the order of the model that has them
  std::vector<IoChange> changed;
  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
};

struct OpCountChange {
  std::string op;  // qualified op type (model_facts.h)
  int64_t before = 0, after = 0;
};

struct TensorInfo {
  std::string name;
  TensorSource source = TensorSource::Initializer;
  DType dtype = DType::Undefined;
  Shape shape;
  uint64_t bytes = 0;
};

enum class TensorChangeKind { DType, Shape, Values };
const char* tensor_change_name(TensorChangeKind kind);  // "dtype", "shape", "values"

struct TensorChange {
  TensorChangeKind kind = TensorChangeKind::Values;  // the first that applies: dtype, then shape, then values
  TensorInfo before, after;
  std::optional<double> max_abs_diff;  // for `values` changes of numeric tensors
};

// Parameter tensors (initializers and Constant-node values, in all graphs) matched by name. A tensor
// that only moved between an initializer and a Constant node counts as unchanged here; the op counts
// show the Constant nodes that appeared or went away.
struct TensorDiff {
  std::vector<TensorInfo> added, removed;
  std::vector<TensorChange> changed;
  int64_t unchanged = 0;
  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
};

struct OpsetChange {
  std::string domain;  // "ai.onnx" for the default domain
  int64_t before = 0, after = 0;  // 0: not imported
};

struct FieldChange {
  std::string field;  // "ir_version", "producer_name", "producer_version", "domain", "model_version"
  std::string before, after;
};

struct SizePair {
  std::optional<uint64_t> a, b;
  std::optional<double> ratio() const;  // b / a; nullopt when either is missing or a is 0
};

struct ModelDiff {
  std::string path_a, path_b;
  bool identical = false;  // nothing below differs and the non-Constant nodes match exactly

  std::vector<FieldChange> model_fields;
  std::vector<OpsetChange> opsets;
  IoDiff inputs, outputs;
  int64_t nodes_a = 0, nodes_b = 0;              // main graph
  int64_t nodes_total_a = 0, nodes_total_b = 0;  // including subgraphs
  std::vector<OpCountChange> op_counts;          // op types whose count (incl. subgraphs) differs, by name
  // Non-Constant main-graph nodes (names ignored; subgraphs compared as part of their owner) that have no
  // identical counterpart in the other model: catches rewiring and attribute edits that leave the op
  // histogram unchanged. Constant nodes are left out because their values are compared as tensors.
  int64_t nodes_only_in_a = 0, nodes_only_in_b = 0;
  TensorDiff tensors;

  SizePair parameter_bytes, model_bytes, file_bytes;
};

ModelDiff diff_models(const Model& a, const Model& b);

// Schema in docs/json-output.md ("diff").
nlohmann::json to_json(const ModelDiff& diff);

}  // namespace onnxquant
