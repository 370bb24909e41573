#include "command_runner.h"

#include <iostream>
#include <mutex>
#include <sstream>

#include "cli/app.h"
#include "cli/output.h"

namespace onnxquant::python {

namespace {

// Points std::cout at a string for its lifetime, and back even when the command throws.
class CapturedStdout {
 public:
  CapturedStdout() : previous_(std::cout.rdbuf(buffer_.rdbuf())) {}
  ~CapturedStdout() { std::cout.rdbuf(previous_); }
  CapturedStdout(const CapturedStdout&) = delete;
  CapturedStdout& operator=(const CapturedStdout&) = delete;
  std::string text() const { return buffer_.str(); }

 private:
  std::ostringstream buffer_;
  std::streambuf* previous_;
};

std::mutex& stdout_owner() {
  static std::mutex m;
  return m;
}

}  // namespace

CommandOutput run_command(const std::vector<std::string>& args, const SampleProvider& samples) {
  std::unique_ptr<cli::CommandLine> cl = cli::build_app(args);
  cl->global.samples = samples;
  std::lock_guard lock(stdout_owner());
  CapturedStdout captured;
  const cli::CommandLineOverride shown(args);  // reports name these arguments, not the Python interpreter
  CommandOutput out;
  out.exit_code = cli::run_in_process(*cl);
  out.stdout_text = captured.text();
  return out;
}

}  // namespace onnxquant::python
