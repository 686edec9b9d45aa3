// Splitting a chunk's attention into work items for the threads. Tokens of one sequence sit in runs of
// consecutive batch entries sharing a cache; each item is a block of queries of one run and a block of heads,
// sized so that its scores [queries x heads, keys] fit one thread's score buffer.
#pragma once

#include <cstdint>
#include <vector>

#include "model/kv_cache.h"

namespace r1 {

struct AttnItem {
    int32_t t0, nq;  // queries [t0, t0 + nq) of the chunk (one sequence)
    int32_t h0, nh;  // heads [h0, h0 + nh)
    int64_t n_kv;    // keys the last query sees (pos + 1)
};

// query_heads: heads per item when a query scores all its heads together (MLA absorbed: 1 query x nh heads);
// 0 for one head per item with blocks of queries (dense, MLA naive). `out` keeps its capacity (no allocation
// once it has grown to T*H items).
void plan_attention(KvCache* const* caches, const int64_t* pos, int64_t n, int64_t n_heads, int64_t query_heads,
                    int64_t score_budget, std::vector<AttnItem>& out);

}  // namespace r1
