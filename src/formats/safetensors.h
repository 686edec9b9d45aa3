// safetensors reader (mmap, validated) and writer, plus sharded checkpoints (model.safetensors.index.json).
//
// Byte layout: u64 N (little-endian) | N bytes of UTF-8 JSON header (may end with spaces) | byte buffer.
//   header = { "<name>": {"dtype": "F32|F16|BF16|F8_E4M3|I64|...", "shape": [..], "data_offsets": [begin,
//   end]},
//              "__metadata__": {str: str} (optional) }
// Offsets are relative to the buffer; data is row-major little-endian. Validated on open: header length
// within the file, valid JSON object, known dtype, shape x dtype size == end - begin, offsets in bounds, no
// overlaps, no duplicate names. Failures throw r1::Error naming the file and tensor.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/mapped_file.h"
#include "tensor/tensor.h"

namespace r1::safetensors {

class File {
  public:
    static std::unique_ptr<File> open(const std::string& path);
    const std::string& path() const { return map_.path(); }
    const std::vector<TensorRef>& tensors() const { return tensors_; }  // header order
    const TensorRef* find_tensor(std::string_view name) const;
    const std::map<std::string, std::string>& metadata() const { return metadata_; }

  private:
    File() = default;
    MappedFile map_;
    std::vector<TensorRef> tensors_;
    std::map<std::string, std::string> metadata_;
    friend struct Parser;
};

// A checkpoint directory or file: one `*.safetensors`, or the shards named by `model.safetensors.index.json`.
class Checkpoint {
  public:
    // `path` is a directory (index.json, else the single *.safetensors in it) or a .safetensors file.
    static std::unique_ptr<Checkpoint> open(const std::string& path);
    const TensorRef* find_tensor(std::string_view name) const;
    std::vector<const TensorRef*> tensors() const;  // all shards, sorted by name
    const std::string& dir() const { return dir_; }

  private:
    std::string dir_;
    std::vector<std::unique_ptr<File>> shards_;
    std::map<std::string, const TensorRef*, std::less<>> by_name_;
};

// dtype name <-> DType ("F32", "F16", "BF16", "F8_E4M3", "I8", "I16", "I32", "I64", "F64").
bool dtype_from_safetensors(std::string_view name, DType* out);
const char* dtype_to_safetensors(DType t);

class Writer {
  public:
    void set_metadata(const std::string& key, const std::string& value);
    // Copies the bytes. `shape` outermost-first; nbytes must match.
    void add_tensor(const std::string& name, DType type, const std::vector<int64_t>& shape, const void* data,
                    size_t nbytes);
    void write(const std::string& path) const;  // atomic

  private:
    struct Entry {
        std::string name;
        DType type;
        std::vector<int64_t> shape;
        std::vector<uint8_t> bytes;
    };
    std::vector<Entry> entries_;
    std::map<std::string, std::string> metadata_;
};

}  // namespace r1::safetensors
