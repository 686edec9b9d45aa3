#include "kernels/simd/cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "base/log.h"

namespace r1 {
namespace {

SimdLevel detect() {
    __builtin_cpu_init();
    // __builtin_cpu_supports also checks that the OS saves the wider registers (XCR0), via libgcc.
    bool avx2 =
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                  __builtin_cpu_supports("avx512vnni");
    return avx512 ? SimdLevel::Avx512 : avx2 ? SimdLevel::Avx2 : SimdLevel::Scalar;
}

SimdLevel from_env(SimdLevel supported) {
    const char* s = std::getenv("R1_SIMD");
    if (!s || !*s) return supported;
    SimdLevel want;
    if (!std::strcmp(s, "scalar"))
        want = SimdLevel::Scalar;
    else if (!std::strcmp(s, "avx2"))
        want = SimdLevel::Avx2;
    else if (!std::strcmp(s, "avx512"))
        want = SimdLevel::Avx512;
    else {
        R1_LOG_WARN("R1_SIMD=%s is not one of scalar|avx2|avx512; using %s", s, simd_level_str(supported));
        return supported;
    }
    return want < supported ? want : supported;
}

std::atomic<int> g_level{-1};

}  // namespace

SimdLevel simd_level_supported() {
    static const SimdLevel level = detect();
    return level;
}

SimdLevel simd_level() {
    int v = g_level.load(std::memory_order_relaxed);
    if (v < 0) {
        v = static_cast<int>(from_env(simd_level_supported()));
        g_level.store(v, std::memory_order_relaxed);
    }
    return static_cast<SimdLevel>(v);
}

SimdLevel set_simd_level(SimdLevel level) {
    SimdLevel sup = simd_level_supported();
    SimdLevel use = level < sup ? level : sup;
    g_level.store(static_cast<int>(use), std::memory_order_relaxed);
    return use;
}

bool cpu_has_avx512_bf16() {
    static const bool has = [] {
        __builtin_cpu_init();
        return simd_level_supported() == SimdLevel::Avx512 && __builtin_cpu_supports("avx512bf16");
    }();
    return has;
}

const char* simd_level_str(SimdLevel level) {
    switch (level) {
        case SimdLevel::Avx512:
            return "avx512-vnni";
        case SimdLevel::Avx2:
            return "avx2";
        default:
            return "scalar";
    }
}

}  // namespace r1
