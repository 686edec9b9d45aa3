#include "base/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <utility>

#include "base/error.h"

namespace r1 {
namespace {

// Maps the file read-only at an address aligned to 2 MiB, so file offset k * 2 MiB lands on a 2 MiB boundary
// and the kernel can map whole 2 MiB page-cache folios with one page-table entry (FilePmdMapped in
// /proc/PID/smaps) instead of 512. MADV_HUGEPAGE asks it to read the file into such folios in the first
// place (Linux with large folios on the filesystem, e.g. ext4 or XFS on 6.x; elsewhere it changes nothing).
// Decode streams every weight once per token: a 2 MiB mapping keeps the hardware prefetcher running across
// what would be 4 KiB page boundaries and needs one TLB entry per 2 MiB (bench_membw, file_pmd vs file_pte).
void* map_aligned(int fd, size_t size) {
    constexpr size_t kAlign = size_t{2} << 20;
    // reserve size + 2 MiB of address space, place the file at the first aligned address inside it, and
    // give back the rest
    void* reserved =
        ::mmap(nullptr, size + kAlign, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (reserved == MAP_FAILED) return ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const uintptr_t start = reinterpret_cast<uintptr_t>(reserved), end = start + size + kAlign;
    const uintptr_t at = (start + kAlign - 1) & ~(uintptr_t{kAlign} - 1);
    void* p = ::mmap(reinterpret_cast<void*>(at), size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) {
        const int e = errno;
        ::munmap(reserved, size + kAlign);
        errno = e;
        return MAP_FAILED;
    }
    if (at > start) ::munmap(reserved, at - start);
    const uintptr_t mapped_end = (at + size + 4095) & ~uintptr_t{4095};
    if (end > mapped_end) ::munmap(reinterpret_cast<void*>(mapped_end), end - mapped_end);
    ::madvise(p, size, MADV_HUGEPAGE);  // a hint: fails harmlessly where unsupported
    return p;
}

}  // namespace

MappedFile::MappedFile(const std::string& path) : path_(path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("cannot open '%s': %s", path.c_str(), std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int e = errno;
        ::close(fd);
        fail("cannot stat '%s': %s", path.c_str(), std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        fail("'%s' is not a regular file", path.c_str());
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
        void* p = map_aligned(fd, size_);
        if (p == MAP_FAILED) {
            int e = errno;
            ::close(fd);
            fail("cannot map '%s' (%zu bytes): %s", path.c_str(), size_, std::strerror(e));
        }
        data_ = static_cast<const uint8_t*>(p);
    }
    ::close(fd);
}

MappedFile::~MappedFile() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
    if (this != &other) {
        if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
        path_ = std::move(other.path_);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

void MappedFile::prefetch(size_t offset, size_t length) const {
    if (!data_ || offset >= size_) return;
    long page = ::sysconf(_SC_PAGESIZE);
    size_t start = offset / static_cast<size_t>(page) * static_cast<size_t>(page);
    size_t end = std::min(size_, offset + length);
    ::madvise(const_cast<uint8_t*>(data_) + start, end - start, MADV_WILLNEED);
}

std::string read_file(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) fail("cannot open '%s': %s", path.c_str(), std::strerror(errno));
    std::string out;
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    bool err = std::ferror(f);
    std::fclose(f);
    if (err) fail("error reading '%s'", path.c_str());
    return out;
}

void write_file_atomic(const std::string& path, const void* data, size_t size) {
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("cannot create '%s': %s", tmp.c_str(), std::strerror(errno));
    const char* p = static_cast<const char*>(data);
    size_t left = size;
    while (left > 0) {
        ssize_t w = ::write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            fail("cannot write '%s': %s", tmp.c_str(), std::strerror(e));
        }
        p += w;
        left -= static_cast<size_t>(w);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        fail("cannot flush '%s': %s", tmp.c_str(), std::strerror(e));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        fail("cannot rename '%s' to '%s': %s", tmp.c_str(), path.c_str(), std::strerror(e));
    }
}

}  // namespace r1
