// safetensors reader (mmap, validated) and writer, plus sharded checkpoints (model.safetensors.index.json).
//
// Byte layout: u64 N (little-endian) | N bytes of UTF-8 JSON header (may end with spaces) | byte buffer.
//   header = { "<name>": {"dtype": "F32|F16|BF16|F8_E4M3|I64|...", "shape": [..], "data_offsets": [begin,
//   end]},
//              "__metadata__": {str: str} (optional) }
// Offsets are relative to the buffer; data is row-major little-endian. Validated on open: header length
// within the file (and at most 100 MB), valid JSON object, known dtype, shape x dtype size == end - begin,
// offsets in bounds, no overlaps, no duplicate names. Failures throw r1::Error naming the file and tensor.
// Tensor data is not necessarily aligned (N is arbitrary in files from other writers); read it with
// memcpy-safe code. Our writer pads N to a multiple of 8 and orders tensors by element size, so every tensor
// it writes is aligned to its element size.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
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
    size_t data_offset() const { return data_offset_; }  // start of the byte buffer in the file (8 + N)
    const MappedFile& mapping() const { return map_; }

  private:
    File() = default;
    MappedFile map_;
    size_t data_offset_ = 0;
    std::vector<TensorRef> tensors_;
    std::map<std::string, std::string> metadata_;
    // name -> position in tensors_ (the views point into tensors_, which does not change after open()).
    std::unordered_map<std::string_view, size_t> index_;
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
    // The shard files, sorted by file name (one for a single-file checkpoint).
    const std::vector<std::unique_ptr<File>>& shards() const { return shards_; }
    // The shard holding a tensor returned by find_tensor() / tensors().
    const File& shard_of(const TensorRef* t) const;
    // The index file used, or "" for a single-file checkpoint.
    const std::string& index_path() const { return index_path_; }

  private:
    std::string dir_, index_path_;
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
    // Keeps the pointer instead of copying; it must stay valid until write().
    void add_tensor_view(const std::string& name, DType type, const std::vector<int64_t>& shape,
                         const void* data, size_t nbytes);
    // Writes atomically (temporary file + rename), streaming the tensor bytes; throws r1::Error.
    void write(const std::string& path) const;

  private:
    void add(const std::string& name, DType type, const std::vector<int64_t>& shape, const void* data,
             size_t nbytes, bool copy);
    struct Entry {
        std::string name;
        DType type;
        std::vector<int64_t> shape;
        std::vector<uint8_t> bytes;     // add_tensor's copy
        const uint8_t* view = nullptr;  // add_tensor_view's pointer (then `bytes` is empty)
        size_t nbytes = 0;
    };
    std::vector<Entry> entries_;
    std::map<std::string, std::string> metadata_;
    std::set<std::string, std::less<>> names_;  // for the duplicate check
};

}  // namespace r1::safetensors
