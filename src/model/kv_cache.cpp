#include "model/kv_cache.h"

#include <algorithm>

#include "base/error.h"
#include "base/float16.h"

namespace r1 {

CacheType cache_type_from_name(const std::string& name) {
    if (name == "f32") return CacheType::F32;
    if (name == "bf16") return CacheType::BF16;
    fail("unknown KV cache type '%s' (expected bf16 or f32)", name.c_str());
}

const char* cache_type_name(CacheType t) {
    return t == CacheType::F32 ? "f32" : "bf16";
}

size_t cache_type_size(CacheType t) {
    return t == CacheType::F32 ? sizeof(float) : sizeof(uint16_t);
}

size_t kv_cache_bytes_per_token(const ModelConfig& c, CacheType t) {
    return static_cast<size_t>(c.n_layer) * static_cast<size_t>(c.cache_row()) * cache_type_size(t);
}

KvCache::KvCache(const ModelConfig& c, int64_t n_ctx, CacheType type)
    : n_ctx_(n_ctx), row_(c.cache_row()), type_(type) {
    if (n_ctx <= 0) fail("context size must be positive, got %lld", static_cast<long long>(n_ctx));
    const size_t n = static_cast<size_t>(c.n_layer * n_ctx * row_);
    if (type == CacheType::F32)
        f32_.assign(n, 0.0f);
    else
        bf16_.assign(n, 0);
}

const float* KvCache::f32_row(int64_t layer, int64_t pos) const {
    R1_ASSERT(type_ == CacheType::F32, "f32_row on a %s cache", cache_type_name(type_));
    return f32_.data() + index(layer, pos);
}

const uint16_t* KvCache::bf16_row(int64_t layer, int64_t pos) const {
    R1_ASSERT(type_ == CacheType::BF16, "bf16_row on a %s cache", cache_type_name(type_));
    return bf16_.data() + index(layer, pos);
}

void KvCache::store(int64_t layer, int64_t pos, int64_t offset, const float* src, int64_t n) {
    R1_ASSERT(pos >= 0 && pos < n_ctx_ && offset >= 0 && offset + n <= row_);
    const size_t at = index(layer, pos) + static_cast<size_t>(offset);
    if (type_ == CacheType::F32) {
        std::copy_n(src, n, f32_.data() + at);
    } else {
        f32_to_bf16_row(src, bf16_.data() + at, n);
    }
}

void KvCache::load_rows(int64_t layer, int64_t pos0, int64_t n, float* dst) const {
    R1_ASSERT(pos0 >= 0 && n >= 0 && pos0 + n <= n_ctx_);
    const size_t at = index(layer, pos0), count = static_cast<size_t>(n * row_);
    if (type_ == CacheType::F32) {
        std::copy_n(f32_.data() + at, count, dst);
    } else {
        for (size_t i = 0; i < count; i++) dst[i] = bf16_to_f32(bf16_[at + i]);
    }
}

int64_t Batch::n_logits() const {
    int64_t n = 0;
    for (uint8_t w : want_logits) n += w;
    return n;
}

}  // namespace r1
