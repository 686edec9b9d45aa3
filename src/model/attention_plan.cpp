#include "model/attention_plan.h"

#include <algorithm>

namespace r1 {

void plan_attention(KvCache* const* caches, const int64_t* pos, int64_t n, int64_t n_heads, int64_t query_heads,
                    int64_t score_budget, std::vector<AttnItem>& out) {
    out.clear();
    for (int64_t r0 = 0; r0 < n;) {
        int64_t r1 = r0 + 1;
        while (r1 < n && caches[r1] == caches[r0]) r1++;
        int64_t n_kv = 0;
        for (int64_t t = r0; t < r1; t++) n_kv = std::max(n_kv, pos[t] + 1);
        if (query_heads > 0) {  // one query, several heads
            const int64_t nh = std::max<int64_t>(1, std::min(query_heads, score_budget / n_kv));
            for (int64_t t = r0; t < r1; t++)
                for (int64_t h = 0; h < n_heads; h += nh)
                    out.push_back({static_cast<int32_t>(t), 1, static_cast<int32_t>(h),
                                   static_cast<int32_t>(std::min(nh, n_heads - h)), pos[t] + 1});
        } else {  // one head, a block of queries
            const int64_t qb = std::max<int64_t>(1, score_budget / n_kv);
            for (int64_t h = 0; h < n_heads; h++)
                for (int64_t t = r0; t < r1; t += qb) {
                    const int64_t nq = std::min(qb, r1 - t);
                    int64_t kv = 0;
                    for (int64_t u = t; u < t + nq; u++) kv = std::max(kv, pos[u] + 1);
                    out.push_back({static_cast<int32_t>(t), static_cast<int32_t>(nq), static_cast<int32_t>(h), 1, kv});
                }
        }
        r0 = r1;
    }
}

}  // namespace r1
