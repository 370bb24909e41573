// .npy as calibration data: whole-file parsing and the row reader that streams large sample stacks.
#include "core/errors.h"
#include "io/npy.h"
#include "targets.h"
#include "targets/scratch_file.h"

namespace onnxquant::fuzz {

void npy(std::string_view bytes) {
  try {
    parse_npy(bytes, "fuzz.npy");
  } catch (const Error&) {
  }
  try {
    const NpyReader reader(scratch_file(bytes, "data.npy"));
    const int64_t rows = reader.rows();
    if (rows > 0) {
      reader.read_rows(0, 1);
      reader.read_rows(rows - 1, 1);
    }
  } catch (const Error&) {
  }
}

}  // namespace onnxquant::fuzz
