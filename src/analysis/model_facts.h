// Facts about a model that both `inspect` and `diff` need: graph inputs/outputs with their declared types,
// qualified operator names, and every parameter tensor (initializers and Constant-node values, in all
// subgraphs) with its logical size. Kept apart so the two commands count the same things the same way.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/tensor.h"
#include "ir/graph.h"

namespace onnx {
class AttributeProto;
class GraphProto;
class NodeProto;
class TensorProto;
}  // namespace onnx

namespace onnxquant {

// A graph input or output as declared in the model (no shape inference).
struct IoEntry {
  std::string name;
  DType dtype = DType::Undefined;
  std::optional<std::vector<Dim>> shape;  // nullopt: rank unknown
};

bool same_type(const IoEntry& a, const IoEntry& b);  // dtype and every dim (value or symbol) equal

// Inputs exclude names that are also initializers (IR < 4 models list weights as inputs too).
std::vector<IoEntry> graph_inputs(const onnx::GraphProto& graph);
std::vector<IoEntry> graph_outputs(const onnx::GraphProto& graph);

// "Conv" for the default domain ("" or "ai.onnx"), "com.microsoft:FusedConv" otherwise. A colon never
// appears in a domain or an op type, so scripts can split on it.
std::string qualified_op(const onnx::NodeProto& node);

enum class TensorSource { Initializer, ConstantNode };
const char* tensor_source_name(TensorSource source);  // "initializer", "constant"

// One weight-like tensor. Constant nodes count because some exporters (Paddle2ONNX) put every weight in
// one; small shape constants count too (they are parameters of the graph as much as weights are), and
// the per-dtype breakdown tells them apart.
struct ParamTensor {
  std::string name;  // initializer name, or the Constant node's output name
  TensorSource source = TensorSource::Initializer;
  DType dtype = DType::Undefined;
  Shape shape;
  int64_t elements = 0;
  uint64_t bytes = 0;  // logical size: elements x element size (4-bit packed, strings by length)
  int depth = 0;       // 0: main graph, 1: a subgraph of a main-graph node, ...
  // Exactly one of these holds the value: a TensorProto (initializer, Constant `value`) or the Constant
  // attribute itself (value_float(s), value_int(s), value_string(s), sparse_value).
  const onnx::TensorProto* proto = nullptr;
  const onnx::AttributeProto* attribute = nullptr;
};

// Every parameter tensor of `graph` and its subgraphs, in file order (depth first).
std::vector<ParamTensor> collect_parameters(const onnx::GraphProto& graph);

// Logical bytes of `elements` values of `dtype` (0 for string/undefined, which are sized by content).
uint64_t logical_bytes(DType dtype, int64_t elements);

// The tensor's values as comparable bytes (little endian, whatever field stored them); strings and
// types that cannot be decoded fall back to a canonical serialization, so equality still holds.
std::string param_content(const ParamTensor& tensor);
// Largest |a - b| over elements, when both decode as numbers and have the same element count.
std::optional<double> max_abs_difference(const ParamTensor& a, const ParamTensor& b);

// Size of the file a model was loaded from; nullopt for in-memory models or unreadable paths.
std::optional<uint64_t> file_size_of(const std::filesystem::path& path);

// JSON conventions shared by inspect and diff (docs/json-output.md): fixed dims are numbers, symbolic
// dims strings, unknown dims null; a shape of unknown rank is null.
nlohmann::json shape_to_json(const std::optional<std::vector<Dim>>& shape);
nlohmann::json shape_to_json(const Shape& shape);
nlohmann::json to_json(const IoEntry& io);
// Text form "[batch,3,224,224]" ("?" for unknown rank, "?" for an unknown dim).
std::string shape_text(const std::optional<std::vector<Dim>>& shape);

}  // namespace onnxquant
