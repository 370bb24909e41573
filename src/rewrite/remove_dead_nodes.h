// Rule: a node is live when one of its outputs is a graph output or is read by a live node (directly or
// from inside that node's subgraphs); everything else goes, along with initializers nothing reads and
// value_info of tensors that no longer exist. Applied to subgraphs too, against their own outputs.
// Graph inputs are never removed, even unused: they are the model's interface.
#pragma once
#include "rewrite/pass.h"

namespace onnxquant {

class RemoveDeadNodes : public Pass {
 public:
  std::string name() const override { return "remove_dead_nodes"; }
  bool match(const Model& model) const override;
  PassReport apply(Model& model) const override;
};

}  // namespace onnxquant
