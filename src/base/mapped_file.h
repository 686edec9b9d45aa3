// Read-only memory-mapped file (RAII). Model files are mapped, never copied: tensors are views into the
// mapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace r1 {

class MappedFile {
  public:
    MappedFile() = default;
    // Maps the whole file read-only; throws r1::Error naming the path and the OS error.
    explicit MappedFile(const std::string& path);
    ~MappedFile();
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }

    // Asks the kernel to read the range ahead (MADV_WILLNEED); harmless if it cannot.
    void prefetch(size_t offset, size_t length) const;

  private:
    std::string path_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

// Reads a whole (small) file into a string; throws r1::Error.
std::string read_file(const std::string& path);

// Writes `data` to `path` atomically: a temporary file in the same directory, fsync, then rename.
void write_file_atomic(const std::string& path, const void* data, size_t size);

}  // namespace r1
