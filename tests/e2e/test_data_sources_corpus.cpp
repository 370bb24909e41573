// Data sources against the corpus's own preprocessed tensors (shared/corpus/30_preprocess_images.py and
// 40_ocr_data.py): the imagenet preset on the original photos must give the data/imagenet224 tensors,
// paddle-det the OCR det inputs, and the raw/.npy folders the same samples as the stacks they came from.
// Skipped when the corpus is absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "core/errors.h"
#include "io/model_inputs.h"
#include "io/npy.h"
#include "support/cli_runner.h"
#include "support/corpus.h"
#include "support/temp_dir.h"

using namespace onnxquant;
namespace fs = std::filesystem;

namespace {

const IoInfo kImagenetInput{"input", DType::Float32, {1, 3, 224, 224}, {"", "", "", ""}};

struct Diff {
  double max_abs = 0;
  int64_t differing = 0, total = 0;
};

void accumulate(Diff& d, const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.shape, want.shape);
  const auto a = got.as<float>(), b = want.as<float>();
  for (size_t i = 0; i < a.size(); ++i) {
    const double e = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
    d.max_abs = std::max(d.max_abs, e);
    d.differing += e != 0;
  }
  d.total += static_cast<int64_t>(a.size());
}

std::vector<fs::path> sorted_files(const fs::path& dir, const std::string& ext) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ext) files.push_back(e.path());
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.filename().string() < b.filename().string(); });
  return files;
}

}  // namespace

// Every photo (JPEG RGB and gray, PNG gray and RGBA, 150x150 up to 2560x1600) against the corpus tensor
// of the same name. Decoding uses PIL's own JPEG library and the resize is PIL's fixed-point filter, so
// the tensors should agree bit for bit; the bound allows one 8-bit level (1/255/0.225 = 0.0174).
TEST(DataSourcesCorpus, ImagenetPresetMatchesCorpusTensors) {
  ONNXQ_REQUIRE_CORPUS();
  const fs::path photos = test::corpus_dir() / "data/photos/orig", npy = test::corpus_dir() / "data/imagenet224/npy";
  InputOptions o;
  o.files = {photos.string()};
  o.images.preset = "imagenet";
  InputSource source({kImagenetInput}, o);
  const auto expected = sorted_files(npy, ".npy");  // same stems as the photos, so the same order
  ASSERT_EQ(source.size(), static_cast<int64_t>(expected.size()));
  Diff all;
  int64_t exact_images = 0;
  for (const auto& want_file : expected) {
    auto sample = source.next();
    ASSERT_TRUE(sample);
    Diff one;
    accumulate(one, sample->at("input"), read_npy(want_file));
    exact_images += one.differing == 0;
    if (one.max_abs > all.max_abs) std::cout << "  " << want_file.filename().string() << ": max abs diff " << one.max_abs << "\n";
    all.max_abs = std::max(all.max_abs, one.max_abs);
    all.differing += one.differing;
    all.total += one.total;
  }
  std::cout << "imagenet preset vs corpus: " << expected.size() << " photos, " << exact_images << " bit-identical, max abs diff "
            << all.max_abs << ", " << all.differing << " of " << all.total << " values differ\n";
  RecordProperty("max_abs_diff", std::to_string(all.max_abs));
  EXPECT_LT(all.max_abs, 0.02);
}

TEST(DataSourcesCorpus, RawFolderEqualsCalibStack) {
  ONNXQ_REQUIRE_CORPUS();
  const fs::path dir = test::corpus_dir() / "data/imagenet224";
  InputOptions o;
  o.files = {(dir / "calib_raw").string()};  // also holds index.txt, which is ignored
  InputSource source({kImagenetInput}, o);
  const NpyReader calib(dir / "calib.npy");
  ASSERT_EQ(source.size(), calib.rows());
  for (int64_t i = 0; auto sample = source.next(); ++i) ASSERT_EQ(sample->at("input").bytes, calib.read_rows(i, 1).bytes) << "sample " << i;
  // The same folder for a dynamic-batch model, shape from --raw-shape.
  o.raw_shapes = {{"", {1, 3, 224, 224}}};
  o.max_samples = 3;
  EXPECT_EQ(load_model_inputs({IoInfo{"input", DType::Float32, {-1, 3, 224, 224}, {"batch", "", "", ""}}}, o).size(), 3u);
  // A wrong shape is caught from the file sizes before anything is read.
  o.raw_shapes = {{"", {1, 3, 224, 225}}};
  EXPECT_THROW(InputSource({IoInfo{"input", DType::Float32, {-1, 3, 224, -1}, {"batch", "", "", "w"}}}, o), DataError);
}

