#include "core/interrupt.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>
#include <thread>

#include "core/errors.h"

namespace onnxquant {
namespace fs = std::filesystem;

namespace {

// Leaked on purpose: the cleanup thread may use them while static destructors run at exit.
std::mutex& registry_mutex() {
  static auto* m = new std::mutex;
  return *m;
}
std::map<fs::path, int>& registry() {  // path -> registrations (the same path may be registered twice)
  static auto* r = new std::map<fs::path, int>;
  return *r;
}

sigset_t interrupt_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

[[noreturn]] void clean_up_and_exit(int signal_number) {
  registry_mutex().lock();  // never released: no output may be published after this point
  std::error_code ignored;
  for (const auto& [path, count] : registry()) fs::remove_all(path, ignored);
  const std::string message = std::string("\nonnxquant: interrupted (") + (signal_number == SIGINT ? "SIGINT" : "SIGTERM") +
                              "); unfinished outputs and temporary files removed\n";
  [[maybe_unused]] const auto written = ::write(STDERR_FILENO, message.data(), message.size());
  ::_exit(128 + signal_number);  // no static destructors: other threads are still running
}

void wait_for_interrupt() {
  const sigset_t set = interrupt_signals();
  int signal_number = 0;
  while (sigwait(&set, &signal_number) != 0) {
  }
  clean_up_and_exit(signal_number);
}

// A forked child (benchmark's per-model measurement) has no cleanup thread: give it the default
// behaviour back, so Ctrl-C stops it too.
void restore_default_signals_in_child() {
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  const sigset_t set = interrupt_signals();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace

void install_interrupt_cleanup() {
  static std::once_flag once;
  std::call_once(once, [] {
    const sigset_t set = interrupt_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    pthread_atfork(nullptr, nullptr, &restore_default_signals_in_child);
    std::thread(wait_for_interrupt).detach();
  });
}

InterruptCleanup::InterruptCleanup(fs::path path) : path_(std::move(path)) {
  const std::lock_guard lock(registry_mutex());
  ++registry()[path_];
}

InterruptCleanup::InterruptCleanup(fs::path path, const std::unique_lock<std::mutex>& held) : path_(std::move(path)) {
  if (held.mutex() != &registry_mutex() || !held.owns_lock()) throw InternalError("InterruptCleanup: the interrupt hold is not held");
  ++registry()[path_];
}

InterruptCleanup::~InterruptCleanup() {
  const std::lock_guard lock(registry_mutex());
  auto it = registry().find(path_);
  if (it != registry().end() && --it->second == 0) registry().erase(it);
}

std::unique_lock<std::mutex> hold_interrupts() { return std::unique_lock(registry_mutex()); }

}  // namespace onnxquant
