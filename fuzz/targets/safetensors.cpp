// .safetensors as calibration data: the JSON header and every tensor, whole and by its first row.
#include "core/errors.h"
#include "io/safetensors.h"
#include "targets.h"
#include "targets/scratch_file.h"

namespace onnxquant::fuzz {

void safetensors(std::string_view bytes) {
  try {
    const SafetensorsReader reader(scratch_file(bytes, "data.safetensors"));
    for (const auto& entry : reader.entries()) {
      reader.find(entry.name);
      try {
        reader.read(entry);
        reader.read_rows(entry, 0, 1);
      } catch (const Error&) {
      }
    }
  } catch (const Error&) {
  }
}

}  // namespace onnxquant::fuzz
