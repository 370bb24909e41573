#include <fstream>
#include "cli/output.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <ostream>

namespace onnxquant::cli {

std::string thousands(int64_t n) {
  // Work on the magnitude as unsigned so INT64_MIN does not overflow.
  const bool negative = n < 0;
  uint64_t v = negative ? uint64_t{0} - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  std::string digits = std::to_string(v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return negative ? "-" + out : out;
}

static std::string one_decimal(double v, const char* unit) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f%s", v, unit);
  return buf;
}

std::string verification_sample_text(bool has_data) {
  return has_data ? "the first sample of the data (a smoke test; `validate` on held-out data measures fidelity)"
                  : "one synthetic sample (a smoke test; `validate` on real data measures fidelity)";
}

std::string human_bytes(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  static const char* units[] = {" KiB", " MiB", " GiB", " TiB", " PiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  size_t u = 0;
  // Switch unit before printing would round up to "1024.0".
  while (v >= 1023.95 && u + 1 < std::size(units)) {
    v /= 1024.0;
    ++u;
  }
  return one_decimal(v, units[u]);
}

std::string human_count(int64_t n) {
  const double a = std::abs(static_cast<double>(n));
  if (a < 1000) return std::to_string(n);
  static const char* units[] = {"K", "M", "B", "T"};
  double v = static_cast<double>(n) / 1000.0;
  size_t u = 0;
  while (std::abs(v) >= 999.95 && u + 1 < std::size(units)) {
    v /= 1000.0;
    ++u;
  }
  return one_decimal(v, units[u]);
}

std::string ratio_text(double ratio) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3fx", ratio);
  return buf;
}

std::string signed_text(int64_t delta) { return delta > 0 ? "+" + std::to_string(delta) : std::to_string(delta); }

Style Style::for_stdout() {
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  const bool enabled = isatty(STDOUT_FILENO) && !(no_color && *no_color) && !(term && std::strcmp(term, "dumb") == 0);
  return Style(enabled);
}

std::string Style::operator()(std::string_view text, Color color) const {
  if (!enabled_) return std::string(text);
  const char* code = "";
  switch (color) {
    case Color::Bold: code = "1"; break;
    case Color::Dim: code = "2"; break;
    case Color::Red: code = "31"; break;
    case Color::Green: code = "32"; break;
    case Color::Yellow: code = "33"; break;
    case Color::Cyan: code = "36"; break;
  }
  return std::string("\x1b[") + code + "m" + std::string(text) + "\x1b[0m";
}

size_t display_width(std::string_view text) {
  size_t width = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0x1b && i + 1 < text.size() && text[i + 1] == '[') {
      // CSI sequence: ESC [ parameters final-byte (0x40..0x7e).
      i += 2;
      while (i < text.size() && !(text[i] >= 0x40 && text[i] <= 0x7e)) ++i;
      continue;
    }
    if ((c & 0xC0) != 0x80) ++width;  // count lead bytes only, not UTF-8 continuation bytes
  }
  return width;
}

std::string elide(std::string_view text, size_t max_width) {
  if (display_width(text) <= max_width || max_width < 5) return std::string(text);
  // Keep both ends: tensor names differ at the start (layer) and at the end (".weight", ".bias").
  const size_t keep = max_width - 1, head = keep / 2, tail = keep - head;
  auto cut = [&](size_t from_cp, size_t count) {  // substring by code points (text has no escapes here)
    size_t cp = 0, begin = std::string_view::npos, end = text.size();
    for (size_t i = 0; i < text.size(); ++i) {
      if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
      if (cp == from_cp) begin = i;
      if (cp == from_cp + count) { end = i; break; }
      ++cp;
    }
    return begin == std::string_view::npos ? std::string() : std::string(text.substr(begin, end - begin));
  };
  const size_t total = display_width(text);
  return cut(0, head) + "\u2026" + cut(total - tail, tail);
}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::render(const TableLayout& layout, const Style& style) const {
  std::vector<size_t> widths(columns_.size(), 0);
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (layout.show_header) widths[c] = display_width(columns_[c].header);
    for (const auto& row : rows_) widths[c] = std::max(widths[c], display_width(row[c]));
  }
  const std::string indent(static_cast<size_t>(std::max(0, layout.indent)), ' ');
  const std::string gap(static_cast<size_t>(std::max(0, layout.gap)), ' ');
  std::string out;
  auto line = [&](const std::vector<std::string>& cells, bool header) {
    std::string text = indent;
    for (size_t c = 0; c < cells.size(); ++c) {
      const size_t pad = widths[c] - display_width(cells[c]);
      const bool last = c + 1 == cells.size();
      std::string cell = header ? style(cells[c], Color::Bold) : cells[c];
      if (columns_[c].align == Align::Right) text += std::string(pad, ' ') + cell;
      else text += cell + (last ? "" : std::string(pad, ' '));
      if (!last) text += gap;
    }
    // Trailing blanks come from empty last cells; drop them.
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text + "\n";
  };
  if (layout.show_header) {
    std::vector<std::string> headers;
    for (const auto& col : columns_) headers.push_back(col.header);
    line(headers, true);
  }
  for (const auto& row : rows_) line(row, false);
  return out;
}

std::string json_text(const nlohmann::json& value) {
  return value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void print_json(std::ostream& out, const nlohmann::json& value) { out << json_text(value); }

namespace {

std::optional<std::string>& command_line_override() {
  static std::optional<std::string> text;
  return text;
}

// `arg` as a shell would need it: as is when plain, else single-quoted.
std::string shell_quoted(const std::string& arg) {
  const bool plain = !arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == std::string::npos;
  if (plain) return arg;
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

CommandLineOverride::CommandLineOverride(const std::vector<std::string>& args) {
  std::string text = "onnxquant";
  for (const auto& a : args) text += " " + shell_quoted(a);
  command_line_override() = std::move(text);
}

CommandLineOverride::~CommandLineOverride() { command_line_override().reset(); }

// The exact command as the user typed it (arguments quoted when needed), for the HTML report.
std::string command_line() {
  if (command_line_override()) return *command_line_override();
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()), out, arg;
  auto flush = [&] {
    out += (out.empty() ? "" : " ") + shell_quoted(arg);
    arg.clear();
  };
  for (char c : all)
    if (c == '\0') flush();
    else arg += c;
  if (!arg.empty()) flush();
  if (!out.empty()) {
    // argv[0] is the path the binary was started with; users typed `onnxquant`.
    const size_t space = out.find(' ');
    out = "onnxquant" + (space == std::string::npos ? "" : out.substr(space));
  }
  return out;
}

}  // namespace onnxquant::cli
