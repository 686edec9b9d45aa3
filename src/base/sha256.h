// SHA-256 (FIPS 180-4): file digests for test fixtures and model identities (Ollama's `digest`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace r1 {

class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t n);
    std::string hex();  // finalises; the object is spent afterwards

private:
    void block(const uint8_t* p);
    uint32_t h_[8];
    uint8_t buf_[64];
    size_t buf_len_ = 0;
    uint64_t total_ = 0;
};

std::string sha256_hex(const void* data, size_t n);
// Streams the file; throws r1::Error if it cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace r1
