// Ctrl-C and SIGTERM in the middle of a run (issue 10): the process exits 128 + signal (130, 143), the
// output is not written (and an output that existed keeps its old contents), the input is untouched and no
// temp file or temporary folder is left, neither beside the output nor in TMPDIR.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "io/npy.h"
#include "support/cli_runner.h"
#include "support/graph_builder.h"
#include "support/temp_dir.h"

using namespace onnxquant;
namespace fs = std::filesystem;

namespace {

// Float32 model with ~100 MB of weights: casting and verifying it takes long enough to interrupt, and
// writing its output takes long enough that the temp file is seen before it is renamed.
void write_slow_model(const fs::path& path) {
  test::GraphBuilder b;
  constexpr int64_t kWidth = 1792, kLayers = 8;
  b.input("x", DType::Float32, {1, kWidth}).output("y" + std::to_string(kLayers), DType::Float32, {1, kWidth});
  for (int64_t i = 0; i < kLayers; ++i) {
    b.initializer("w" + std::to_string(i), test::random_float_tensor({kWidth, kWidth}, static_cast<uint32_t>(i + 1), -0.03f, 0.03f));
    b.node("MatMul", {i == 0 ? "x" : "y" + std::to_string(i), "w" + std::to_string(i)}, {"y" + std::to_string(i + 1)});
  }
  b.build().save(path);
}

class Child {
 public:
  // Runs the CLI with TMPDIR pointed at `tmpdir`, output to files in `logs`.
  Child(const std::vector<std::string>& args, const fs::path& tmpdir, const fs::path& logs) : log_(logs / "child.err") {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setenv("TMPDIR", tmpdir.c_str(), 1);
      std::freopen((logs / "child.out").c_str(), "w", stdout);
      std::freopen(log_.c_str(), "w", stderr);
      std::vector<char*> argv{const_cast<char*>(ONNXQ_CLI_PATH)};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(ONNXQ_CLI_PATH, argv.data());
      ::_exit(127);
    }
  }
  void signal(int sig) const { ::kill(pid_, sig); }
  bool running() {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == 0) return true;
    status_ = status;
    return false;
  }
  int wait_exit_code() {
    if (!status_) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
      status_ = status;
    }
    return WIFEXITED(*status_) ? WEXITSTATUS(*status_) : -WTERMSIG(*status_);
  }
  std::string stderr_text() const { return test::file_bytes(log_); }

 private:
  pid_t pid_ = -1;
  fs::path log_;
  std::optional<int> status_;
};

bool has_temp_file(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) return true;
  return false;
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

bool has_our_temp_folder(const fs::path& dir) {
  for (const auto& name : names_in(dir))
    if (name.rfind("onnxquant", 0) == 0) return true;
  return false;
}

struct Scene {
  test::TempDir dir;
  fs::path work = dir / "work", tmp = dir / "tmp", logs = dir / "logs", data = dir / "data";
  fs::path model = work / "model.onnx", output;
  std::string model_bytes;
  explicit Scene(const std::string& output_name = "out.onnx") : output(work / output_name) {
    fs::create_directories(work);
    fs::create_directories(tmp);
    fs::create_directories(logs);
    fs::create_directories(data);
    write_slow_model(model);
    model_bytes = test::file_bytes(model);
    std::ofstream(output) << "previous output";
    write_npy(data / "x.npy", test::random_float_tensor({4, 1792}, 11));  // 4 calibration samples
  }
  // Polls until `ready` holds, then sends `sig`; false when the run ended first (or took over 2 minutes).
  bool signal_when(Child& child, const std::function<bool()>& ready, int sig) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (child.running() && std::chrono::steady_clock::now() < deadline) {
      if (ready()) {
        child.signal(sig);
        return true;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return false;
  }
  void expect_nothing_changed() const {
    EXPECT_EQ(names_in(work), (std::vector<std::string>{"model.onnx", output.filename().string()}));
    EXPECT_EQ(test::file_bytes(output), "previous output");
    EXPECT_TRUE(test::file_bytes(model) == model_bytes) << "input model changed";
    // Our temporary folders are "onnxquant-*". ORT 1.30's npm build writes ".ses" and "mat-debug-PID.log"
    // to TMPDIR on every run, interrupted or not: not ours, not output.
    for (const auto& name : names_in(tmp)) EXPECT_NE(name.rfind("onnxquant", 0), 0u) << "left in TMPDIR: " << name;
  }
};

}  // namespace

