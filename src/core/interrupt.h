// Ctrl-C (SIGINT) and SIGTERM must leave no partial output: temp files of unfinished atomic writes and
// temporary folders are removed, an output that existed before is left as it was, and the process exits
// with 128 + the signal number (130 for SIGINT, as a shell reports it).
//
// How: install_interrupt_cleanup() blocks both signals in the calling thread before any other thread
// exists (so every later thread, ORT's included, inherits the mask) and starts one thread that waits for
// them with sigwait. That thread runs ordinary code, not a signal handler, so it can take a mutex and use
// std::filesystem: it takes the registry lock, removes every registered path and exits. Renames that
// publish output run under the same lock (hold_interrupts), so an interrupt lands either before the
// outputs appear (nothing left) or after they are all complete (nothing partial).
#pragma once
#include <filesystem>
#include <mutex>

namespace onnxquant {

// Call once at the start of main(), before any thread is created. Not for library users that own their
// process's signals (the Python module: Python raises KeyboardInterrupt, and the RAII cleanup runs).
void install_interrupt_cleanup();

// A temp file or folder that is removed (recursively) if the process is interrupted while it is registered.
class InterruptCleanup {
 public:
  explicit InterruptCleanup(std::filesystem::path path);
  // The same under a hold_interrupts() the caller has: for a path created under that hold, so that no
  // interrupt lands between its creation and its registration.
  InterruptCleanup(std::filesystem::path path, const std::unique_lock<std::mutex>& held);
  ~InterruptCleanup();  // unregisters; removing the path in normal operation is the owner's job
  InterruptCleanup(const InterruptCleanup&) = delete;
  InterruptCleanup& operator=(const InterruptCleanup&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Holds off interrupt cleanup while alive: the cleanup waits, then removes what is still registered.
// Publishing renames run under it so that a set of outputs appears whole or not at all.
std::unique_lock<std::mutex> hold_interrupts();

}  // namespace onnxquant
