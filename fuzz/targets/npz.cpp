// .npz as calibration data: the zip central directory, stored and deflated members, and each member's .npy.
#include "core/errors.h"
#include "io/npz.h"
#include "io/zip_archive.h"
#include "targets.h"
#include "targets/scratch_file.h"

namespace onnxquant::fuzz {

void npz(std::string_view bytes) {
  const auto path = scratch_file(bytes, "data.npz");
  try {
    const zip::Reader archive(path);
    for (const auto& entry : archive.entries()) {
      try {
        archive.read(entry);
      } catch (const Error&) {
      }
    }
  } catch (const Error&) {
  }
  try {
    read_npz(path);
  } catch (const Error&) {
  }
}

}  // namespace onnxquant::fuzz
