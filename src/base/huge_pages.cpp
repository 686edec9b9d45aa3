#include "base/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>

namespace r1::huge_pages {

void* map(size_t bytes) {
    // over-map by one huge page and trim, so the block starts on a 2 MiB boundary (only whole, aligned
    // 2 MiB ranges can be huge pages)
    const size_t span = bytes + kHugePage;
    void* raw = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
    if (aligned > start) ::munmap(raw, aligned - start);
    const uintptr_t end = start + span, used_end = aligned + bytes;
    if (end > used_end) ::munmap(reinterpret_cast<void*>(used_end), end - used_end);
    ::madvise(reinterpret_cast<void*>(aligned), bytes,
              MADV_HUGEPAGE);  // a hint: fails harmlessly without THP
    return reinterpret_cast<void*>(aligned);
}

void unmap(void* p, size_t bytes) {
    ::munmap(p, bytes);
}

}  // namespace r1::huge_pages
