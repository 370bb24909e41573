// Images as data: decoding (JPEG/PNG in every color type), PIL-exact resizing, presets and overrides,
// and folders of images as an InputSource, with the bad-input cases. Test images are made here: PNGs
// and JPEGs with stb_image_write, the PNG color types stb cannot write (palette, gray+alpha, 16-bit)
// by a small hand-written encoder.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>
#include <zlib.h>

#include <cmath>
#include <fstream>

#include "core/errors.h"
#include "io/image_decode.h"
#include "io/image_preprocess.h"
#include "io/model_inputs.h"
#include "support/temp_dir.h"

using namespace onnxquant;

namespace {

// The test pattern the expected PIL values below were computed from: pixel (x, y, c) = (37x + 91y + 53c) % 256.
Image8 pattern(int64_t w, int64_t h) {
  Image8 im;
  im.width = w, im.height = h, im.channels = 3;
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t c = 0; c < 3; ++c) im.pixels.push_back(static_cast<uint8_t>((x * 37 + y * 91 + c * 53) % 256));
  return im;
}

void write_png(const std::filesystem::path& p, const Image8& im) {
  ASSERT_TRUE(stbi_write_png(p.c_str(), static_cast<int>(im.width), static_cast<int>(im.height), static_cast<int>(im.channels),
                             im.pixels.data(), static_cast<int>(im.width * im.channels)));
}

void write_jpg(const std::filesystem::path& p, const Image8& im, int quality = 100) {
  ASSERT_TRUE(stbi_write_jpg(p.c_str(), static_cast<int>(im.width), static_cast<int>(im.height), static_cast<int>(im.channels),
                             im.pixels.data(), quality));
}

// A minimal PNG encoder: one IDAT, filter 0 on every row; `extra` chunks (PLTE, tRNS) go before IDAT.
void put_chunk(std::string& out, const char* type, const std::string& data) {
  auto be32 = [&](uint32_t v) { for (int i = 3; i >= 0; --i) out += static_cast<char>(v >> (8 * i) & 0xff); };
  be32(static_cast<uint32_t>(data.size()));
  const std::string body = std::string(type, 4) + data;
  out += body;
  be32(static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}
void write_raw_png(const std::filesystem::path& p, uint32_t w, uint32_t h, uint8_t depth, uint8_t color_type, const std::string& rows_without_filter,
                   const std::vector<std::pair<const char*, std::string>>& extra = {}) {
  std::string ihdr;
  for (uint32_t v : {w, h})
    for (int i = 3; i >= 0; --i) ihdr += static_cast<char>(v >> (8 * i) & 0xff);
  ihdr += {static_cast<char>(depth), static_cast<char>(color_type), 0, 0, 0};
  const size_t row_bytes = rows_without_filter.size() / h;
  std::string raw;
  for (uint32_t y = 0; y < h; ++y) raw += '\0' + rows_without_filter.substr(y * row_bytes, row_bytes);
  uLongf len = compressBound(static_cast<uLong>(raw.size()));
  std::string z(len, '\0');
  ASSERT_EQ(compress(reinterpret_cast<Bytef*>(z.data()), &len, reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size())), Z_OK);
  z.resize(len);
  std::string png("\x89PNG\r\n\x1a\n", 8);
  put_chunk(png, "IHDR", ihdr);
  for (const auto& [type, data] : extra) put_chunk(png, type, data);
  put_chunk(png, "IDAT", z);
  put_chunk(png, "IEND", "");
  std::ofstream(p, std::ios::binary) << png;
}

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s += static_cast<char>(b);
  return s;
}

ImageOptions with_preset(const std::string& name) {
  ImageOptions o;
  o.preset = name;
  return o;
}
ImageOptions sized(int64_t h, int64_t w) {
  ImageOptions o;
  o.size = std::array<int64_t, 2>{h, w};
  return o;
}

IoInfo image_input(Shape shape = {1, 3, -1, -1}) { return IoInfo{"x", DType::Float32, shape, {"", "", "H", "W"}}; }

}  // namespace

