// Regions of a graph that static INT8 keeps in float by default, found by their structure (never by
// node names), each node with the reason the plan shows:
//   - decomposed LayerNorm: x - ReduceMean(x), squared (Pow/Mul), averaged, + eps, Sqrt, and the Div (or
//     Mul by a Reciprocal) that normalizes, plus the affine Mul/Add by constants behind it. The variance
//     spans orders of magnitude that one uint8 scale cannot hold.
//   - attention scores: MatMul(q, k) -> Div/Mul by a constant -> (Add mask) -> Softmax -> MatMul(p, v).
//     Scores have outliers, and Softmax amplifies their quantization error.
//   - detection heads (only with `keep_fp32_head`): on every path back from each graph output, the last
//     compute op (Conv, ConvTranspose, Gemm, MatMul) and every node between it and the output.
// It only reads the graph.
#pragma once
#include <map>
#include <string>

namespace onnxquant {

class Graph;

struct ProtectionOptions {
  bool layer_norm = true;       // protect decomposed LayerNorm chains
  bool attention = true;        // protect attention score chains
  bool keep_fp32_head = false;  // protect the last compute op before each graph output and what follows
};

// Node index -> reason ("protected: ..."). A node in two regions keeps the first reason found, in the
// order LayerNorm, attention, head.
std::map<int, std::string> find_protected_regions(const Graph& graph, const ProtectionOptions& options);

}  // namespace onnxquant
