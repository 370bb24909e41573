#include "io/image_decode.h"

// libjpeg's headers need size_t/FILE declared first.
#include <csetjmp>
#include <cstddef>
#include <cstdio>

#include <jerror.h>
#include <jpeglib.h>
#include <stb/stb_image.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "core/errors.h"
#include "io/random_access_file.h"

namespace onnxquant {
namespace {

[[noreturn]] void fail(const std::string& origin, const std::string& what) { throw DataError(origin + ": " + what); }

void check_size(int64_t w, int64_t h, const std::string& origin, const DecodeLimits& limits) {
  if (w <= 0 || h <= 0) fail(origin, "image has no pixels (" + std::to_string(w) + "x" + std::to_string(h) + ")");
  if (w > limits.max_pixels / h)
    fail(origin, "image is " + std::to_string(w) + "x" + std::to_string(h) + ", over the limit of " + std::to_string(limits.max_pixels) + " pixels");
}

// ---- EXIF orientation ------------------------------------------------------------------------------

// The orientation tag (0x0112) of IFD0 in an APP1 "Exif\0\0" payload; 1 when absent or unreadable
// (a damaged EXIF block must not make an otherwise fine photo unusable).
int exif_orientation(const uint8_t* data, size_t size) {
  if (size < 14 || std::memcmp(data, "Exif\0\0", 6) != 0) return 1;
  const uint8_t* tiff = data + 6;
  const size_t n = size - 6;
  const bool little = tiff[0] == 'I' && tiff[1] == 'I';
  if (!little && !(tiff[0] == 'M' && tiff[1] == 'M')) return 1;
  auto u16 = [&](size_t at) -> uint32_t { return little ? tiff[at] | tiff[at + 1] << 8 : tiff[at] << 8 | tiff[at + 1]; };
  auto u32 = [&](size_t at) -> uint32_t { return little ? u16(at) | u16(at + 2) << 16 : u16(at) << 16 | u16(at + 2); };
  if (u16(2) != 42) return 1;
  const size_t ifd = u32(4);
  if (ifd > n || n - ifd < 2) return 1;
  const size_t count = u16(ifd);
  for (size_t i = 0; i < count; ++i) {
    const size_t at = ifd + 2 + 12 * i;
    if (at > n || n - at < 12) return 1;
    if (u16(at) == 0x0112 && u16(at + 2) == 3) return static_cast<int>(u16(at + 8));  // SHORT, value inline
  }
  return 1;
}

// ---- JPEG (libjpeg) --------------------------------------------------------------------------------

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
};

void jpeg_on_error(j_common_ptr c) {
  auto* e = reinterpret_cast<JpegError*>(c->err);
  (*c->err->format_message)(c, e->message);
  std::longjmp(e->jump, 1);
}

// Warnings are counted, not printed (PIL ignores them too); a premature end of data is remembered
// because libjpeg would otherwise silently pad a truncated file with gray, where PIL raises.
void jpeg_on_message(j_common_ptr c, int level) {
  if (level >= 0) return;
  if (c->err->msg_code == JWRN_JPEG_EOF) reinterpret_cast<JpegError*>(c->err)->truncated = true;
  c->err->num_warnings++;
}

// PIL's cmyk2rgb (Convert.c): r = 255 - k - c*(255-k)/255, rounded as its MULDIV255.
uint8_t cmyk_channel(uint32_t c, uint32_t k) {
  const uint32_t nk = 255 - k;
  const uint32_t t = c * nk + 128;
  const uint32_t m = ((t >> 8) + t) >> 8;
  return static_cast<uint8_t>(nk > m ? nk - m : 0);
}

// Runs libjpeg; called between setjmp and a possible longjmp, so it keeps no objects with destructors
// alive across libjpeg calls (the longjmp would skip them). Returns an error text or nullptr.
const char* run_jpeg(jpeg_decompress_struct& cinfo, std::string_view bytes, const DecodeLimits& limits, Image8& out,
                     std::vector<uint8_t>& scratch, int& orientation) {
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);
  jpeg_read_header(&cinfo, TRUE);
  for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next)
    if (m->marker == JPEG_APP0 + 1) orientation = exif_orientation(m->data, m->data_length);
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  const int64_t w = cinfo.image_width, h = cinfo.image_height;
  if (w <= 0 || h <= 0 || w > limits.max_pixels / h) return "image size is out of range";
  jpeg_start_decompress(&cinfo);
  const size_t comps = static_cast<size_t>(cinfo.output_components);
  if (comps != (cmyk ? 4u : 3u)) return "unexpected number of color components";
  out.width = w, out.height = h, out.channels = 3;
  out.pixels.resize(static_cast<size_t>(w * h * 3));
  scratch.resize(static_cast<size_t>(w) * comps);
  const bool inverted = cmyk && cinfo.saw_Adobe_marker;  // Adobe writes CMYK inverted (PIL's "CMYK;I")
  while (cinfo.output_scanline < cinfo.output_height) {
    const int64_t y = cinfo.output_scanline;
    JSAMPROW row = cmyk ? scratch.data() : out.row(y);
    if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) return "decoder stopped early";
    if (!cmyk) continue;
    uint8_t* dst = out.row(y);
    for (int64_t x = 0; x < w; ++x) {
      uint8_t p[4];
      for (int k = 0; k < 4; ++k) p[k] = inverted ? static_cast<uint8_t>(255 - scratch[x * 4 + k]) : scratch[x * 4 + k];
      for (int k = 0; k < 3; ++k) dst[x * 3 + k] = cmyk_channel(p[k], p[3]);
    }
  }
  jpeg_finish_decompress(&cinfo);
  return nullptr;
}

