// Rule: a `Constant` node (default domain) becomes an initializer with the node's output name, in
// whichever graph or subgraph it sits. PaddlePaddle exports keep every weight in Constant nodes; as
// initializers they can be found, quantized and deduplicated like any weight. Constants whose output is
// a graph output, and string or sparse constants, stay nodes. For IR < 4, where initializers must also
// be graph inputs, the new initializers are declared as inputs too.
#pragma once
#include "rewrite/pass.h"

namespace onnxquant {

class ExtractConstants : public Pass {
 public:
  std::string name() const override { return "extract_constants"; }
  bool match(const Model& model) const override;
  PassReport apply(Model& model) const override;
};

}  // namespace onnxquant
