// Memory in 2 MiB pages, for what decode streams every token. HugePageAllocator serves large buffers (the KV
// cache): blocks of 2 MiB or more are mapped directly and marked MADV_HUGEPAGE, so that with transparent huge
// pages in `madvise` mode (Debian's default) they are backed by 2 MiB pages; map_aligned places any mapping,
// e.g. a model file (base/mapped_file.h), that way. A 4 KiB page stops the hardware prefetcher at every page
// boundary and costs a TLB entry per 4 KiB: bench_attention (huge:0/1) and bench_membw (file_pmd/file_pte)
// measure the difference. Smaller blocks, and kernels without THP, get ordinary memory; the contents are the
// same either way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

namespace r1 {

namespace huge_pages {
constexpr size_t kHugePage = size_t{2} << 20;
// mmap(nullptr, bytes, prot, flags, fd, 0), but at an address aligned to kHugePage and advised
// MADV_HUGEPAGE (for a file: offset k * 2 MiB lands on a 2 MiB boundary, so 2 MiB page-cache folios can be
// mapped whole). Returns MAP_FAILED with errno set on failure.
void* map_aligned(size_t bytes, int prot, int flags, int fd);
// Maps `bytes` (a multiple of kHugePage) of zeroed anonymous memory with map_aligned; throws
// std::bad_alloc if the mapping fails.
void* map(size_t bytes);
void unmap(void* p, size_t bytes);
inline size_t rounded(size_t bytes) {
    return (bytes + kHugePage - 1) / kHugePage * kHugePage;
}
}  // namespace huge_pages

template <typename T>
struct HugePageAllocator {
    using value_type = T;
    HugePageAllocator() = default;
    template <typename U>
    HugePageAllocator(const HugePageAllocator<U>&) {}

    T* allocate(size_t n) {
        const size_t bytes = n * sizeof(T);
        if (bytes < huge_pages::kHugePage) return static_cast<T*>(::operator new(bytes));
        return static_cast<T*>(huge_pages::map(huge_pages::rounded(bytes)));
    }
    void deallocate(T* p, size_t n) {
        const size_t bytes = n * sizeof(T);
        if (bytes < huge_pages::kHugePage)
            ::operator delete(p);
        else
            huge_pages::unmap(p, huge_pages::rounded(bytes));
    }
    template <typename U>
    bool operator==(const HugePageAllocator<U>&) const {
        return true;
    }
};

}  // namespace r1
