// Rule: a segment of a model is a model of its own made of a subset of the main graph's nodes (kept in
// the original order). Its inputs are the tensors those nodes read that no node of the subset produces
// (graph inputs and outputs of earlier segments), declared with their element type and rank but free
// dims, so that any size is accepted; its initializers are the ones its nodes read, directly or from inside a subgraph;
// its outputs are the ones asked for. Opsets, IR version and functions are those of the whole model.
// Calibration runs a large model segment by segment so that only one segment's activations are alive.
#pragma once
#include <string>
#include <vector>

namespace onnxquant {

class Model;

// `nodes`: indices into the main graph; `outputs`: tensors produced by those nodes. Element types come
// from the model's graph inputs and value_info (run shape inference first). Throws UnsupportedOpError
// when an input's element type is unknown (ORT needs it to declare the input).
Model extract_segment(const Model& model, const std::vector<int>& nodes, const std::vector<std::string>& outputs);

}  // namespace onnxquant
