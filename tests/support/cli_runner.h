// Runs the onnxquant binary as a user would (through the shell) and captures exit code, stdout, stderr.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "support/file_bytes.h"

namespace onnxquant::test {

struct CliResult {
  int exit_code = -1;
  std::string out, err;
};

inline CliResult run_cli(const std::string& args) {
  static std::mt19937_64 rng{std::random_device{}()};
  const auto dir = std::filesystem::temp_directory_path();
  const auto tag = std::to_string(rng());
  const auto out = dir / ("onnxq-cli-" + tag + ".out"), err = dir / ("onnxq-cli-" + tag + ".err");
  const std::string cmd = std::string(ONNXQ_CLI_PATH) + " " + args + " >" + out.string() + " 2>" + err.string();
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = file_bytes(out);
  r.err = file_bytes(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

}  // namespace onnxquant::test