Image8 decode_jpeg(std::string_view bytes, const std::string& origin, const DecodeLimits& limits) {
  jpeg_decompress_struct cinfo{};
  JpegError err{};
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_on_error;
  err.mgr.emit_message = jpeg_on_message;
  Image8 out;
  std::vector<uint8_t> scratch;
  int orientation = 1;
  const char* failure = nullptr;
  volatile bool created = false;  // read after a longjmp, so it must live in memory
  if (setjmp(err.jump) == 0) {
    jpeg_create_decompress(&cinfo);
    created = true;
    failure = run_jpeg(cinfo, bytes, limits, out, scratch, orientation);
  } else {
    failure = err.message;
  }
  if (created) jpeg_destroy_decompress(&cinfo);
  if (failure) fail(origin, std::string("cannot decode JPEG: ") + failure);
  if (err.truncated) fail(origin, "cannot decode JPEG: the file is truncated");
  check_size(out.width, out.height, origin, limits);
  return orientation == 1 ? out : apply_exif_orientation(out, orientation);
}

// ---- PNG (stb_image) -------------------------------------------------------------------------------

// PIL's alpha_composite of the image over opaque white (AlphaComposite.c, 7 bits of precision).
uint8_t over_white(uint32_t c, uint32_t a) {
  if (a == 0) return 255;
  const uint32_t coef1 = a * 128, coef2 = 255 * 128 - coef1;
  const uint32_t t = c * coef1 + 255 * coef2 + (0x80 << 7);
  return static_cast<uint8_t>((((t >> 8) + t) >> 8) >> 7);
}

// stb_image sizes its IDAT buffer from the chunk headers before it reads the chunk, so a header that
// claims 2 GiB makes it allocate 2 GiB for a 100-byte file. Walking the chunk table first bounds every
// chunk by what the file holds (and names the damaged chunk, which stb's "corrupt PNG" does not).
void check_png_chunks(std::string_view bytes, const std::string& origin) {
  size_t at = 8;  // after the signature
  auto be32 = [&](size_t i) {
    return uint32_t{static_cast<uint8_t>(bytes[i])} << 24 | uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 16 |
           uint32_t{static_cast<uint8_t>(bytes[i + 2])} << 8 | uint32_t{static_cast<uint8_t>(bytes[i + 3])};
  };
  while (bytes.size() - at >= 8) {
    const uint64_t length = be32(at);
    const std::string type(bytes.substr(at + 4, 4));
    if (length > bytes.size() - at - 8 || bytes.size() - at - 8 - length < 4)
      fail(origin, "cannot decode PNG: chunk '" + type + "' at byte " + std::to_string(at) + " claims " + std::to_string(length) +
                       " bytes but the file ends first");
    at += 12 + length;
    if (type == "IEND") return;
  }
  fail(origin, "cannot decode PNG: the file is truncated (no IEND chunk)");
}

