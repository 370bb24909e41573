#include "calib/histogram.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <string>

#include "core/errors.h"

namespace onnxquant {

namespace {

// floor(x / 2^e) for the covered range, in double: x * 2^-e is exact (float inputs, |e| < 300).
int64_t grid_index(double x, int e) { return static_cast<int64_t>(std::floor(std::ldexp(x, -e))); }

// floor(g / 2^s) for s >= 0 without the UB of shifting by >= 64 bits. C++20 defines >> on negatives as
// arithmetic, i.e. floor division.
int64_t coarser_index(int64_t g, int s) {
  if (s >= 63) return g < 0 ? -1 : 0;
  return g >> s;
}

}  // namespace

Histogram::Histogram(int capacity) : capacity_(capacity) {
  if (capacity < 2 || capacity > (1 << 24))
    throw InternalError("Histogram: capacity " + std::to_string(capacity) + " is outside [2, 2^24]");
  // Allocated once here so observing never allocates.
  counts_.assign(static_cast<size_t>(capacity), 0);
}

double Histogram::bin_width() const { return empty() ? 0.0 : std::ldexp(1.0, width_log2_); }

double Histogram::lower_edge(size_t slot) const {
  return std::ldexp(static_cast<double>(first_bin_ + static_cast<int64_t>(slot)), width_log2_);
}

int Histogram::width_for(double lo, double hi, int min_e) const {
  int e = std::max(min_e, kMinWidthLog2);
  const double span = hi - lo;
  // Any width 2^e <= span / capacity needs more than `capacity` bins, so start just there.
  if (span > 0.0) e = std::max(e, std::ilogb(span / capacity_));
  while (grid_index(hi, e) - grid_index(lo, e) + 1 > capacity_) ++e;
  return e;
}

void Histogram::rebin(int e, int64_t first) {
  assert(e >= width_log2_);
  const int shift = e - width_log2_;
  // One scratch buffer per thread rather than per histogram: keeps an observer at one counts array.
  static thread_local std::vector<uint64_t> scratch;
  scratch.assign(counts_.size(), 0);
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    const int64_t slot = coarser_index(first_bin_ + static_cast<int64_t>(i), shift) - first;
    assert(slot >= 0 && slot < capacity_);
    scratch[static_cast<size_t>(slot)] += counts_[i];
  }
  std::copy(scratch.begin(), scratch.end(), counts_.begin());
  width_log2_ = e;
  first_bin_ = first;
}

void Histogram::cover(float lo, float hi) {
  assert(std::isfinite(lo) && std::isfinite(hi) && lo <= hi);
  const float new_lo = std::min({lo, lo_, 0.0f});
  const float new_hi = std::max({hi, hi_, 0.0f});
  if (empty()) {
    width_log2_ = width_for(new_lo, new_hi, kMinWidthLog2);
    first_bin_ = grid_index(new_lo, width_log2_);
  } else if (new_lo != lo_ || new_hi != hi_) {
    // The current width already fits the old range, so the smallest width for the new range is at least
    // as large: starting from it gives the same width as starting from scratch (merge exactness).
    const int e = width_for(new_lo, new_hi, width_log2_);
    const int64_t first = grid_index(new_lo, e);
    if (e != width_log2_ || first != first_bin_) rebin(e, first);
  }
  lo_ = new_lo;
  hi_ = new_hi;
}

namespace {

// Slots of a block of values: floor(x / w) - first. x * 2^-e is exact in float except when it underflows
// below 2^-126; then only its sign matters (floor is 0 or -1), and the one case truncation gets wrong, a
// negative x whose product rounded to -0, is caught by the second test. Written so the compiler
// vectorizes it (mul, truncating convert, compares).
void slots_of(const float* x, size_t m, float inv_width, int32_t first, int32_t* slots) {
  for (size_t j = 0; j < m; ++j) {
    const float v = x[j] * inv_width;
    auto k = static_cast<int32_t>(v);  // |v| <= capacity + 1: defined
    k -= static_cast<int32_t>((v < static_cast<float>(k)) | ((v == 0.0f) & (x[j] < 0.0f)));
    slots[j] = k - first;
  }
}

constexpr size_t kBlock = 256;
// From this many values on, counting into four interleaved sub-histograms pays for zeroing and summing
// them: consecutive values in the same bin (the zeros of a ReLU output) otherwise serialize on the
// store-to-load latency of one counter (measured on ReLU data: 2.7 -> 4.5 GB/s for the whole observe()).
constexpr size_t kSplitMin = 1 << 16;
// Per-call chunk for the 32-bit sub-counters: each gets at most a quarter of it.
constexpr size_t kSplitChunk = size_t{1} << 32;

}  // namespace

