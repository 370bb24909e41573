// Image folders as calibration data: sniffing, JPEG/PNG decoding with the pixel limit, EXIF orientation.
#include "core/errors.h"
#include "io/image_decode.h"
#include "targets.h"

namespace onnxquant::fuzz {

void image(std::string_view bytes) {
  sniff_image_format(bytes.substr(0, 16));
  // A lower pixel limit than the default keeps each run fast; the check itself is what is being tested.
  DecodeLimits limits;
  limits.max_pixels = int64_t{1} << 22;
  try {
    const Image8 decoded = decode_image_bytes(bytes, "fuzz-image", limits);
    if (decoded.width * decoded.height <= 4096) apply_exif_orientation(decoded, 6);
  } catch (const Error&) {
  }
}

}  // namespace onnxquant::fuzz
