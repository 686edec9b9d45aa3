#include "model/kv_cache.h"

#include "base/error.h"

namespace r1 {

KvCache::KvCache(const ModelConfig& c, int64_t n_ctx) : n_ctx_(n_ctx), row_(c.cache_row()) {
    if (n_ctx <= 0) fail("context size must be positive, got %lld", static_cast<long long>(n_ctx));
    data_.assign(static_cast<size_t>(c.n_layer * n_ctx * row_), 0.0f);
}

int64_t Batch::n_logits() const {
    int64_t n = 0;
    for (uint8_t w : want_logits) n += w;
    return n;
}

}  // namespace r1