void Histogram::add_covered(const float* data, size_t n) {
  if (n == 0) return;
  assert(!empty());
  uint64_t* counts = counts_.data();
  int32_t slots[kBlock];
  if (width_log2_ < -127) {
    // 2^-e is not a float: the double path (only for ranges below ~1e-35).
    const double inv_width = std::ldexp(1.0, -width_log2_);
    for (size_t i = 0; i < n; ++i) {
      const double v = static_cast<double>(data[i]) * inv_width;  // exact: float times a power of two
      auto k = static_cast<int64_t>(v);
      k -= static_cast<int64_t>(v < static_cast<double>(k));  // trunc -> floor for negatives
      assert(k - first_bin_ >= 0 && k - first_bin_ < capacity_);
      ++counts[k - first_bin_];
    }
  } else if (n < kSplitMin) {
    const float inv_width = std::ldexp(1.0f, -width_log2_);
    const auto first = static_cast<int32_t>(first_bin_);  // |first_bin_| <= capacity since 0 is covered
    for (size_t start = 0; start < n; start += kBlock) {
      const size_t m = std::min(kBlock, n - start);
      slots_of(data + start, m, inv_width, first, slots);
      for (size_t j = 0; j < m; ++j) {
        assert(slots[j] >= 0 && slots[j] < capacity_);
        ++counts[slots[j]];
      }
    }
  } else {
    const float inv_width = std::ldexp(1.0f, -width_log2_);
    const auto first = static_cast<int32_t>(first_bin_);
    const auto cap = static_cast<size_t>(capacity_);
    // One buffer per thread, grown once: observing stays allocation-free.
    static thread_local std::vector<uint32_t> sub;
    if (sub.size() < 4 * cap) sub.resize(4 * cap);
    for (size_t chunk = 0; chunk < n; chunk += kSplitChunk) {
      const size_t chunk_end = std::min(n, chunk + kSplitChunk);
      std::fill(sub.begin(), sub.begin() + static_cast<ptrdiff_t>(4 * cap), 0u);
      uint32_t* c0 = sub.data();
      uint32_t* c1 = c0 + cap;
      uint32_t* c2 = c1 + cap;
      uint32_t* c3 = c2 + cap;
      for (size_t start = chunk; start < chunk_end; start += kBlock) {
        const size_t m = std::min(kBlock, chunk_end - start);
        slots_of(data + start, m, inv_width, first, slots);
        size_t j = 0;
        for (; j + 4 <= m; j += 4) {
          ++c0[slots[j]];
          ++c1[slots[j + 1]];
          ++c2[slots[j + 2]];
          ++c3[slots[j + 3]];
        }
        for (; j < m; ++j) ++c0[slots[j]];
      }
      for (size_t k = 0; k < cap; ++k) counts[k] += uint64_t{c0[k]} + c1[k] + c2[k] + c3[k];
    }
  }
  total_ += n;
}

void Histogram::add_covered_finite_only(const float* data, size_t n) {
  // Adds the runs of finite values between NaN/Inf so each run still takes the fast loop.
  size_t start = 0;
  for (size_t i = 0; i <= n; ++i) {
    if (i < n && std::isfinite(data[i])) continue;
    add_covered(data + start, i - start);
    start = i + 1;
  }
}

void Histogram::merge(const Histogram& other) {
  if (other.capacity_ != capacity_)
    throw InternalError("Histogram::merge: capacities differ (" + std::to_string(capacity_) + " vs " +
                        std::to_string(other.capacity_) + ")");
  if (other.empty()) return;
  if (empty()) {
    *this = other;
    return;
  }
  const float new_lo = std::min(lo_, other.lo_);
  const float new_hi = std::max(hi_, other.hi_);
  const int e = width_for(new_lo, new_hi, std::max(width_log2_, other.width_log2_));
  const int64_t first = grid_index(new_lo, e);
  if (e != width_log2_ || first != first_bin_) rebin(e, first);
  lo_ = new_lo;
  hi_ = new_hi;
  const int shift = e - other.width_log2_;
  for (size_t i = 0; i < other.counts_.size(); ++i) {
    if (other.counts_[i] == 0) continue;
    const int64_t slot = coarser_index(other.first_bin_ + static_cast<int64_t>(i), shift) - first;
    assert(slot >= 0 && slot < capacity_);
    counts_[static_cast<size_t>(slot)] += other.counts_[i];
  }
  total_ += other.total_;
}

