#include "pipeline/benchmark_job.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>

#include "core/errors.h"
#include "ir/model.h"

namespace onnxquant {
namespace fs = std::filesystem;

namespace {

// A field of /proc/self/status in bytes ("VmRSS:   12345 kB"); 0 when unavailable.
uint64_t proc_status_bytes(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) {
      std::istringstream fields(line.substr(key.size() + 1));
      uint64_t kb = 0;
      fields >> kb;
      return kb * 1024;
    }
  return 0;
}

// Resets VmHWM to the current RSS (Linux >= 4.0); false where /proc is read-only or absent.
bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

BenchmarkEntry measure_one(const fs::path& path, const BenchmarkRequest& req) {
  BenchmarkEntry e;
  e.model = path.string();
  std::error_code ec;
  e.file_bytes = fs::file_size(path, ec);
  if (ec) throw LoadError(path.string() + ": cannot read the model file (" + ec.message() + ")");
  e.memory_method = reset_peak_rss() ? "clear_refs" : "hwm";
  const uint64_t before = proc_status_bytes("VmRSS");
  std::optional<Executor> session;
  try {
    session.emplace(path, req.exec);
  } catch (const RuntimeError& err) {
    throw RuntimeError(path.string() + ": " + err.what(), err.hint());
  }
  Executor& ex = *session;
  e.session_create_ms = ex.session_create_ms();
  InputSource source(ex.inputs(), req.inputs);
  auto sample = source.next();
  if (!sample) throw DataError(path.string() + ": the input options give no sample to run");
  e.latency = measure_latency(ex, *sample, req.latency);
  e.throughput_per_s = e.latency.mean_ms > 0 ? 1000.0 / e.latency.mean_ms : 0;
  e.peak_rss_bytes = proc_status_bytes("VmHWM");
  e.peak_rss_delta_bytes = e.peak_rss_bytes > before ? e.peak_rss_bytes - before : 0;
  return e;
}

nlohmann::json entry_to_json(const BenchmarkEntry& e) {
  return {{"model", e.model},
          {"file_bytes", e.file_bytes},
          {"session_create_ms", e.session_create_ms},
          {"latency_ms", {{"median", e.latency.median_ms}, {"p90", e.latency.p90_ms}, {"min", e.latency.min_ms}, {"mean", e.latency.mean_ms}}},
          {"samples_ms", e.latency.samples_ms},
          {"throughput_per_s", e.throughput_per_s},
          {"peak_rss_bytes", e.peak_rss_bytes},
          {"peak_rss_delta_bytes", e.peak_rss_delta_bytes},
          {"memory_method", e.memory_method}};
}

BenchmarkEntry entry_from_json(const nlohmann::json& j) {
  BenchmarkEntry e;
  e.model = j.at("model");
  e.file_bytes = j.at("file_bytes");
  e.session_create_ms = j.at("session_create_ms");
  e.latency = summarize_latency(j.at("samples_ms").get<std::vector<double>>());
  e.throughput_per_s = j.at("throughput_per_s");
  e.peak_rss_bytes = j.at("peak_rss_bytes");
  e.peak_rss_delta_bytes = j.at("peak_rss_delta_bytes");
  e.memory_method = j.at("memory_method");
  return e;
}

// Rebuilds the typed error a child reported, so the CLI maps it to the same exit code.
[[noreturn]] void rethrow(const nlohmann::json& j) {
  const auto kind = static_cast<ErrorKind>(j.value("kind", static_cast<int>(ErrorKind::Internal)));
  throw Error(kind, j.value("message", std::string("benchmark child failed")), j.value("hint", std::string()));
}

void write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

BenchmarkEntry measure_in_child(const fs::path& path, const BenchmarkRequest& req) {
  int fds[2];
  if (::pipe(fds) != 0) throw RuntimeError("cannot create a pipe to measure " + path.string());
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw RuntimeError("cannot fork to measure " + path.string());
  }
  if (pid == 0) {
    // Child: measure, send one JSON document, and leave with _exit: returning or calling exit() would
    // run the parent's atexit handlers and static destructors (ORT's environment) in this copy.
    ::close(fds[0]);
    nlohmann::json reply;
    int code = 0;
    try {
      reply = {{"ok", true}, {"entry", entry_to_json(measure_one(path, req))}};
    } catch (const Error& e) {
      reply = {{"ok", false}, {"kind", static_cast<int>(e.kind())}, {"message", e.what()}, {"hint", e.hint()}};
      code = 1;
    } catch (const std::exception& e) {
      reply = {{"ok", false}, {"kind", static_cast<int>(ErrorKind::Internal)}, {"message", e.what()}};
      code = 1;
    }
    write_all(fds[1], reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    ::close(fds[1]);
    ::_exit(code);
  }
  ::close(fds[1]);
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (text.empty()) {
    const std::string how = WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status)) : "exited without a result";
    throw RuntimeError("measuring " + path.string() + ": the child process " + how, "ONNX Runtime may have crashed on this model");
  }
  const auto reply = nlohmann::json::parse(text);
  if (!reply.at("ok").get<bool>()) rethrow(reply);
  return entry_from_json(reply.at("entry"));
}

}  // namespace

