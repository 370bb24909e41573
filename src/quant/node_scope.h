// What the static planner considers before any placement rule: which nodes the user excluded, and which
// tensors carry image data at all (everything else, such as sizes and scale factors, stays float).
#pragma once
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace onnx {
class NodeProto;
}

namespace onnxquant {

class Graph;

// Which --exclude pattern (if any) matches a node: exact name, exact op type, then regex over the name.
// Throws UsageError for a pattern that matches no node name or op type and is not a valid regex.
class Excluder {
 public:
  Excluder(const std::vector<std::string>& patterns, const Graph& graph);
  std::optional<std::string> match(const onnx::NodeProto& n) const;

 private:
  std::vector<std::pair<std::string, std::optional<std::regex>>> patterns_;
};

// Tensors that depend on an image-like input (float, rank >= 3); If/Loop nodes count the tensors their
// bodies capture as inputs. A model without such an input (an MLP) treats every float input as data.
// `non_image_inputs` receives the other graph inputs.
std::set<std::string> data_reachable(const Graph& g, std::vector<std::string>& non_image_inputs);

}  // namespace onnxquant
