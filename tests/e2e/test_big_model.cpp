// Models over 2 GB (issue 10), only with ONNXQ_BIG_TESTS=1: they need ~2.3 GB of disk per copy and several
// GB of memory. A float32 MatMul chain with 2.25 GiB of weights, saved with external data, is cast to
// float16 and quantized to static int8 by the CLI; ORT must load each result, and the peak memory of the
// runs is printed (README "Hardening"). The results are under 2 GB, so they are saved inline.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <sys/resource.h>

#include <cstdlib>
#include <filesystem>

#include "exec/executor.h"
#include "io/npy.h"
#include "ir/model.h"
#include "support/cli_runner.h"
#include "support/graph_builder.h"
#include "support/temp_dir.h"

using namespace onnxquant;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kWidth = 8192, kLayers = 9;  // 9 x 256 MiB of float32 weights

bool big_tests_enabled() {
  const char* v = std::getenv("ONNXQ_BIG_TESTS");
  return v && std::string(v) == "1";
}

void write_big_model(const fs::path& path) {
  test::GraphBuilder b;
  b.input("x", DType::Float32, {1, kWidth}).output("y" + std::to_string(kLayers), DType::Float32, {1, kWidth});
  for (int64_t i = 0; i < kLayers; ++i) {
    // Small values that keep activations bounded through the chain; a pattern, not random, to build fast.
    Tensor w(DType::Float32, {kWidth, kWidth});
    auto values = w.as<float>();
    for (size_t k = 0; k < values.size(); ++k) {
      const uint32_t hash = static_cast<uint32_t>(k + static_cast<size_t>(i)) * 2654435761u;
      values[k] = static_cast<float>(static_cast<int>(hash >> 24) - 128) * (1.0f / 128.0f / 90.0f);  // |w| < 0.012
    }
    b.initializer("w" + std::to_string(i), w);
    b.node("MatMul", {i == 0 ? "x" : "y" + std::to_string(i), "w" + std::to_string(i)}, {"y" + std::to_string(i + 1)}, "mm" + std::to_string(i));
  }
  // Moved, not copied (build() copies): the test process holds the weights once.
  Model(std::make_unique<onnx::ModelProto>(std::move(b.proto())), path).save(path);  // over 2 GB: external data automatically
}

// Peak resident memory of the finished children of this process, in MiB.
long children_peak_mib() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  return usage.ru_maxrss / 1024;
}

}  // namespace

TEST(BigModel, CastAndQuantizeOverTwoGigabytesWithExternalData) {
  if (!big_tests_enabled()) GTEST_SKIP() << "set ONNXQ_BIG_TESTS=1 (needs ~8 GB of disk and memory)";
  test::TempDir dir;
  const fs::path model = dir / "big.onnx";
  write_big_model(model);
  ASSERT_TRUE(fs::exists(dir / "big.onnx.data"));
  EXPECT_GT(fs::file_size(dir / "big.onnx.data"), uint64_t{2} << 30);
  EXPECT_LT(fs::file_size(model), uint64_t{1} << 20);

  const auto cast = test::run_cli("cast " + model.string() + " -o " + (dir / "fp16.onnx").string() + " --runs 0");
  ASSERT_EQ(cast.exit_code, 0) << cast.err;
  std::cout << "cast of a " << fs::file_size(dir / "big.onnx.data") / (1 << 20) << " MiB model: peak " << children_peak_mib() << " MiB\n";
  EXPECT_NO_THROW(Executor(dir / "fp16.onnx"));

  write_npy(dir / "x.npy", test::random_float_tensor({1, kWidth}, 7));  // one calibration sample
  const auto quant = test::run_cli("quantize --static-int8 " + model.string() + " -i " + (dir / "x.npy").string() + " -o " +
                                   (dir / "int8.onnx").string());
  ASSERT_EQ(quant.exit_code, 0) << quant.err;
  std::cout << "quantize --static-int8: peak so far " << children_peak_mib() << " MiB\n";
  EXPECT_NO_THROW(Executor(dir / "int8.onnx"));
}
