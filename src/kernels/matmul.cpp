// matmul(): validation, activation quantisation into a reusable scratch buffer, the choice between the
// row-dot kernels (decode, small n) and the tiled GEMM (prefill), and the split of rows across threads.
// matmul_ref(): the slow double-precision reference.
#include "kernels/matmul.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "base/parallel.h"
#include "kernels/simd/cpu_features.h"
#include "kernels/simd/kernels.h"
#include "tensor/quant.h"

namespace r1 {
namespace {

using simd::ActKind;

// Below this many multiply-adds a call runs on one thread (starting a parallel region costs a few µs).
constexpr int64_t kMinParallelWork = 1 << 16;
// matmul_batch without the fused path: jobs up to this many multiply-adds each are shared out whole.
constexpr int64_t kSmallJob = 1 << 18;

// A 64-byte aligned buffer that grows and is never shrunk: one per calling thread, so steady-state calls
// do not allocate.
struct ScratchBuffer {
    uint8_t* p = nullptr;
    size_t cap = 0;
    ~ScratchBuffer() { std::free(p); }
    uint8_t* get(size_t n) {
        if (n > cap) {
            std::free(p);
            cap = simd::round64(n + n / 4);
            p = static_cast<uint8_t*>(std::aligned_alloc(64, cap));
            R1_ASSERT(p != nullptr, "out of memory for %zu bytes of matmul scratch", cap);
        }
        return p;
    }
};

}  // namespace

uint8_t* simd::thread_scratch(int slot, size_t bytes) {
    thread_local ScratchBuffer bufs[4];
    R1_ASSERT(slot >= 0 && slot < 4, "scratch slot %d", slot);
    return bufs[slot].get(bytes);
}

namespace {

simd::QuantActFn quant_fn(SimdLevel level, ActKind kind) {
    switch (level) {
        case SimdLevel::Avx512:
            return kind == ActKind::A8 ? simd::avx512::quant_a8 : simd::avx512::quant_k8;
        case SimdLevel::Avx2:
            return kind == ActKind::A8 ? simd::avx2::quant_a8 : simd::avx2::quant_k8;
        default:
            return kind == ActKind::A8 ? simd::scalar::quant_a8 : simd::scalar::quant_k8;
    }
}

simd::RowdotFn rowdot_fn(SimdLevel level) {
    return level == SimdLevel::Avx2 ? simd::avx2::rowdot : simd::scalar::rowdot;
}

// Rows [0, w.rows) go to parallel_chunks as chunks of whole 16-row tiles: about 64 KB of weights for one
// token, fewer rows as n grows (the work per row grows with n), so that the threads finish together.
int64_t tiles_per_chunk(const MatRef& w, int64_t n) {
    constexpr int64_t tile = simd::avx512::kIntTileRows;
    const int64_t t = static_cast<int64_t>((size_t{64} << 10) / (tile * w.row_stride)) / ((n + 7) / 8);
    return t < 1 ? 1 : t;
}

template <typename F>
void run_tile_chunks(const MatRef& w, int64_t n, F&& fn) {
    constexpr int64_t tile = simd::avx512::kIntTileRows;
    const int64_t tiles = (w.rows + tile - 1) / tile;
    const int64_t tpc = tiles_per_chunk(w, n);
    const int64_t chunks = (tiles + tpc - 1) / tpc;
    parallel_chunks(chunks, [&](int64_t c0, int64_t c1) {
        const int64_t r0 = c0 * tpc * tile, r1 = c1 * tpc * tile;
        fn(r0, r1 < w.rows ? r1 : w.rows);
    });
}

void check_args(const MatRef& w, int64_t ldx, int64_t n, int64_t ldy, const char* who) {
    if (!matmul_supports(w.type))
        fail(
            "%s: weights of type %s are not supported (supported: f32 f16 bf16 f8_e4m3 q4_0 q4_1 q5_0 q5_1 "
            "q8_0 "
            "q2_K q3_K q4_K q5_K q6_K iq4_nl)",
            who, dtype_name(w.type));
    const int32_t bs = dtype_info(w.type).block_size;
    if (w.cols <= 0 || w.cols % bs != 0)
        fail("%s: %s weights need a row length that is a positive multiple of %d, got %lld", who,
             dtype_name(w.type), bs, static_cast<long long>(w.cols));
    R1_ASSERT(w.rows >= 0 && n >= 0, "%s: negative size", who);
    R1_ASSERT(ldx >= w.cols || n <= 1, "%s: ldx %lld < cols %lld", who, static_cast<long long>(ldx),
              static_cast<long long>(w.cols));
    R1_ASSERT(ldy >= w.rows || n <= 1, "%s: ldy %lld < rows %lld", who, static_cast<long long>(ldy),
              static_cast<long long>(w.rows));
    R1_ASSERT(w.data != nullptr || w.rows == 0, "%s: null weights", who);
    R1_ASSERT(w.row_stride >= row_bytes(w.type, w.cols), "%s: row stride %zu below the row size", who,
              w.row_stride);
}

}  // namespace

bool matmul_supports(DType type) {
    switch (type) {
        case DType::F32:
        case DType::F16:
        case DType::BF16:
        case DType::F8_E4M3:
        case DType::Q4_0:
        case DType::Q4_1:
        case DType::Q5_0:
        case DType::Q5_1:
        case DType::Q8_0:
        case DType::Q2_K:
        case DType::Q3_K:
        case DType::Q4_K:
        case DType::Q5_K:
        case DType::Q6_K:
        case DType::IQ4_NL:
            return true;
        default:
            return false;
    }
}

const char* simd_level_name() {
    return simd_level_str(simd_level());
}

MatRef mat_of(const TensorRef& t) {
    if (t.shape.size() != 2)
        fail("tensor '%s': expected a 2-D weight [rows, cols], got shape %s", t.name.c_str(),
             shape_str(t.shape).c_str());
    MatRef m;
    m.type = t.type;
    m.rows = t.shape[0];
    m.cols = t.shape[1];
    const int32_t bs = dtype_info(t.type).block_size;
    if (m.cols % bs != 0)
        fail("tensor '%s': row length %lld is not a multiple of the %s block size %d", t.name.c_str(),
             static_cast<long long>(m.cols), dtype_name(t.type), bs);
    m.row_stride = row_bytes(t.type, m.cols);
    if (static_cast<size_t>(m.rows) * m.row_stride > t.nbytes)
        fail("tensor '%s': %zu bytes of data, but %s %s needs %zu", t.name.c_str(), t.nbytes,
             shape_str(t.shape).c_str(), dtype_name(t.type), static_cast<size_t>(m.rows) * m.row_stride);
    m.data = t.data;
    return m;
}

MatRef mat_of_slice(const TensorRef& t, int64_t index) {
    if (t.shape.size() != 3)
        fail("tensor '%s': expected a 3-D stack of weights [E, rows, cols], got shape %s", t.name.c_str(),
             shape_str(t.shape).c_str());
    R1_ASSERT(index >= 0 && index < t.shape[0], "tensor '%s': slice %lld of %lld", t.name.c_str(),
              static_cast<long long>(index), static_cast<long long>(t.shape[0]));
    TensorRef two = t;
    two.shape = {t.shape[1], t.shape[2]};
    const size_t slice_bytes = static_cast<size_t>(t.shape[1]) * row_bytes(t.type, t.shape[2]);
    if (static_cast<size_t>(t.shape[0]) * slice_bytes > t.nbytes)
        fail("tensor '%s': %zu bytes of data, but %s %s needs %zu", t.name.c_str(), t.nbytes,
             shape_str(t.shape).c_str(), dtype_name(t.type), static_cast<size_t>(t.shape[0]) * slice_bytes);
    two.data = t.data + static_cast<size_t>(index) * slice_bytes;
    two.nbytes = slice_bytes;
    return mat_of(two);
}

void matmul(const MatRef& w, const float* x, int64_t ldx, int64_t n, float* y, int64_t ldy) {
    check_args(w, ldx, n, ldy, "matmul");
    if (n == 0 || w.rows == 0) return;
    const SimdLevel level = simd_level();
    const int64_t K = w.cols;
    const int64_t work = w.rows * K * n;

    simd::Acts acts;
    acts.kind = simd::act_kind(w.type);
    acts.n = n;
    acts.K = K;
    acts.x = x;
    acts.ldx = ldx;
    if (acts.kind != ActKind::F32) {
        thread_local ScratchBuffer act_scratch;
        acts.stride = acts.kind == ActKind::A8 ? simd::A8Layout(K).stride : simd::K8Layout(K).stride;
        uint8_t* buf = act_scratch.get(acts.stride * static_cast<size_t>(n));
        acts.base = buf;
        const simd::QuantActFn quant = quant_fn(level, acts.kind);
        auto quant_range = [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; t++)
                quant(x + t * ldx, K, buf + static_cast<size_t>(t) * acts.stride);
        };
        if (n >= 4 && work >= kMinParallelWork)  // chunks of 8 tokens
            parallel_chunks((n + 7) / 8,
                            [&](int64_t c0, int64_t c1) { quant_range(8 * c0, 8 * c1 < n ? 8 * c1 : n); });
        else
            quant_range(0, n);
    }

