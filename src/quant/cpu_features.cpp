#include "quant/cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <cstdint>

namespace onnxquant {

const char* cpu_target_name(CpuTarget t) {
  switch (t) {
    case CpuTarget::Auto: return "auto";
    case CpuTarget::Avx2: return "avx2";
    case CpuTarget::AvxVnni: return "avx-vnni";
    case CpuTarget::Avx512Vnni: return "avx512-vnni";
  }
  return "auto";
}

std::optional<CpuTarget> parse_cpu_target(std::string_view name) {
  for (CpuTarget t : {CpuTarget::Auto, CpuTarget::Avx2, CpuTarget::AvxVnni, CpuTarget::Avx512Vnni})
    if (name == cpu_target_name(t)) return t;
  return std::nullopt;
}

#if defined(__x86_64__) || defined(__i386__)
namespace {

// XCR0: which register states the OS saves on a context switch. An instruction set whose registers the
// OS does not save cannot be used even when cpuid lists it.
uint64_t xgetbv0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

}  // namespace

CpuTarget detect_cpu_target() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return CpuTarget::Avx2;
  const bool osxsave = (c >> 27) & 1;
  if (!osxsave) return CpuTarget::Avx2;
  const uint64_t xcr0 = xgetbv0();
  const bool os_avx = (xcr0 & 0x6) == 0x6;             // XMM and YMM state
  const bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;  // opmask, ZMM_Hi256, Hi16_ZMM
  if (__get_cpuid_max(0, nullptr) < 7) return CpuTarget::Avx2;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx512f = (b >> 16) & 1, avx512bw = (b >> 30) & 1, avx512_vnni = (c >> 11) & 1;
  if (os_avx512 && avx512f && avx512bw && avx512_vnni) return CpuTarget::Avx512Vnni;
  __cpuid_count(7, 1, a, b, c, d);
  const bool avx_vnni = (a >> 4) & 1;
  if (os_avx && avx_vnni) return CpuTarget::AvxVnni;
  return CpuTarget::Avx2;
}
#else
CpuTarget detect_cpu_target() { return CpuTarget::Avx2; }
#endif

CpuTarget resolve_cpu_target(CpuTarget requested) { return requested == CpuTarget::Auto ? detect_cpu_target() : requested; }

bool saturates_without_reduce_range(CpuTarget resolved) { return resolved == CpuTarget::Avx2; }

}  // namespace onnxquant
