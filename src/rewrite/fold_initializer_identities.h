// Rule: an `Identity` (default domain) whose input is an initializer disappears and every node reading
// its output reads the initializer instead, in the main graph. PyTorch exports the cloned layers of a
// TransformerEncoder as Identity nodes over one shared weight; through them a MatMul's weight looks
// like an activation, and quantizing the original while the Identity still reads it in float would
// store it twice. Identities whose output is a graph output, or is read from inside a subgraph, stay.
#pragma once
#include "rewrite/pass.h"

namespace onnxquant {

class FoldInitializerIdentities : public Pass {
 public:
  std::string name() const override { return "fold_initializer_identities"; }
  bool match(const Model& model) const override;
  PassReport apply(Model& model) const override;
};

}  // namespace onnxquant