    const bool small = work < kMinParallelWork;
    if (level == SimdLevel::Avx512) {
        if (acts.kind != ActKind::F32) {
            if (small) return simd::avx512::matmul_int(w, 0, w.rows, acts, y, ldy);
            return run_tile_chunks(
                w, n, [&](int64_t r0, int64_t r1) { simd::avx512::matmul_int(w, r0, r1, acts, y, ldy); });
        }
        if (n <= simd::avx512::kFTileMaxTokens) {
            if (small) return simd::avx512::matmul_f_tiles(w, 0, w.rows, acts, y, ldy);
            return run_tile_chunks(
                w, n, [&](int64_t r0, int64_t r1) { simd::avx512::matmul_f_tiles(w, r0, r1, acts, y, ldy); });
        }
        const int64_t panels = (w.rows + simd::avx512::kPanelRows - 1) / simd::avx512::kPanelRows;
        if (small) return simd::avx512::gemm_f32family(w, 0, panels, acts, y, ldy);
        parallel_chunks(
            panels, [&](int64_t p0, int64_t p1) { simd::avx512::gemm_f32family(w, p0, p1, acts, y, ldy); });
        return;
    }
    const simd::RowdotFn rowdot = rowdot_fn(level);
    if (small) return rowdot(w, 0, w.rows, acts, y, ldy);
    // chunks of about 64 KB of weights (at least 16 rows): big enough that taking one costs nothing, small
    // enough that the threads finish together
    int64_t rows_per_chunk = static_cast<int64_t>((size_t{64} << 10) / w.row_stride);
    rows_per_chunk = rows_per_chunk < 16 ? 16 : rows_per_chunk;
    const int64_t chunks = (w.rows + rows_per_chunk - 1) / rows_per_chunk;
    parallel_chunks(chunks, [&](int64_t c0, int64_t c1) {
        const int64_t r1 = c1 * rows_per_chunk < w.rows ? c1 * rows_per_chunk : w.rows;
        rowdot(w, c0 * rows_per_chunk, r1, acts, y, ldy);
    });
}

