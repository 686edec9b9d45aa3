// Run-time choice of the SIMD level used by the kernels. The build stays portable (no -march=native): AVX2
// and AVX-512 code is compiled per file with `#pragma GCC target` and only called when the CPU has the
// features.
//   scalar  plain C++ (always available; the reference the others are tested against)
//   avx2    AVX2 + FMA + F16C
//   avx512  AVX-512 F/BW/DQ/VL + VNNI (Ice Lake, Zen 4 and later; CPUs without VNNI use avx2)
// R1_SIMD=scalar|avx2|avx512 in the environment caps the level (for tests and comparisons).
#pragma once

namespace r1 {

enum class SimdLevel { Scalar = 0, Avx2 = 1, Avx512 = 2 };

// The best level this CPU supports.
SimdLevel simd_level_supported();
// The level in use: the supported level capped by R1_SIMD (read once) or by set_simd_level().
SimdLevel simd_level();
// Caps the level (clamped to what the CPU supports); returns the level now in use. For tests and benchmarks.
SimdLevel set_simd_level(SimdLevel level);
const char* simd_level_str(SimdLevel level);
// AVX512_BF16 (bf16 dot products: Cooper Lake, Zen 4, Sapphire Rapids and later); used at the avx512 level.
bool cpu_has_avx512_bf16();

}  // namespace r1
