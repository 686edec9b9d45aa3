#include "formats/output_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "base/error.h"

namespace r1 {
namespace {

constexpr size_t kBufferBytes =
    1 << 20;  // header bytes are gathered; tensor data larger than this bypasses it

std::string temp_name_for(const std::string& path) {
    static std::atomic<uint64_t> counter{0};
    return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
}

}  // namespace

AtomicOutputFile::AtomicOutputFile(const std::string& path) : path_(path), tmp_path_(temp_name_for(path)) {
    fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0)
        fail("cannot create '%s' (to write '%s'): %s", tmp_path_.c_str(), path.c_str(), std::strerror(errno));
    buf_.resize(kBufferBytes);
}

AtomicOutputFile::~AtomicOutputFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(tmp_path_.c_str());
}

void AtomicOutputFile::fail_io(const char* what) {
    int e = errno;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    ::unlink(tmp_path_.c_str());
    fail("cannot %s '%s' (writing '%s'): %s", what, tmp_path_.c_str(), path_.c_str(), std::strerror(e));
}

void AtomicOutputFile::write_all(const uint8_t* p, size_t n) {
    if (fd_ < 0) fail("'%s': write after a failed or committed write", path_.c_str());
    while (n > 0) {
        // Linux writes at most ~2 GB per call; larger requests come back short and loop.
        ssize_t w = ::write(fd_, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            fail_io("write");
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
}

void AtomicOutputFile::flush_buffer() {
    if (used_ > 0) write_all(buf_.data(), used_);
    used_ = 0;
}

void AtomicOutputFile::write(const void* data, size_t n) {
    const uint8_t* p = static_cast<const uint8_t*>(data);
    written_ += n;
    if (used_ + n <= buf_.size()) {
        if (n) std::memcpy(buf_.data() + used_, p, n);
        used_ += n;
        return;
    }
    flush_buffer();
    if (n >= buf_.size()) {
        write_all(p, n);
    } else {
        std::memcpy(buf_.data(), p, n);
        used_ = n;
    }
}

void AtomicOutputFile::write_zeros(size_t n) {
    static const uint8_t zeros[4096] = {};
    while (n > 0) {
        size_t k = n < sizeof zeros ? n : sizeof zeros;
        write(zeros, k);
        n -= k;
    }
}

void AtomicOutputFile::commit() {
    flush_buffer();
    if (::fsync(fd_) != 0) fail_io("flush");
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) fail_io("close");
    if (::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp_path_.c_str());
        fail("cannot rename '%s' to '%s': %s", tmp_path_.c_str(), path_.c_str(), std::strerror(e));
    }
    committed_ = true;
}

}  // namespace r1