TEST(InterruptCli, SigintWhileTheOutputIsBeingWrittenLeavesNothing) {
  Scene s;
  Child child({"cast", s.model.string(), "-o", s.output.string(), "--runs", "0"}, s.tmp, s.logs);
  // Wait for the output's temp file, then interrupt: the worst moment, a half-written file on disk.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool seen = false;
  while (child.running() && std::chrono::steady_clock::now() < deadline) {
    if (has_temp_file(s.work)) {
      seen = true;
      child.signal(SIGINT);
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ASSERT_TRUE(seen) << "the run ended before its output was being written: " << child.stderr_text();
  EXPECT_EQ(child.wait_exit_code(), 130) << child.stderr_text();
  EXPECT_NE(child.stderr_text().find("interrupted (SIGINT)"), std::string::npos) << child.stderr_text();
  s.expect_nothing_changed();
}

TEST(InterruptCli, SigtermDuringVerificationLeavesNothing) {
  Scene s;
  Child child({"cast", s.model.string(), "-o", s.output.string(), "--runs", "0"}, s.tmp, s.logs);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // loading, rewriting or verifying in ORT
  ASSERT_TRUE(child.running()) << "finished too fast to interrupt: " << child.stderr_text();
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait_exit_code(), 143) << child.stderr_text();
  s.expect_nothing_changed();
}

// The same for the other commands that write a model or a ranges file: interrupted while calibrating
// (our temp folder with the calibration model is in TMPDIR) and while the output is being written.
TEST(InterruptCli, StaticInt8InterruptedWhileCalibratingLeavesNothing) {
  Scene s;
  Child child({"quantize", "--static-int8", s.model.string(), "-i", (s.data / "x.npy").string(), "-o", s.output.string()}, s.tmp, s.logs);
  ASSERT_TRUE(s.signal_when(child, [&] { return has_our_temp_folder(s.tmp); }, SIGINT)) << "no calibration seen: " << child.stderr_text();
  EXPECT_EQ(child.wait_exit_code(), 130) << child.stderr_text();
  s.expect_nothing_changed();
}

TEST(InterruptCli, StaticInt8InterruptedWhileWritingLeavesNothing) {
  Scene s;
  Child child({"quantize", "--static-int8", s.model.string(), "-i", (s.data / "x.npy").string(), "-o", s.output.string()}, s.tmp, s.logs);
  ASSERT_TRUE(s.signal_when(child, [&] { return has_temp_file(s.work); }, SIGINT)) << "no output being written: " << child.stderr_text();
  EXPECT_EQ(child.wait_exit_code(), 130) << child.stderr_text();
  s.expect_nothing_changed();
}

TEST(InterruptCli, WeightsOnlyInterruptedWhileWritingLeavesNothing) {
  Scene s;
  Child child({"quantize", "--weights-only", s.model.string(), "-o", s.output.string()}, s.tmp, s.logs);
  ASSERT_TRUE(s.signal_when(child, [&] { return has_temp_file(s.work); }, SIGINT)) << "no output being written: " << child.stderr_text();
  EXPECT_EQ(child.wait_exit_code(), 130) << child.stderr_text();
  s.expect_nothing_changed();
}

TEST(InterruptCli, WeightsOnlyInterruptedEarlyLeavesNothing) {
  Scene s;
  Child child({"quantize", "--weights-only", s.model.string(), "-o", s.output.string()}, s.tmp, s.logs);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // loading, quantizing or verifying in ORT
  ASSERT_TRUE(child.running()) << "finished too fast to interrupt: " << child.stderr_text();
  child.signal(SIGINT);
  EXPECT_EQ(child.wait_exit_code(), 130) << child.stderr_text();
  s.expect_nothing_changed();
}

TEST(InterruptCli, CalibrateInterruptedWhileCalibratingLeavesNothing) {
  Scene s("ranges.json");
  Child child({"calibrate", s.model.string(), "-i", (s.data / "x.npy").string(), "-o", s.output.string()}, s.tmp, s.logs);
  ASSERT_TRUE(s.signal_when(child, [&] { return has_our_temp_folder(s.tmp); }, SIGINT)) << "no calibration seen: " << child.stderr_text();
  EXPECT_EQ(child.wait_exit_code(), 130) << child.stderr_text();
  EXPECT_NE(child.stderr_text().find("interrupted (SIGINT)"), std::string::npos) << child.stderr_text();
  s.expect_nothing_changed();
}
