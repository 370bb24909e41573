// Rule: each named intermediate tensor of the main graph becomes an extra graph output, so one ORT run
// yields it (calibration observes activations this way; validation compares layers). Names that are
// already outputs, or that nothing in the main graph produces, are skipped and reported. The type is
// taken from value_info when known; ORT infers the rest.
#pragma once
#include <string>
#include <vector>

#include "rewrite/pass.h"

namespace onnxquant {

class ExposeTensors : public Pass {
 public:
  explicit ExposeTensors(std::vector<std::string> names) : names_(std::move(names)) {}
  std::string name() const override { return "expose_tensors"; }
  bool match(const Model& model) const override;
  PassReport apply(Model& model) const override;

 private:
  std::vector<std::string> names_;
};

// Every tensor produced by a node of the main graph, in topological order (the candidates to expose).
std::vector<std::string> intermediate_tensor_names(const Model& model);

}  // namespace onnxquant
