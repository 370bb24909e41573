// `onnxquant inspect BAD.onnx` on hostile and malformed files (issue 10): exit code 3 (load error) and one
// line on stderr naming the file, for every model of support/hostile_models.h and for the file-level cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "support/cli_runner.h"
#include "support/hostile_models.h"
#include "support/temp_dir.h"

using namespace onnxquant;
using onnxquant::test::run_cli;
namespace fs = std::filesystem;

namespace {

void write_bytes(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

void expect_one_line_load_error(const fs::path& model, const std::string& fragment) {
  SCOPED_TRACE(model.string());
  const auto r = run_cli("inspect '" + model.string() + "'");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("onnxquant: load error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(model.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
}

}  // namespace

TEST(HostileModelsCli, InspectExitsThreeWithOneLine) {
  test::TempDir dir;
  for (const auto& bad : test::hostile_models()) {
    write_bytes(dir / (bad.name + ".onnx"), bad.proto.SerializeAsString());
    expect_one_line_load_error(dir / (bad.name + ".onnx"), bad.fragment);
  }
}

TEST(HostileModelsCli, EmptyTruncatedAndEscapingFiles) {
  test::TempDir dir;
  write_bytes(dir / "empty.onnx", "");
  expect_one_line_load_error(dir / "empty.onnx", "file is empty");
  const std::string good = test::chain_model(50).SerializeAsString();
  write_bytes(dir / "truncated.onnx", good.substr(0, good.size() - 5));
  expect_one_line_load_error(dir / "truncated.onnx", "truncated or corrupt");

  fs::create_directories(dir / "models");
  write_bytes(dir / "secret.bin", std::string(16, '\0'));
  write_bytes(dir / "models" / "dotdot.onnx", test::with_external_location("../secret.bin").SerializeAsString());
  expect_one_line_load_error(dir / "models" / "dotdot.onnx", "leaves the model's folder");
  write_bytes(dir / "models" / "absolute.onnx", test::with_external_location((dir / "secret.bin").string()).SerializeAsString());
  expect_one_line_load_error(dir / "models" / "absolute.onnx", "is absolute");
  fs::create_symlink(dir / "secret.bin", dir / "models" / "link.bin");
  write_bytes(dir / "models" / "symlink.onnx", test::with_external_location("link.bin").SerializeAsString());
  expect_one_line_load_error(dir / "models" / "symlink.onnx", "outside the model's folder");
}
