// Decodes JPEG and PNG files into 8-bit RGB pixels, the way the corpus's Python preprocessing (PIL) sees
// them, so that a preset gives the same tensors as the reference scripts:
//  - JPEG through libjpeg(-turbo), the decoder PIL itself uses on Debian (default IDCT, fancy upsampling):
//    the pixels match PIL's bit for bit. Grayscale is replicated to RGB; CMYK/YCCK (Adobe-inverted when
//    the Adobe marker says so) is converted as PIL's CMYK->RGB does. The EXIF orientation tag is applied
//    (PIL's ImageOps.exif_transpose), since a phone photo is stored sideways otherwise.
//  - PNG through Debian's stb_image: gray, palette, 16-bit (high byte, as PIL keeps it) become RGB;
//    images with an alpha channel (RGBA, gray+alpha, palette) are composited on white with PIL's
//    alpha_composite arithmetic; tRNS on gray/RGB images is ignored, as PIL's convert("RGB") ignores it.
// Every failure is a DataError naming the file.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace onnxquant {

// Interleaved 8-bit pixels, rows top to bottom: channels 3 (R,G,B) or 1 (gray).
struct Image8 {
  int64_t width = 0, height = 0, channels = 3;
  std::vector<uint8_t> pixels;
  uint8_t* row(int64_t y) { return pixels.data() + y * width * channels; }
  const uint8_t* row(int64_t y) const { return pixels.data() + y * width * channels; }
};

enum class ImageFormat { Unknown, Jpeg, Png };
ImageFormat sniff_image_format(std::string_view first_bytes);

struct DecodeLimits {
  int64_t max_pixels = int64_t{1} << 27;       // ~134 Mpixel: refuse decompression bombs before allocating
  uint64_t max_file_bytes = uint64_t{1} << 30;
};

Image8 decode_image(const std::filesystem::path& path, const DecodeLimits& limits = {});
Image8 decode_image_bytes(std::string_view bytes, const std::string& origin, const DecodeLimits& limits = {});

// PIL's exif_transpose: orientation 1..8 as in the EXIF spec (2 mirror, 3 rotate 180, 6 rotate 90
// clockwise, 8 rotate 90 counter-clockwise, 4/5/7 the mirrored variants); other values leave it as is.
Image8 apply_exif_orientation(const Image8& image, int orientation);

}  // namespace onnxquant