TEST(ImageDecode, PngRgbIsExactAndJpegIsClose) {
  test::TempDir dir;
  const Image8 im = pattern(13, 7);
  write_png(dir / "a.png", im);
  const Image8 png = decode_image(dir / "a.png");
  EXPECT_EQ(png.width, 13);
  EXPECT_EQ(png.height, 7);
  EXPECT_EQ(png.pixels, im.pixels);
  Image8 flat;  // JPEG is lossy; a smooth image survives quality 100 within a few levels
  flat.width = 16, flat.height = 16;
  for (int i = 0; i < 256; ++i) flat.pixels.insert(flat.pixels.end(), {200, 100, 50});
  write_jpg(dir / "b.jpg", flat);
  const Image8 jpg = decode_image(dir / "b.jpg");
  ASSERT_EQ(jpg.pixels.size(), flat.pixels.size());
  for (size_t i = 0; i < jpg.pixels.size(); ++i) EXPECT_NEAR(jpg.pixels[i], flat.pixels[i], 3) << i;
  Image8 gray;  // a one-channel JPEG becomes RGB with equal channels
  gray.width = 8, gray.height = 8, gray.channels = 1, gray.pixels.assign(64, 77);
  write_jpg(dir / "g.jpg", gray);
  const Image8 g = decode_image(dir / "g.jpg");
  ASSERT_EQ(g.channels, 3);
  EXPECT_NEAR(g.pixels[0], 77, 2);
  EXPECT_EQ(g.pixels[0], g.pixels[1]);
}

TEST(ImageDecode, PngColorTypesBecomeRgb) {
  test::TempDir dir;
  write_raw_png(dir / "gray.png", 2, 1, 8, 0, bytes({0, 200}));
  EXPECT_EQ(decode_image(dir / "gray.png").pixels, (std::vector<uint8_t>{0, 0, 0, 200, 200, 200}));
  // 16-bit gray keeps the high byte, as PIL does for 16-bit RGB.
  write_raw_png(dir / "gray16.png", 2, 1, 16, 0, bytes({0x12, 0x34, 0xff, 0x01}));
  EXPECT_EQ(decode_image(dir / "gray16.png").pixels, (std::vector<uint8_t>{0x12, 0x12, 0x12, 0xff, 0xff, 0xff}));
  write_raw_png(dir / "rgb16.png", 1, 1, 16, 2, bytes({0xab, 0, 0x10, 0xff, 0x7f, 0x80}));
  EXPECT_EQ(decode_image(dir / "rgb16.png").pixels, (std::vector<uint8_t>{0xab, 0x10, 0x7f}));
  // Alpha is composited on white with PIL's arithmetic: a=0 white, a=255 the color, a=128 halfway.
  write_raw_png(dir / "rgba.png", 3, 1, 8, 6, bytes({10, 20, 30, 0, 10, 20, 30, 255, 0, 100, 200, 128}));
  EXPECT_EQ(decode_image(dir / "rgba.png").pixels, (std::vector<uint8_t>{255, 255, 255, 10, 20, 30, 127, 177, 227}));
  write_raw_png(dir / "la.png", 1, 1, 8, 4, bytes({0, 128}));
  EXPECT_EQ(decode_image(dir / "la.png").pixels, (std::vector<uint8_t>{127, 127, 127}));
  // Palette with a transparent entry (tRNS), as PIL's P -> RGBA -> composite.
  write_raw_png(dir / "pal.png", 2, 1, 8, 3, bytes({0, 1}), {{"PLTE", bytes({255, 0, 0, 0, 0, 255})}, {"tRNS", bytes({0})}});
  EXPECT_EQ(decode_image(dir / "pal.png").pixels, (std::vector<uint8_t>{255, 255, 255, 0, 0, 255}));
  // tRNS on an RGB image is ignored (PIL's convert("RGB") ignores it).
  write_raw_png(dir / "rgbt.png", 1, 1, 8, 2, bytes({1, 2, 3}), {{"tRNS", bytes({0, 1, 0, 2, 0, 3})}});
  EXPECT_EQ(decode_image(dir / "rgbt.png").pixels, (std::vector<uint8_t>{1, 2, 3}));
}

