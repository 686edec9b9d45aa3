// Small deterministic random number generators: identical streams on every platform, unlike std::
// distributions. derive(seed, a, b, ...) makes independent seeds for (run, step, prompt, sample) without
// sharing one stream.
#pragma once

#include <cmath>
#include <cstdint>

namespace r1 {

inline uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

template <typename... Ids>
uint64_t derive(uint64_t seed, Ids... ids) {
    uint64_t s = seed;
    uint64_t out = splitmix64(s);
    ((s = out ^ static_cast<uint64_t>(ids), out = splitmix64(s)), ...);
    return out;
}

// xoshiro256** with a splitmix64-expanded seed.
class Rng {
  public:
    explicit Rng(uint64_t seed = 0) { reseed(seed); }
    void reseed(uint64_t seed) {
        uint64_t s = seed;
        for (auto& x : s_) x = splitmix64(s);
    }
    uint64_t next_u64() {
        uint64_t result = rotl(s_[1] * 5, 7) * 9;
        uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    // Uniform in [0, 1) with 24 bits (exactly representable as float).
    float uniform() { return static_cast<float>(next_u64() >> 40) * (1.0f / 16777216.0f); }
    double uniform_double() { return static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0); }
    // Standard normal by Box-Muller (one value per call; simple and deterministic).
    float normal() {
        double u1 = uniform_double(), u2 = uniform_double();
        if (u1 < 1e-300) u1 = 1e-300;
        return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
    }
    uint64_t below(uint64_t n) { return n ? next_u64() % n : 0; }

  private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t s_[4];
};

}  // namespace r1