BenchmarkResult benchmark_models(const BenchmarkRequest& req) {
  if (req.models.empty()) throw UsageError("benchmark needs at least one model");
  BenchmarkResult r;
  r.threads = req.exec.intra_op_threads;
  r.runs = req.latency.runs;
  r.warmup = req.latency.warmup;
  r.isolation = req.isolation == MemoryIsolation::ForkPerModel ? "fork" : "in-process";
  r.runtime_version = runtime_version();
  for (const auto& m : req.models) {
    // Parsing here first gives a missing or corrupt file its LoadError (exit code 3) and message.
    { Model check = Model::load(m); }
    r.entries.push_back(req.isolation == MemoryIsolation::ForkPerModel ? measure_in_child(m, req) : measure_one(m, req));
  }
  return r;
}

nlohmann::json to_json(const BenchmarkResult& r) {
  nlohmann::json j;
  j["command"] = "benchmark";
  j["schema_version"] = 1;
  j["threads"] = r.threads;
  j["runs"] = r.runs;
  j["warmup"] = r.warmup;
  j["isolation"] = r.isolation;
  j["onnxruntime"] = r.runtime_version;
  j["models"] = nlohmann::json::array();
  for (const auto& e : r.entries) {
    auto m = entry_to_json(e);
    const double base = r.entries.front().latency.median_ms;
    m["speedup_vs_first"] = e.latency.median_ms > 0 ? nlohmann::json(base / e.latency.median_ms) : nlohmann::json(nullptr);
    j["models"].push_back(std::move(m));
  }
  return j;
}

// --- paired A/B timing ----------------------------------------------------------------------------------

static double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::pair<double, double> bootstrap_speedup_interval(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = std::min(a.size(), b.size());
  if (n == 0) return {0, 0};
  constexpr int kResamples = 2000;
  std::mt19937_64 rng(0x5eed);
  std::uniform_int_distribution<size_t> pick(0, n - 1);
  std::vector<double> ratios, ra(n), rb(n);
  ratios.reserve(kResamples);
  for (int i = 0; i < kResamples; ++i) {
    for (size_t k = 0; k < n; ++k) {
      const size_t j = pick(rng);
      ra[k] = a[j];
      rb[k] = b[j];
    }
    const double mb = median_of(rb);
    if (mb > 0) ratios.push_back(median_of(ra) / mb);
  }
  if (ratios.empty()) return {0, 0};
  std::sort(ratios.begin(), ratios.end());
  auto at = [&](double q) { return ratios[static_cast<size_t>(q * static_cast<double>(ratios.size() - 1) + 0.5)]; };
  return {at(0.025), at(0.975)};
}

PairedLatency measure_paired(Executor& a, const NamedTensors& a_in, Executor& b, const NamedTensors& b_in, const LatencyOptions& o) {
  PairedLatency p;
  p.warmup = o.warmup;
  for (int i = 0; i < o.warmup; ++i) {
    a.run(a_in);
    b.run(b_in);
  }
  std::vector<double> ta, tb;
  auto timed = [](Executor& ex, const NamedTensors& in) {
    const auto t0 = std::chrono::steady_clock::now();
    ex.run(in);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  for (int i = 0; i < o.runs; ++i) {
    ta.push_back(timed(a, a_in));
    tb.push_back(timed(b, b_in));
  }
  std::tie(p.speedup_low, p.speedup_high) = bootstrap_speedup_interval(ta, tb);
  p.a = summarize_latency(std::move(ta));
  p.b = summarize_latency(std::move(tb));
  p.speedup = p.b.median_ms > 0 ? p.a.median_ms / p.b.median_ms : 0;
  return p;
}

}  // namespace onnxquant