TEST(ImageDecode, BadFilesAreDataErrorsNamingTheFile) {
  test::TempDir dir;
  std::ofstream(dir / "text.jpg") << "not an image at all";
  std::ofstream(dir / "empty.png");
  write_jpg(dir / "ok.jpg", pattern(32, 32));
  std::string jpg = [&] { std::ifstream in(dir / "ok.jpg", std::ios::binary); return std::string(std::istreambuf_iterator<char>(in), {}); }();
  std::ofstream(dir / "cut.jpg", std::ios::binary) << jpg.substr(0, jpg.size() / 2);
  std::ofstream(dir / "cut.png", std::ios::binary) << std::string("\x89PNG\r\n\x1a\n", 8) + "\0\0\0\rIHDR";
  for (const char* name : {"text.jpg", "empty.png", "cut.jpg", "cut.png", "missing.png"}) {
    try {
      decode_image(dir / name);
      ADD_FAILURE() << name << " decoded";
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
  DecodeLimits small;
  small.max_pixels = 100;
  EXPECT_THROW(decode_image(dir / "ok.jpg", small), DataError);  // 32x32 > 100 pixels: refused before allocating
}

// Found by fuzz/run.sh image: stb_image allocated what an IDAT header claimed (2 GiB) before reading it.
// The chunk table is now checked against the file size first, and the error names the chunk.
TEST(ImageDecode, PngChunkClaimingMoreThanTheFileIsRefusedBeforeAllocating) {
  test::TempDir dir;
  write_raw_png(dir / "ok.png", 1, 1, 8, 2, bytes({10, 20, 30}));
  const std::string good = [&] { std::ifstream in(dir / "ok.png", std::ios::binary); return std::string(std::istreambuf_iterator<char>(in), {}); }();
  EXPECT_EQ(decode_image_bytes(good, "ok.png").pixels, (std::vector<uint8_t>{10, 20, 30}));
  const size_t idat = good.find("IDAT") - 4;
  std::string huge = good;
  huge.replace(idat, 4, bytes({0x7f, 0xff, 0x00, 0x00}));
  try {
    decode_image_bytes(huge, "huge-idat.png");
    ADD_FAILURE() << "decoded";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("huge-idat.png: cannot decode PNG: chunk 'IDAT' at byte 33 claims 2147418112 bytes"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(decode_image_bytes(good.substr(0, idat), "no-end.png"), DataError);
}

TEST(ImageDecode, ExifOrientationRotatesLikePil) {
  Image8 im;  // 2x1: red, green
  im.width = 2, im.height = 1, im.pixels = {255, 0, 0, 0, 255, 0};
  const Image8 cw = apply_exif_orientation(im, 6);  // rotate 90 clockwise: red on top
  EXPECT_EQ(cw.width, 1);
  EXPECT_EQ(cw.height, 2);
  EXPECT_EQ(cw.pixels, (std::vector<uint8_t>{255, 0, 0, 0, 255, 0}));
  const Image8 ccw = apply_exif_orientation(im, 8);  // counter-clockwise: green on top
  EXPECT_EQ(ccw.pixels, (std::vector<uint8_t>{0, 255, 0, 255, 0, 0}));
  EXPECT_EQ(apply_exif_orientation(im, 2).pixels, (std::vector<uint8_t>{0, 255, 0, 255, 0, 0}));
  EXPECT_EQ(apply_exif_orientation(im, 1).pixels, im.pixels);
  // A JPEG carrying an APP1 Exif block with orientation 6 comes out rotated.
  test::TempDir dir;
  write_jpg(dir / "plain.jpg", pattern(16, 8));
  std::ifstream in(dir / "plain.jpg", std::ios::binary);
  std::string jpg(std::istreambuf_iterator<char>(in), {});
  const std::string tiff = bytes({'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0});
  const std::string payload = std::string("Exif\0\0", 6) + tiff;
  const std::string app1 = bytes({0xff, 0xe1, static_cast<int>((payload.size() + 2) >> 8), static_cast<int>((payload.size() + 2) & 0xff)}) + payload;
  std::ofstream(dir / "rot.jpg", std::ios::binary) << jpg.substr(0, 2) + app1 + jpg.substr(2);
  const Image8 rot = decode_image(dir / "rot.jpg");
  EXPECT_EQ(rot.width, 8);
  EXPECT_EQ(rot.height, 16);
}

TEST(ImageResize, MatchesPilBilinearExactly) {
  // Expected values from Pillow 9.4 (Debian): Image.fromarray(pattern).resize(size, Image.BILINEAR).
  const Image8 im = pattern(13, 7);
  const Image8 down = resize_antialiased(im, 5, 3);
  EXPECT_EQ(down.pixels, (std::vector<uint8_t>{101, 132, 136, 133, 150, 133, 116, 121, 141, 112, 125, 130, 139, 123, 104,
                                               109, 128, 140, 114, 140, 126, 132, 138, 135, 113, 129, 143, 119, 117, 123,
                                               127, 132, 140, 113, 131, 146, 115, 138, 117, 123, 132, 148, 121, 134, 147}));
  auto sum = [](const Image8& i) { int64_t s = 0; for (uint8_t v : i.pixels) s += v; return s; };
  const Image8 up = resize_antialiased(im, 20, 9);
  EXPECT_EQ(sum(up), 69083);
  EXPECT_EQ(std::vector<uint8_t>(up.row(4) + 7 * 3, up.row(4) + 8 * 3), (std::vector<uint8_t>{179, 232, 29}));
  const Image8 horizontal = resize_antialiased(im, 6, 7);
  EXPECT_EQ(sum(horizontal), 16133);
  EXPECT_EQ(std::vector<uint8_t>(horizontal.pixels.begin(), horizontal.pixels.begin() + 6), (std::vector<uint8_t>{29, 82, 135, 100, 153, 206}));
  const Image8 vertical = resize_antialiased(im, 13, 3);
  EXPECT_EQ(sum(vertical), 14974);
  EXPECT_EQ(std::vector<uint8_t>(vertical.pixels.begin(), vertical.pixels.begin() + 6), (std::vector<uint8_t>{78, 131, 129, 115, 113, 166}));
  const Image8 gray = to_gray(im);
  EXPECT_EQ(sum(gray), 11626);
  EXPECT_EQ(gray.pixels[3 * 13 + 5], 216);
}

TEST(ImagePreprocess, PresetsAndOverrides) {
  const Image8 im = pattern(40, 30);
  ImageOptions o;
  o.preset = "imagenet";
  ImagePreprocess r = resolve_image_preprocess(o, image_input_shape({1, 3, 224, 224}));
  PreprocessedImage p = preprocess_image(im, r);
  EXPECT_EQ(p.tensor.shape, (Shape{1, 3, 224, 224}));
  EXPECT_EQ(p.geometry.resized_height, 256);
  EXPECT_EQ(p.geometry.resized_width, 341);  // int(256 * 40 / 30)
  o.preset = "unit";
  p = preprocess_image(im, resolve_image_preprocess(o, image_input_shape({1, 3, -1, -1})));
  EXPECT_EQ(p.tensor.shape, (Shape{1, 3, 30, 40}));
  EXPECT_FLOAT_EQ(p.tensor.as<float>()[1 * 30 * 40], 53.f / 255.f);  // channel G of pixel (0,0)
  // Fixed model dims and nothing else fixing the size: resized to exactly what the model wants.
  EXPECT_EQ(preprocess_image(im, resolve_image_preprocess(o, image_input_shape({1, 3, 16, 8}))).tensor.shape, (Shape{1, 3, 16, 8}));
  // paddle-det: sides rounded to multiples of 32 (30 -> 32, 40 -> 32), BGR, ImageNet mean/std on B,G,R.
  o.preset = "paddle-det";
  p = preprocess_image(im, resolve_image_preprocess(o, image_input_shape({-1, 3, -1, -1})));
  EXPECT_EQ(p.tensor.shape, (Shape{1, 3, 32, 32}));
  Image8 red;
  red.width = 64, red.height = 96;
  for (int i = 0; i < 64 * 96; ++i) red.pixels.insert(red.pixels.end(), {255, 0, 0});
  p = preprocess_image(red, resolve_image_preprocess(o, image_input_shape({-1, 3, -1, -1})));
  EXPECT_EQ(p.tensor.shape, (Shape{1, 3, 96, 64}));
  EXPECT_FLOAT_EQ(p.tensor.as<float>()[0], (0.f - 0.485f) / 0.229f);                // B
  EXPECT_FLOAT_EQ(p.tensor.as<float>()[2 * 96 * 64], (1.f - 0.406f) / 0.225f);      // R
  o.max_side = 32;  // 96 -> 32, 64 -> int(21.3)=21 -> round(0.66)*32 = 32
  EXPECT_EQ(preprocess_image(red, resolve_image_preprocess(o, image_input_shape({-1, 3, -1, -1}))).tensor.shape, (Shape{1, 3, 32, 32}));
  // Explicit options override the preset one by one.
  o = {};
  o.preset = "imagenet";
  o.size = std::array<int64_t, 2>{20, 10};
  o.crop.reset();
  o.mean = std::vector<float>{0.5f};
  o.std = std::vector<float>{0.5f};
  o.layout = ImageLayout::NHWC;
  o.order = ChannelOrder::BGR;
  r = resolve_image_preprocess(o, image_input_shape({1, -1, -1, 3}));
  EXPECT_TRUE(r.crop.has_value());  // imagenet's crop stays unless overridden
  o.crop = std::array<int64_t, 2>{20, 10};
  p = preprocess_image(im, resolve_image_preprocess(o, image_input_shape({1, -1, -1, 3})));
  EXPECT_EQ(p.tensor.shape, (Shape{1, 20, 10, 3}));
  // Layout from the model: [1,224,224,3] is NHWC.
  EXPECT_EQ(resolve_image_preprocess(with_preset("imagenet"), image_input_shape({1, 224, 224, 3})).layout, ImageLayout::NHWC);
  // A one-channel model gets PIL's gray conversion.
  p = preprocess_image(im, resolve_image_preprocess(with_preset("unit"), image_input_shape({1, 1, 30, 40})));
  EXPECT_EQ(p.tensor.shape, (Shape{1, 1, 30, 40}));
  EXPECT_FLOAT_EQ(p.tensor.as<float>()[3 * 40 + 5], static_cast<float>(to_gray(im).pixels[3 * 40 + 5]) / 255.f);
}

TEST(ImagePreprocess, ContradictionsAreUsageErrors) {
  ImageOptions o;
  EXPECT_THROW(resolve_image_preprocess(o, {}), UsageError);  // no recipe at all
  o.preset = "resnet";
  EXPECT_THROW(resolve_image_preprocess(o, {}), UsageError);
  o.preset = "imagenet";
  o.size = std::array<int64_t, 2>{224, 224};
  o.resize_shorter = 256;
  EXPECT_THROW(resolve_image_preprocess(o, {}), UsageError);
  o = {};
  o.preset = "unit";
  o.mean = std::vector<float>{0.1f, 0.2f};
  EXPECT_THROW(resolve_image_preprocess(o, {}), UsageError);
  o.mean.reset();
  o.max_side = 100;  // only paddle-det has a max side
  EXPECT_THROW(resolve_image_preprocess(o, {}), UsageError);
  EXPECT_THROW(resolve_image_preprocess(with_preset("unit"), image_input_shape({1, 4, 8, 8})), DataError);
  // Without a preset, explicit options alone are a recipe (unit-like base).
  EXPECT_NO_THROW(resolve_image_preprocess(sized(8, 8), {}));
}

TEST(ImageFolder, StreamsSortedImagesThroughTheRecipe) {
  test::TempDir dir;
  write_png(dir / "b.png", pattern(20, 10));
  write_jpg(dir / "a.JPG", pattern(30, 10));
  write_png(dir / "c.png", pattern(40, 10));
  std::ofstream(dir / "labels.txt") << "ignored";
  InputOptions o;
  o.files = {dir.path().string()};
  o.images.preset = "unit";
  InputSource src({image_input()}, o);
  EXPECT_EQ(src.size(), 3);
  std::vector<int64_t> widths;
  while (auto s = src.next()) widths.push_back(s->at("x").shape[3]);
  EXPECT_EQ(widths, (std::vector<int64_t>{30, 20, 40}));  // a.JPG, b.png, c.png
  // Fixed spatial dims: every image is resized to them; -n limits; a single image file works too.
  o.max_samples = 2;
  auto samples = load_model_inputs({image_input({1, 3, 8, 8})}, o);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[1].at("x").shape, (Shape{1, 3, 8, 8}));
  o.files = {"x=" + (dir / "c.png").string()};
  EXPECT_EQ(load_model_inputs({image_input()}, o).at(0).at("x").shape, (Shape{1, 3, 10, 40}));
  // A recipe that does not fit the model fails when the source is built.
  o.files = {dir.path().string()};
  o.images.preset = "imagenet";
  EXPECT_THROW(InputSource({image_input({1, 3, 299, 299})}, o), DataError);
  // No recipe: a usage error before any image is read.
  o.images = {};
  EXPECT_THROW(InputSource({image_input()}, o), UsageError);
}

TEST(ImageFolder, BatchesAndDetectionCompanions) {
  test::TempDir dir;
  for (int i = 0; i < 5; ++i) write_png(dir / ("img" + std::to_string(i) + ".png"), pattern(64, 48));
  InputOptions o;
  o.files = {dir.path().string()};
  o.images.preset = "paddle-det";
  // image + im_shape + scale_factor (PaddleDetection): the companions come from each image's geometry.
  std::vector<IoInfo> det{IoInfo{"image", DType::Float32, {-1, 3, -1, -1}, {"N", "", "H", "W"}},
                          IoInfo{"im_shape", DType::Float32, {-1, 2}, {"N", ""}}, IoInfo{"scale_factor", DType::Float32, {-1, 2}, {"N", ""}}};
  auto s = load_model_inputs(det, o);
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0].at("image").shape, (Shape{1, 3, 64, 64}));  // 48 -> round(1.5) = 2 (half to even) -> 64
  EXPECT_EQ(s[0].at("im_shape").to_doubles(), (std::vector<double>{64, 64}));
  EXPECT_EQ(s[0].at("scale_factor").to_doubles(), (std::vector<double>{static_cast<float>(64.0 / 48.0), 1.0}));  // float32 input
  // --input-value still wins over the derived values.
  o.values = {{"scale_factor", {1.0, 1.0}}};
  EXPECT_EQ(load_model_inputs(det, o)[0].at("scale_factor").to_doubles(), (std::vector<double>{1.0, 1.0}));
  // A batch of 2: 5 images make 2 samples (the odd one is left out).
  o = {};
  o.files = {dir.path().string()};
  o.images.preset = "unit";
  s = load_model_inputs({image_input({2, 3, 16, 16})}, o);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].at("x").shape, (Shape{2, 3, 16, 16}));
}

TEST(ImageFolder, UnreadableImagesStopTheRunOrAreSkipped) {
  test::TempDir dir;
  write_png(dir / "a.png", pattern(8, 8));
  std::ofstream(dir / "b.jpg") << "garbage";
  write_png(dir / "c.png", pattern(8, 8));
  InputOptions o;
  o.files = {dir.path().string()};
  o.images.preset = "unit";
  InputSource src({image_input()}, o);
  ASSERT_TRUE(src.next());
  try {
    src.next();
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("b.jpg"), std::string::npos) << e.what();
  }
  o.skip_bad = true;
  const auto s = load_model_inputs({image_input()}, o);
  EXPECT_EQ(s.size(), 2u);
  InputSource skipping({image_input()}, o);
  while (skipping.next()) {
  }
  ASSERT_EQ(skipping.skipped().size(), 1u);
  EXPECT_NE(skipping.skipped()[0].find("b.jpg"), std::string::npos);
  // The first image unreadable and no skipping: the source is not even built.
  test::TempDir bad;
  std::ofstream(bad / "0.png") << "garbage";
  write_png(bad / "1.png", pattern(8, 8));
  o.files = {bad.path().string()};
  o.skip_bad = false;
  EXPECT_THROW(InputSource({image_input()}, o), DataError);
}
