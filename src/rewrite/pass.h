// A graph pass: match() only reads and says whether there is work; apply() edits and reports what it
// changed. One pass per file, named after what it does, with its rule in a comment at the top.
#pragma once
#include <string>
#include <vector>

namespace onnxquant {

class Model;

struct PassReport {
  std::string pass;
  int changes = 0;                  // nodes/tensors added, removed or rewritten
  std::vector<std::string> notes;   // what a user may want to know (fallbacks taken, items skipped)
};

class Pass {
 public:
  virtual ~Pass() = default;
  virtual std::string name() const = 0;
  virtual bool match(const Model& model) const = 0;
  virtual PassReport apply(Model& model) const = 0;
  // apply() when match() says there is work; an empty report otherwise.
  PassReport run(Model& model) const {
    if (!match(model)) return {name(), 0, {}};
    return apply(model);
  }
};

}  // namespace onnxquant
