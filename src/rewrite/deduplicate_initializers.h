// Rule: initializers of one graph with the same element type, shape and bytes are one tensor: every
// reader is pointed at the first, the others are removed. Exports often duplicate weights (tied
// embeddings, repeated constants); deduplicating shrinks the file, and later passes that need a private
// copy per consumer (quantization with different scales) make it explicitly, never by editing a shared
// tensor in place. Initializers that are graph inputs (overridable) or graph outputs are left alone.
#pragma once
#include "rewrite/pass.h"

namespace onnxquant {

class DeduplicateInitializers : public Pass {
 public:
  std::string name() const override { return "deduplicate_initializers"; }
  bool match(const Model& model) const override;
  PassReport apply(Model& model) const override;
};

}  // namespace onnxquant
