// `inspect`: what a model is made of, for a person deciding how to quantize it and for scripts (JSON).
// Counts what is declared in the file; nothing is run and no shape inference is done. Also the Python
// module's `inspect_model`, so this header does no printing.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/model_facts.h"

namespace onnxquant {

class Model;

struct InspectOptions {
  int largest_tensors = 10;  // how many of the largest parameter tensors to list
};

// Count, elements and logical bytes of a group of parameter tensors.
struct TensorTally {
  int64_t tensors = 0;
  int64_t elements = 0;
  uint64_t bytes = 0;
  void add(const ParamTensor& t) {
    ++tensors;
    elements += t.elements;
    bytes += t.bytes;
  }
};

struct ParameterSummary {
  TensorTally total;
  TensorTally initializers;    // graph initializers, in all graphs
  TensorTally constant_nodes;  // values of Constant nodes, in all graphs
  std::map<DType, TensorTally> by_dtype;  // both sources together
};

struct TensorEntry {
  std::string name;
  TensorSource source = TensorSource::Initializer;
  DType dtype = DType::Undefined;
  Shape shape;
  uint64_t bytes = 0;
};

struct SubgraphSummary {
  std::string owner_name;     // the node holding the subgraph (If/Loop/Scan...)
  std::string owner_op;       // qualified op type of that node
  std::string attribute;      // "then_branch", "body", ...
  int depth = 1;              // 1: attribute of a main-graph node, 2: nested one level further, ...
  int64_t nodes = 0;          // nodes directly in this subgraph
  int64_t nodes_nested = 0;   // plus nodes of the subgraphs nested in it
};

struct ModelSummary {
  std::string path;  // where the model was loaded from ("" for in-memory models)
  int64_t ir_version = 0;
  std::string producer_name, producer_version, domain, graph_name;
  int64_t model_version = 0;
  bool has_doc_string = false;
  std::map<std::string, int64_t> opsets;  // domain ("ai.onnx" for the default domain) -> version
  std::vector<IoEntry> inputs, outputs;

  int64_t nodes = 0;        // main graph
  int64_t nodes_total = 0;  // main graph and every subgraph
  std::map<std::string, int64_t> ops;        // qualified op type -> count, main graph only
  std::map<std::string, int64_t> ops_total;  // including subgraphs
  std::vector<SubgraphSummary> subgraphs;    // depth first, in file order

  ParameterSummary parameters;
  std::vector<TensorEntry> largest_tensors;  // by bytes, descending; ties by name
  std::vector<std::pair<std::string, std::string>> metadata;  // metadata_props, in file order

  std::optional<uint64_t> file_bytes;  // size of the loaded file (without external data files)
  uint64_t model_bytes = 0;            // serialized size with every tensor inline
};

ModelSummary inspect_model(const Model& model, const InspectOptions& options = {});

// Schema in docs/json-output.md ("inspect").
nlohmann::json to_json(const ModelSummary& summary);

}  // namespace onnxquant
