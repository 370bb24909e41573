// Printing helpers shared by every subcommand's text output: aligned tables, human-readable numbers and
// sizes, optional colour, and JSON printing. Only formatting lives here; what to print is each command's
// business, and what to compute is the library's.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace onnxquant::cli {

// --- numbers -------------------------------------------------------------------------------------------
std::string thousands(int64_t n);        // 25557032 -> "25,557,032"
std::string human_bytes(uint64_t bytes); // binary units: "512 B", "1.5 KiB", "97.4 MiB", "2.00 GiB"
std::string human_count(int64_t n);      // decimal units for element counts: "950", "1.2K", "25.6M", "1.3B"
std::string ratio_text(double ratio);    // "0.251x", "1.000x"
std::string signed_text(int64_t delta);  // "+3", "-12", "0"
// What the one-sample check a quantize job prints ran on (the first sample of the data, or a synthetic
// one), said to be a smoke test: a detector's near-empty output map on a photo without text, or on random
// input, makes any cosine look bad.
std::string verification_sample_text(bool has_data);

// --- colour --------------------------------------------------------------------------------------------
enum class Color { Bold, Dim, Red, Green, Yellow, Cyan };

// Applies ANSI colours when enabled, and is the identity otherwise, so callers never branch on it.
class Style {
 public:
  // Enabled only when stdout is a terminal, NO_COLOR is unset and TERM is not "dumb": piped or redirected
  // output (and every test) stays plain.
  static Style for_stdout();
  static Style plain() { return Style(false); }
  bool enabled() const { return enabled_; }
  std::string operator()(std::string_view text, Color color) const;

 private:
  explicit Style(bool enabled) : enabled_(enabled) {}
  bool enabled_ = false;
};

// Columns of a terminal that `text` takes: UTF-8 code points, ANSI escape sequences excluded (so
// coloured cells still line up). East Asian wide characters count as one; good enough for names.
size_t display_width(std::string_view text);

// `text` shortened to at most `max_width` columns by replacing its middle with an ellipsis.
std::string elide(std::string_view text, size_t max_width);

// --- tables --------------------------------------------------------------------------------------------
enum class Align { Left, Right };

struct Column {
  std::string header;
  Align align = Align::Left;
};

struct TableLayout {
  int indent = 2;           // spaces before every line
  int gap = 2;              // spaces between columns
  bool show_header = true;  // false for key/value blocks
};

// Collects rows, then renders them with every column as wide as its widest cell. Numbers are usually
// right-aligned so their digits line up. The last column is not padded (no trailing blanks).
class Table {
 public:
  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
  // Missing cells render empty; extra cells are an error in the caller and are dropped.
  void add_row(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }
  bool empty() const { return rows_.empty(); }
  std::string render(const TableLayout& layout = {}, const Style& style = Style::plain()) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// --- JSON ----------------------------------------------------------------------------------------------
// Two-space indent and a final newline. Invalid UTF-8 coming from a model (names are not validated by
// protobuf) is replaced with U+FFFD instead of throwing, so JSON output never fails half-way.
void print_json(std::ostream& out, const nlohmann::json& value);
std::string json_text(const nlohmann::json& value);

// --- provenance ----------------------------------------------------------------------------------------

// The exact command as the user typed it (arguments quoted when needed), for reports.
std::string command_line();

// In-process callers (the Python module) run commands without an argv of their own: while one of these
// lives, command_line() returns "onnxquant ARGS..." for the arguments actually parsed instead of this
// process's command line (which would be the Python interpreter's). One at a time.
class CommandLineOverride {
 public:
  explicit CommandLineOverride(const std::vector<std::string>& args);
  ~CommandLineOverride();
  CommandLineOverride(const CommandLineOverride&) = delete;
  CommandLineOverride& operator=(const CommandLineOverride&) = delete;
};

}  // namespace onnxquant::cli
