// The CLI as a user runs it: exit codes, one-line errors, --version.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

#include "support/cli_runner.h"

using onnxquant::test::run_cli;

TEST(Cli, VersionNamesRuntimeAndOnnx) {
  auto r = run_cli("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("onnxquant "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ONNX Runtime 1.30"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ONNX 1.12"), std::string::npos) << r.out;
}

TEST(Cli, UnknownOptionIsUsageError) {
  auto r = run_cli("inspect --no-such-option x.onnx");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("error"), std::string::npos);
}