void matmul_batch(const MatmulJob* jobs, int64_t n_jobs) {
    const SimdLevel level = simd_level();
    bool fused = level == SimdLevel::Avx512 && n_jobs > 1;
    for (int64_t j = 0; j < n_jobs; j++) {
        const MatmulJob& a = jobs[j];
        check_args(a.w, a.ldx, a.n, a.ldy, "matmul_batch");
        if (a.n > kBatchMaxTokens || a.n > simd::avx512::kFTileMaxTokens) fused = false;
    }
    if (!fused) {
        // Many small products (per-head matrices) are shared out whole among the threads, each then
        // running single-threaded; larger ones are each split across the threads by matmul().
        bool small = n_jobs > 1;
        for (int64_t j = 0; j < n_jobs && small; j++)
            small = jobs[j].w.rows * jobs[j].w.cols * jobs[j].n <= kSmallJob;
        auto run = [&](int64_t j0, int64_t j1) {
            for (int64_t j = j0; j < j1; j++)
                matmul(jobs[j].w, jobs[j].x, jobs[j].ldx, jobs[j].n, jobs[j].y, jobs[j].ldy);
        };
        if (small)
            parallel_for(n_jobs, run);
        else
            run(0, n_jobs);
        return;
    }
    // Activations: one quantised copy per distinct (x, ldx, n, K, partner format), packed in one buffer.
    // (Per calling thread, reused; the worker threads see them through these references, not their own
    // thread_local instances.)
    thread_local std::vector<simd::Acts> acts_storage;
    thread_local std::vector<size_t> offset_storage;
    thread_local std::vector<uint8_t> owner_storage;
    thread_local std::vector<int64_t> first_storage, tpc_storage;
    thread_local ScratchBuffer batch_scratch;
    std::vector<simd::Acts>& acts = acts_storage;
    std::vector<size_t>& offset = offset_storage;
    std::vector<uint8_t>& owner = owner_storage;  // 1: this job quantises its activations; 0: shares a copy
    std::vector<int64_t>&first_chunk = first_storage, &job_tiles_per_chunk = tpc_storage;
    acts.assign(static_cast<size_t>(n_jobs), simd::Acts{});
    offset.assign(static_cast<size_t>(n_jobs), 0);
    owner.assign(static_cast<size_t>(n_jobs), 0);
    size_t bytes = 0;
    for (int64_t j = 0; j < n_jobs; j++) {
        const MatmulJob& a = jobs[j];
        simd::Acts& s = acts[static_cast<size_t>(j)];
        s.kind = simd::act_kind(a.w.type);
        s.n = a.n;
        s.K = a.w.cols;
        s.x = a.x;
        s.ldx = a.ldx;
        if (s.kind == ActKind::F32) continue;
        s.stride = s.kind == ActKind::A8 ? simd::A8Layout(s.K).stride : simd::K8Layout(s.K).stride;
        // (only the previous job is compared: callers put the jobs that share X next to each other, and a
        // search of all earlier jobs would cost n_jobs^2 for the thousands of per-head jobs of a long chunk)
        const simd::Acts* prev = j > 0 ? &acts[static_cast<size_t>(j - 1)] : nullptr;
        if (prev && prev->kind == s.kind && prev->x == s.x && prev->ldx == s.ldx && prev->n == s.n &&
            prev->K == s.K) {
            offset[static_cast<size_t>(j)] = offset[static_cast<size_t>(j - 1)];
        } else {
            owner[static_cast<size_t>(j)] = 1;
            offset[static_cast<size_t>(j)] = bytes;
            bytes += s.stride * static_cast<size_t>(s.n);
        }
    }
    uint8_t* buf = batch_scratch.get(bytes > 0 ? bytes : 64);
    for (int64_t j = 0; j < n_jobs; j++) {
        simd::Acts& s = acts[static_cast<size_t>(j)];
        if (s.kind == ActKind::F32) continue;
        uint8_t* dst = buf + offset[static_cast<size_t>(j)];
        s.base = dst;
        if (!owner[static_cast<size_t>(j)]) continue;
        const simd::QuantActFn quant = quant_fn(level, s.kind);
        for (int64_t t = 0; t < s.n; t++)
            quant(s.x + t * s.ldx, s.K, dst + static_cast<size_t>(t) * s.stride);
    }
    // One list of chunks: job j owns chunks [first_chunk[j], first_chunk[j + 1]), each of whole 16-row tiles
    // (the chunk size of matmul()).
    constexpr int64_t tile = simd::avx512::kIntTileRows;
    static_assert(tile == 16, "the f32 tiles and the integer tiles are both 16 rows");
    first_chunk.assign(static_cast<size_t>(n_jobs + 1), 0);
    job_tiles_per_chunk.assign(static_cast<size_t>(n_jobs), 1);
    for (int64_t j = 0; j < n_jobs; j++) {
        const MatmulJob& a = jobs[j];
        const int64_t tiles = (a.w.rows + tile - 1) / tile;
        const int64_t tpc = tiles_per_chunk(a.w, a.n);
        job_tiles_per_chunk[static_cast<size_t>(j)] = tpc;
        first_chunk[static_cast<size_t>(j + 1)] =
            first_chunk[static_cast<size_t>(j)] + (a.n == 0 ? 0 : (tiles + tpc - 1) / tpc);
    }
    // Jobs whose matrices follow each other in memory (same layout; e.g. the heads of one tensor) form a
    // run: each job's kernel is given the rows up to the end of its run, so its prefetches continue into
    // the next matrix instead of stopping at the end of its own (the kernels bound prefetches by w.rows).
    thread_local std::vector<int64_t> extent_storage;
    std::vector<int64_t>& extent = extent_storage;
    extent.assign(static_cast<size_t>(n_jobs), 0);
    for (int64_t j = n_jobs - 1; j >= 0; j--) {
        const MatRef &w = jobs[j].w, *next = j + 1 < n_jobs ? &jobs[j + 1].w : nullptr;
        const bool joined = next && next->type == w.type && next->cols == w.cols &&
                            next->row_stride == w.row_stride &&
                            next->data == w.data + static_cast<size_t>(w.rows) * w.row_stride;
        extent[static_cast<size_t>(j)] = w.rows + (joined ? extent[static_cast<size_t>(j + 1)] : 0);
    }
    parallel_chunks(first_chunk.back(), [&](int64_t c0, int64_t c1) {
        // the job holding chunk c0: the last j with first_chunk[j] <= c0 and a non-empty range
        int64_t j = std::upper_bound(first_chunk.begin(), first_chunk.end(), c0) - first_chunk.begin() - 1;
        for (int64_t c = c0; c < c1; j++) {
            const int64_t end = std::min(c1, first_chunk[static_cast<size_t>(j + 1)]);
            if (end <= c) continue;
            const MatmulJob& a = jobs[j];
            const int64_t rows_per_chunk = job_tiles_per_chunk[static_cast<size_t>(j)] * tile;
            const int64_t r0 = (c - first_chunk[static_cast<size_t>(j)]) * rows_per_chunk;
            const int64_t r1 =
                std::min(a.w.rows, (end - first_chunk[static_cast<size_t>(j)]) * rows_per_chunk);
            const simd::Acts& s = acts[static_cast<size_t>(j)];
            MatRef w = a.w;  // rows [r0, r1) of this job; prefetches may look on to the end of its run
            w.rows = extent[static_cast<size_t>(j)];
            if (s.kind != ActKind::F32)
                simd::avx512::matmul_int(w, r0, r1, s, a.y, a.ldy);
            else
                simd::avx512::matmul_f_tiles(w, r0, r1, s, a.y, a.ldy);
            c = end;
        }
    });
}

void matmul_ref(const MatRef& w, const float* x, int64_t ldx, int64_t n, float* y, int64_t ldy) {
    check_args(w, ldx, n, ldy, "matmul_ref");
    parallel_for(w.rows, [&](int64_t r0, int64_t r1) {
        std::vector<float> row(static_cast<size_t>(w.cols));
        for (int64_t r = r0; r < r1; r++) {
            dequantize_row(w.type, w.data + r * w.row_stride, row.data(), w.cols);
            for (int64_t t = 0; t < n; t++) {
                const float* xt = x + t * ldx;
                double s = 0;
                for (int64_t c = 0; c < w.cols; c++) s += static_cast<double>(row[c]) * xt[c];
                y[t * ldy + r] = static_cast<float>(s);
            }
        }
    });
}

}  // namespace r1
