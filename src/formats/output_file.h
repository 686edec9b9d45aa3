// AtomicOutputFile: a buffered, streaming writer that creates `<path>.tmp.<pid>.<n>` beside the destination
// and renames it over `path` only in commit(). Used by the GGUF and safetensors writers, whose outputs can be
// many GB: tensor bytes are streamed through, never assembled in memory. If commit() is not reached (an
// exception, an I/O error), the destructor removes the temporary file and the destination is left untouched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace r1 {

class AtomicOutputFile {
  public:
    explicit AtomicOutputFile(
        const std::string& path);  // throws r1::Error if the temp file cannot be created
    ~AtomicOutputFile();
    AtomicOutputFile(const AtomicOutputFile&) = delete;
    AtomicOutputFile& operator=(const AtomicOutputFile&) = delete;

    void write(const void* data, size_t n);
    void write_zeros(size_t n);
    uint64_t bytes_written() const { return written_; }
    // Flushes, fsyncs, closes and renames onto the destination; throws r1::Error on failure.
    void commit();

    const std::string& path() const { return path_; }

  private:
    void flush_buffer();
    void write_all(const uint8_t* p, size_t n);
    [[noreturn]] void fail_io(const char* what);

    std::string path_, tmp_path_;
    int fd_ = -1;
    std::vector<uint8_t> buf_;
    size_t used_ = 0;
    uint64_t written_ = 0;
    bool committed_ = false;
};

}  // namespace r1
