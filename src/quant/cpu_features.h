// The int8 instructions of the CPU a quantized model will run on, and what they mean for weights.
// ORT's x86 u8s8 kernels (QLinearConv, QLinearMatMul, QGemm) multiply uint8 activations by int8 weights.
// With AVX512-VNNI or AVX-VNNI (vpdpbusd) the products are summed straight into int32. Without VNNI,
// on AVX2 only, vpmaddubsw adds two u8 x s8 products into an int16 first: 255 * 127 * 2 = 64770
// overflows int16 (max 32767) and saturates silently. 7-bit weights ([-64, 63]) keep every pair sum
// within int16 (255 * 64 * 2 = 32640), which is what ORT's quantizer calls reduce_range.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace onnxquant {

enum class CpuTarget {
  Auto,        // the machine running onnxquant
  Avx2,        // AVX2 without VNNI: u8 x s8 pairs summed in int16 (can saturate)
  AvxVnni,     // AVX-VNNI (Alder Lake and later client CPUs)
  Avx512Vnni,  // AVX512-VNNI (Cascade Lake and later servers, Zen 4)
};

const char* cpu_target_name(CpuTarget t);  // "auto", "avx2", "avx-vnni", "avx512-vnni"
std::optional<CpuTarget> parse_cpu_target(std::string_view name);

// The best int8 instruction set of this machine (cpuid and XGETBV: the OS must save AVX/AVX512 state).
// Never returns Auto. Off x86 it returns Avx2, the conservative answer (reduce range on).
CpuTarget detect_cpu_target();

// Auto resolved to the detected target; any other value unchanged.
CpuTarget resolve_cpu_target(CpuTarget requested);

// True when ORT's int8 kernels on this target sum u8 x s8 pairs in int16 (no VNNI).
bool saturates_without_reduce_range(CpuTarget resolved);

}  // namespace onnxquant
