#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

namespace onnxquant {

Progress::Progress(std::string label, int64_t total, ProgressMode mode)
    : label_(std::move(label)), total_(total), enabled_(mode == ProgressMode::Auto && ::isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::advance(int64_t n) {
  done_ += n;
  draw(false);
}

void Progress::draw(bool force) {
  if (!enabled_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100) && done_ != total_) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  char line[256];
  if (total_ > 0) {
    constexpr int kWidth = 28;
    const int filled = static_cast<int>(kWidth * std::min<int64_t>(done_, total_) / total_);
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < kWidth) bar += '>' + std::string(static_cast<size_t>(kWidth - filled - 1), ' ');
    const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0.0;
    std::snprintf(line, sizeof line, "\r%s [%s] %lld/%lld  %.1f/s  ETA %.0fs ", label_.c_str(), bar.c_str(),
                  static_cast<long long>(done_), static_cast<long long>(total_), rate, eta);
  } else {
    std::snprintf(line, sizeof line, "\r%s %lld  %.1f/s ", label_.c_str(), static_cast<long long>(done_), rate);
  }
  std::fputs(line, stderr);
  std::fflush(stderr);
}

void Progress::finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  std::fputs("\r\033[K", stderr);  // erase the line: the command prints its own summary
  std::fflush(stderr);
}

}  // namespace onnxquant
