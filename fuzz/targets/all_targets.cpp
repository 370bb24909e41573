#include "targets.h"

namespace onnxquant::fuzz {

const std::vector<Target>& all_targets() {
  static const std::vector<Target> targets = {
      {"model", &model}, {"npy", &npy}, {"npz", &npz}, {"safetensors", &safetensors}, {"raw", &raw}, {"image", &image},
  };
  return targets;
}

}  // namespace onnxquant::fuzz
