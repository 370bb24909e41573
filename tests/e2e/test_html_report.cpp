// `validate --report FILE.html`: one self-contained page (no scripts, no external resources), written
// atomically, that a real browser renders without console errors. Headless Chromium (Debian's `chromium`,
// installed by scripts/setup.sh) loads it and takes a screenshot; the test is skipped when it is absent.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "analysis/html_report.h"
#include "core/atomic_file.h"
#include "support/cli_runner.h"
#include "support/graph_builder.h"
#include "support/temp_dir.h"

using namespace onnxquant;
using onnxquant::test::GraphBuilder;
namespace fs = std::filesystem;

namespace {

// x -> Conv -> Relu -> Conv -> Relu -> Conv -> GlobalAveragePool -> Flatten -> y[1,8]; `sign` flips conv2.
Model cnn(float sign) {
  GraphBuilder b;
  b.input("x", DType::Float32, {1, 3, 16, 16}).output("y", DType::Float32, {1, 8});
  Tensor w2 = test::random_float_tensor({8, 8, 3, 3}, 2);
  for (float& v : w2.as<float>()) v *= sign;
  b.initializer("w1", test::random_float_tensor({8, 3, 3, 3}, 1)).initializer("w2", w2);
  b.initializer("w3", test::random_float_tensor({8, 8, 1, 1}, 3)).initializer("b1", test::random_float_tensor({8}, 4, 0.f, .2f));
  GraphBuilder::attr_ints(b.node("Conv", {"x", "w1", "b1"}, {"stem<&>"}, "conv1"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"stem<&>"}, {"r1"}, "relu1");
  GraphBuilder::attr_ints(b.node("Conv", {"r1", "w2"}, {"c2"}, "conv2"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c2"}, {"r2"}, "relu2");
  b.node("Conv", {"r2", "w3"}, {"c3"}, "conv3");
  b.node("GlobalAveragePool", {"c3"}, {"g"}, "gap");
  b.node("Flatten", {"g"}, {"y"}, "flatten");
  return b.build();
}

std::string chromium() {
  for (const char* name : {"chromium", "chromium-browser"})
    if (std::system((std::string("command -v ") + name + " >/dev/null 2>&1").c_str()) == 0) return name;
  return "";
}

// Runs headless Chromium on `page` with `action` ("--screenshot=..." or "--dump-dom"); returns stdout and
// stderr together. The networking flags keep it from stalling on a closed network.
std::string run_chromium(const std::string& browser, const fs::path& profile, const std::string& action, const fs::path& page,
                         const fs::path& log) {
  const std::string cmd = "timeout 60 " + browser +
                          " --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update"
                          " --no-first-run --disable-sync --enable-logging=stderr --v=0 --user-data-dir=" +
                          profile.string() + " --window-size=1200,2000 " + action + " file://" + page.string() + " >" + log.string() + " 2>&1";
  std::system(cmd.c_str());
  return test::file_bytes(log);
}

// Console lines Chromium logs for page errors: uncaught exceptions and rejected markup/attributes.
std::vector<std::string> console_errors(const std::string& log) {
  std::vector<std::string> bad;
  size_t start = 0;
  while (start < log.size()) {
    const size_t end = std::min(log.find('\n', start), log.size());
    const std::string line = log.substr(start, end - start);
    const bool console = line.find("CONSOLE") != std::string::npos;
    if (line.find("Uncaught") != std::string::npos || (console && (line.find("Error") != std::string::npos || line.find("ERROR") != std::string::npos)))
      bad.push_back(line);
    start = end + 1;
  }
  return bad;
}

}  // namespace

TEST(HtmlReport, PageIsSelfContainedAndRendersInChromium) {
  test::TempDir dir;
  cnn(1).save(dir / "ref.onnx");
  cnn(-1).save(dir / "cand.onnx");
  const fs::path page = dir / "report.html";
  auto r = test::run_cli("validate " + (dir / "ref.onnx").string() + " " + (dir / "cand.onnx").string() +
                         " -n 3 --timed 8 --per-layer --report " + page.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::exists(page));
  const std::string html = test::file_bytes(page);
  for (const char* must : {"<!DOCTYPE html>", "id=\"verdict\"", "<svg", "Per-layer error", "Latency", "Fusion report", "onnxquant validate",
                           "--per-layer", "stem&lt;&amp;&gt;"})
    EXPECT_NE(html.find(must), std::string::npos) << must;
  // Self-contained: no scripts, no external resources of any kind.
  for (const char* never : {"<script", "http://", "https://", "src=", "<link", "@import", "url("}) EXPECT_EQ(html.find(never), std::string::npos) << never;
  for (const auto& e : fs::directory_iterator(dir.path())) EXPECT_EQ(e.path().filename().string().rfind(".report", 0), std::string::npos);

  const std::string browser = chromium();
  if (browser.empty()) GTEST_SKIP() << "chromium not installed (scripts/setup.sh installs it); browser rendering not checked";
  const fs::path png = dir / "report.png";
  const std::string log = run_chromium(browser, dir / "profile", "--screenshot=" + png.string(), page, dir / "shot.log");
  ASSERT_TRUE(fs::exists(png)) << log;
  EXPECT_GT(fs::file_size(png), 20000u) << "a blank page compresses to a few KB";
  const auto errors = console_errors(log);
  EXPECT_TRUE(errors.empty()) << errors.front();
  const std::string dom = run_chromium(browser, dir / "profile", "--dump-dom", page, dir / "dom.log");
  EXPECT_NE(dom.find("class=\"verdict"), std::string::npos) << dom.substr(0, 500);
  EXPECT_NE(dom.find("POOR"), std::string::npos);  // conv2's sign flipped: far from the reference
  if (const char* keep = std::getenv("ONNXQ_KEEP_REPORT_PNG"); keep && *keep) fs::copy_file(png, keep, fs::copy_options::overwrite_existing);
}

TEST(HtmlReport, FailedRunLeavesAnExistingReportUntouched) {
  test::TempDir dir;
  cnn(1).save(dir / "ref.onnx");
  const fs::path page = dir / "report.html";
  write_file_atomically(page, std::string_view("previous report"));
  auto r = test::run_cli("validate " + (dir / "ref.onnx").string() + " " + (dir / "missing.onnx").string() + " --report " + page.string());
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(test::file_bytes(page), "previous report");
}

TEST(HtmlReport, EscapesEverythingTakenFromTheModel) {
  HtmlReportInput in;
  in.reference = "a<b>.onnx";
  in.candidate = "c\"d'.onnx";
  in.command_line = "onnxquant validate 'x y' <z>";
  in.verdict = judge({});
  OutputMetrics o;
  o.name = "<script>alert(1)</script>";
  in.outputs.push_back(o);
  const std::string html = render_html_report(in);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("a&lt;b&gt;.onnx"), std::string::npos);
  EXPECT_NE(html.find("c&quot;d&#39;.onnx"), std::string::npos);
  EXPECT_NE(html.find("&#39;x y&#39; &lt;z&gt;"), std::string::npos);
  EXPECT_NE(html.find("Not measured"), std::string::npos);  // no per-layer data: says how to get it
  EXPECT_NE(html.find("Not timed"), std::string::npos);
}
