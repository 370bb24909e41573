// A progress line for long steps (calibration, validation, batch) on a terminal: count, rate and ETA,
// redrawn in place on stderr at most ~10 times a second. Silent when stderr is not a TTY or when the
// caller asks for quiet (JSON output, -q), so logs and pipes stay clean.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace onnxquant {

enum class ProgressMode { Auto, Off };

class Progress {
 public:
  // `total` <= 0: unknown (no bar, no ETA).
  Progress(std::string label, int64_t total, ProgressMode mode = ProgressMode::Auto);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void advance(int64_t n = 1);
  void finish();  // clears the line

 private:
  void draw(bool force);
  std::string label_;
  int64_t total_, done_ = 0;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace onnxquant