Image8 decode_png(std::string_view bytes, const std::string& origin, const DecodeLimits& limits) {
  if (bytes.size() < 33) fail(origin, "cannot decode PNG: the file is truncated");
  check_png_chunks(bytes, origin);
  // IHDR is always the first chunk: color type at byte 25. 3 = palette, 4 = gray+alpha, 6 = RGBA are
  // the PIL modes P/LA/RGBA, which the reference preprocessing composites on white.
  const uint8_t color_type = static_cast<uint8_t>(bytes[25]);
  const bool alpha = color_type == 3 || color_type == 4 || color_type == 6;
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) fail(origin, "PNG file is too large");
  const int len = static_cast<int>(bytes.size());
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(data, len, &w, &h, &comp)) fail(origin, std::string("cannot decode PNG: ") + stbi_failure_reason());
  check_size(w, h, origin, limits);
  const int want = alpha ? 4 : 3;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(stbi_load_from_memory(data, len, &w, &h, &comp, want), stbi_image_free);
  if (!pixels) fail(origin, std::string("cannot decode PNG: ") + stbi_failure_reason());
  Image8 out;
  out.width = w, out.height = h, out.channels = 3;
  const size_t n = static_cast<size_t>(w) * static_cast<size_t>(h);
  out.pixels.resize(n * 3);
  const stbi_uc* src = pixels.get();
  if (!alpha) {
    std::memcpy(out.pixels.data(), src, n * 3);
    return out;
  }
  for (size_t i = 0; i < n; ++i)
    for (int k = 0; k < 3; ++k) out.pixels[i * 3 + k] = over_white(src[i * 4 + k], src[i * 4 + 3]);
  return out;
}

}  // namespace

ImageFormat sniff_image_format(std::string_view b) {
  if (b.size() >= 3 && static_cast<uint8_t>(b[0]) == 0xff && static_cast<uint8_t>(b[1]) == 0xd8 && static_cast<uint8_t>(b[2]) == 0xff)
    return ImageFormat::Jpeg;
  if (b.size() >= 8 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) return ImageFormat::Png;
  return ImageFormat::Unknown;
}

Image8 decode_image_bytes(std::string_view bytes, const std::string& origin, const DecodeLimits& limits) {
  switch (sniff_image_format(bytes)) {
    case ImageFormat::Jpeg: return decode_jpeg(bytes, origin, limits);
    case ImageFormat::Png: return decode_png(bytes, origin, limits);
    case ImageFormat::Unknown: break;
  }
  fail(origin, bytes.empty() ? "empty file, not an image" : "not a JPEG or PNG image");
}

Image8 decode_image(const std::filesystem::path& path, const DecodeLimits& limits) {
  const RandomAccessFile file(path);
  if (file.size() > limits.max_file_bytes) fail(file.name(), "image file is larger than " + std::to_string(limits.max_file_bytes) + " bytes");
  return decode_image_bytes(file.read_string(0, file.size(), file.name()), file.name(), limits);
}

Image8 apply_exif_orientation(const Image8& in, int orientation) {
  if (orientation < 2 || orientation > 8) return in;
  const bool swap = orientation >= 5;
  const int64_t W = in.width, H = in.height, C = in.channels;
  Image8 out;
  out.width = swap ? H : W, out.height = swap ? W : H, out.channels = C;
  out.pixels.resize(in.pixels.size());
  for (int64_t y = 0; y < out.height; ++y)
    for (int64_t x = 0; x < out.width; ++x) {
      int64_t sx = x, sy = y;
      switch (orientation) {
        case 2: sx = W - 1 - x; break;                  // mirror left-right
        case 3: sx = W - 1 - x, sy = H - 1 - y; break;  // rotate 180
        case 4: sy = H - 1 - y; break;                  // mirror top-bottom
        case 5: sx = y, sy = x; break;                  // transpose
        case 6: sx = y, sy = H - 1 - x; break;          // rotate 90 clockwise (PIL ROTATE_270)
        case 7: sx = W - 1 - y, sy = H - 1 - x; break;  // transverse
        case 8: sx = W - 1 - y, sy = x; break;          // rotate 90 counter-clockwise (PIL ROTATE_90)
      }
      std::memcpy(out.row(y) + x * C, in.row(sy) + sx * C, static_cast<size_t>(C));
    }
  return out;
}

}  // namespace onnxquant
