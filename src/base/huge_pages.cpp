#include "base/huge_pages.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdint>

namespace r1::huge_pages {

void* map_aligned(size_t bytes, int prot, int flags, int fd) {
    // reserve bytes + 2 MiB of address space, place the mapping at the first 2 MiB boundary inside it (only
    // whole, aligned 2 MiB ranges can be huge pages), and give back the rest
    void* reserved =
        ::mmap(nullptr, bytes + kHugePage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (reserved == MAP_FAILED) return MAP_FAILED;
    const uintptr_t start = reinterpret_cast<uintptr_t>(reserved), end = start + bytes + kHugePage;
    const uintptr_t at = (start + kHugePage - 1) / kHugePage * kHugePage;
    void* p = ::mmap(reinterpret_cast<void*>(at), bytes, prot, flags | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) {
        const int e = errno;
        ::munmap(reserved, bytes + kHugePage);
        errno = e;
        return MAP_FAILED;
    }
    if (at > start) ::munmap(reserved, at - start);
    const uintptr_t mapped_end = (at + bytes + 4095) / 4096 * 4096;
    if (end > mapped_end) ::munmap(reinterpret_cast<void*>(mapped_end), end - mapped_end);
    ::madvise(p, bytes, MADV_HUGEPAGE);  // a hint: fails harmlessly where unsupported
    return p;
}

void* map(size_t bytes) {
    void* p = map_aligned(bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return p;
}

void unmap(void* p, size_t bytes) {
    ::munmap(p, bytes);
}

}  // namespace r1::huge_pages