size_t Histogram::first_nonzero() const {
  for (size_t i = 0; i < counts_.size(); ++i)
    if (counts_[i] != 0) return i;
  return 0;
}

size_t Histogram::end_nonzero() const {
  for (size_t i = counts_.size(); i > 0; --i)
    if (counts_[i - 1] != 0) return i;
  return 0;
}

namespace {
enum class Side { Both, Positive, Negative };

std::vector<uint64_t> fold(const Histogram& h, Side side) {
  std::vector<uint64_t> out;
  const auto counts = h.counts();
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    const int64_t g = h.first_bin() + static_cast<int64_t>(i);
    if ((side == Side::Positive && g < 0) || (side == Side::Negative && g >= 0)) continue;
    // Bin g < 0 holds [g*w, (g+1)*w), i.e. |x| in ((-g-1)*w, -g*w]: folded bin -g-1.
    const auto k = static_cast<size_t>(g >= 0 ? g : -g - 1);
    if (out.size() <= k) out.resize(k + 1, 0);
    out[k] += counts[i];
  }
  return out;
}
}  // namespace

std::vector<uint64_t> Histogram::folded_abs() const { return fold(*this, Side::Both); }
std::vector<uint64_t> Histogram::positive_side() const { return fold(*this, Side::Positive); }
std::vector<uint64_t> Histogram::negative_side() const { return fold(*this, Side::Negative); }

Histogram Histogram::restore(int capacity, int width_log2, float covered_min, float covered_max, int64_t counts_first_bin,
                             const std::vector<uint64_t>& counts) {
  if (capacity < 2 || capacity > (1 << 24)) throw DataError("histogram capacity " + std::to_string(capacity) + " is outside [2, 2^24]");
  if (width_log2 < kMinWidthLog2 || width_log2 > 200) throw DataError("histogram width_log2 " + std::to_string(width_log2) + " is outside [-149, 200]");
  if (!std::isfinite(covered_min) || !std::isfinite(covered_max) || covered_min > 0.0f || covered_max < 0.0f)
    throw DataError("histogram range must be finite and contain 0");
  const int64_t lo_bin = grid_index(covered_min, width_log2);
  const int64_t hi_bin = grid_index(covered_max, width_log2);
  if (hi_bin - lo_bin + 1 > capacity)
    throw DataError("histogram bins of width 2^" + std::to_string(width_log2) + " cannot cover its range in " +
                    std::to_string(capacity) + " bins");
  // Bounds the index arithmetic below; any valid first bin is within capacity of 0.
  if (counts_first_bin < lo_bin - capacity || counts_first_bin > hi_bin)
    throw DataError("histogram first bin " + std::to_string(counts_first_bin) + " is outside its range");
  Histogram h(capacity);
  h.width_log2_ = width_log2;
  h.first_bin_ = lo_bin;  // canonical window, as cover() would choose, so later merges stay exact
  h.lo_ = covered_min;
  h.hi_ = covered_max;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    const int64_t g = counts_first_bin + static_cast<int64_t>(i);
    if (g < lo_bin || g > hi_bin)
      throw DataError("histogram has counts in bin " + std::to_string(g) + ", outside its range (bins " +
                      std::to_string(lo_bin) + ".." + std::to_string(hi_bin) + ")");
    if (h.total_ + counts[i] < h.total_) throw DataError("histogram counts overflow");
    h.total_ += counts[i];
    h.counts_[static_cast<size_t>(g - lo_bin)] += counts[i];
  }
  return h;
}

bool Histogram::operator==(const Histogram& o) const {
  if (empty() || o.empty()) return empty() == o.empty() && capacity_ == o.capacity_;
  return capacity_ == o.capacity_ && width_log2_ == o.width_log2_ && first_bin_ == o.first_bin_ && lo_ == o.lo_ &&
         hi_ == o.hi_ && total_ == o.total_ && counts_ == o.counts_;
}

}  // namespace onnxquant