TEST(DataSourcesCorpus, NpyFolderGivesTheFilesInOrder) {
  ONNXQ_REQUIRE_CORPUS();
  const fs::path dir = test::corpus_dir() / "data/imagenet224/npy";
  const auto files = sorted_files(dir, ".npy");
  InputOptions o;
  o.files = {dir.string()};
  InputSource all({kImagenetInput}, o);
  EXPECT_EQ(all.size(), static_cast<int64_t>(files.size()));
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(all.next()->at("input").bytes, read_npy(files[i]).bytes) << files[i];
  o.max_samples = 5;
  o.shuffle = true;
  o.seed = 3;
  const auto picked = load_model_inputs({kImagenetInput}, o);
  ASSERT_EQ(picked.size(), 5u);
  EXPECT_NE(picked[0].at("input").bytes, read_npy(files[0]).bytes);  // a random subset, not the first five
  EXPECT_EQ(load_model_inputs({kImagenetInput}, o)[4].at("input").bytes, picked[4].at("input").bytes);  // reproducible
}

// PP-OCR det inputs: the rendered 640x640 scenes need no resize (exact), the opencv-doc photos go through
// DetResizeForTest's rounding to multiples of 32 and a 2-tap bilinear resize.
TEST(DataSourcesCorpus, PaddleDetPresetMatchesOcrInputs) {
  ONNXQ_REQUIRE_CORPUS();
  const fs::path ocr = test::corpus_dir() / "data/ocr";
  const IoInfo det{"x", DType::Float32, {-1, 3, -1, -1}, {"p2o.DynamicDimension.0", "", "p2o.DynamicDimension.1", "p2o.DynamicDimension.2"}};
  InputOptions o;
  o.files = {(ocr / "scenes").string()};
  o.images.preset = "paddle-det";
  o.max_samples = 20;  // calib_00..calib_19 sort before eval_*
  InputSource scenes({det}, o);
  const NpyReader calib(ocr / "det_calib.npy");
  Diff d;
  for (int64_t i = 0; auto sample = scenes.next(); ++i) accumulate(d, sample->at("x"), calib.read_rows(i, 1));
  std::cout << "paddle-det preset vs det_calib.npy: max abs diff " << d.max_abs << " (" << d.differing << " of " << d.total << " differ)\n";
  EXPECT_LT(d.max_abs, 1e-5);

  const fs::path text = test::corpus_dir() / ".cache/root/opencv-doc/usr/share/doc/opencv-doc/examples/text";
  if (!fs::exists(text / "scenetext01.jpg")) GTEST_SKIP() << "opencv-doc scene text photos not in the corpus cache";
  test::TempDir dir;
  for (int i = 1; i <= 6; ++i) {
    const std::string name = "scenetext0" + std::to_string(i) + ".jpg";
    fs::create_symlink(text / name, dir / name);
  }
  o.files = {dir.path().string()};
  o.max_samples = 0;
  InputSource real({det}, o);
  Diff r;
  for (int i = 1; auto sample = real.next(); ++i)
    accumulate(r, sample->at("x"), read_npy(ocr / "real" / ("det_scenetext0" + std::to_string(i) + ".npy")));
  std::cout << "paddle-det preset vs real/det_scenetext*.npy: max abs diff " << r.max_abs << " (" << r.differing << " of " << r.total
            << " differ)\n";
  EXPECT_LT(r.max_abs, 1e-4);
}

TEST(DataSourcesCorpus, CliRunsAModelOnAFolderOfPhotos) {
  ONNXQ_REQUIRE_CORPUS();
  const std::string model = (test::corpus_dir() / "torch/mobilenet_v2.onnx").string();
  const std::string photos = (test::corpus_dir() / "data/photos/orig").string();
  auto r = test::run_cli("--format json run " + model + " -i " + photos + " --preset imagenet -n 3 --shuffle --seed 7");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"samples\": 3"), std::string::npos) << r.out;
  // Data that does not fit: a clear data error (exit code 5) before anything runs.
  r = test::run_cli("run " + model + " -i " + photos + " --preset paddle-det -n 1");
  EXPECT_EQ(r.exit_code, 5) << r.err;
  r = test::run_cli("run " + model + " -i " + photos);  // no preprocessing recipe
  EXPECT_EQ(r.exit_code, 2) << r.err;
}
