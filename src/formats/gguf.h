// GGUF v3 reader (mmap, zero-copy, validated) and writer.
//
// Byte layout (all little-endian; ggml's gguf.h is the reference):
//   u32 magic "GGUF" | u32 version (2 or 3 accepted for reading; 3 written) | i64 n_tensors | i64 n_kv
//   n_kv      x { string key | i32 type | value }          value of ARRAY = i32 elem_type | u64 count | elems
//   n_tensors x { string name | u32 n_dims | i64 ne[n_dims] | i32 ggml_type | u64 offset }
//   zero padding to ALIGN (general.alignment, a power of two, default 32) | tensor data blob
//   string = u64 length + bytes (no NUL); bool = i8; offsets are relative to the start of the blob.
// ne[] is innermost-first; TensorRef::shape is outermost-first (the reverse).
//
// Everything is validated on open: magic, version, counts against the file size, string lengths, value and
// array types, duplicate keys and tensor names, name length < 64, n_dims <= 4, non-negative dims, row length
// a multiple of the block size, offsets aligned and data inside the file, tensors not overlapping. Failures
// throw r1::Error naming the file, the key or tensor, and what was expected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/mapped_file.h"
#include "tensor/tensor.h"

namespace r1::gguf {

enum class Type : int32_t {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    BOOL = 7,
    STRING = 8,
    ARRAY = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
};
const char* type_name(Type t);
// Bytes of one scalar of type t (1, 2, 4 or 8); 0 for STRING and ARRAY, which have no fixed size.
size_t type_size(Type t);
bool is_integer_type(Type t);   // U8 I8 U16 I16 U32 I32 U64 I64
bool is_unsigned_type(Type t);  // U8 U16 U32 U64 BOOL (stored in Value::u)
bool is_float_type(Type t);     // F32 F64 (stored in Value::f)
// A DType that GGUF can store (has a ggml type id): every DType except the safetensors-only F8_E4M3.
bool is_ggml_dtype(DType t);

// One metadata value. Strings and arrays point into the file mapping (reader) or into the Writer's storage.
struct Value {
    Type type = Type::U8;
    Type elem_type = Type::U8;              // ARRAY only
    uint64_t count = 0;                     // ARRAY only: number of elements
    uint64_t u = 0;                         // unsigned integer and bool scalars
    int64_t i = 0;                          // signed integer scalars
    double f = 0;                           // F32 / F64 scalars
    std::string_view str;                   // STRING
    const uint8_t* raw = nullptr;           // ARRAY of numbers/bools: packed little-endian elements
    std::vector<std::string_view> strings;  // ARRAY of STRING
};

class File {
  public:
    // Maps and validates the file; throws r1::Error.
    static std::unique_ptr<File> open(const std::string& path);

    const std::string& path() const;
    uint32_t version() const { return version_; }
    size_t alignment() const { return alignment_; }
    size_t data_offset() const { return data_offset_; }  // start of the tensor blob in the file
    const MappedFile& mapping() const { return map_; }
    uint64_t file_size() const { return map_.size(); }
    // Bytes of tensor data: from data_offset() to the end of the last tensor (padding between tensors
    // included).
    uint64_t data_size() const { return data_size_; }

    const std::vector<std::pair<std::string, Value>>& kv() const { return kv_; }  // file order
    const Value* find(std::string_view key) const;

    // Typed getters: std::nullopt when the key is absent; r1::Error naming the key when its type does not
    // fit.
    std::optional<int64_t> get_int(std::string_view key) const;   // any integer type (u64 must fit in i64)
    std::optional<double> get_float(std::string_view key) const;  // F32 / F64, or an integer
    std::optional<bool> get_bool(std::string_view key) const;
    std::optional<std::string> get_string(std::string_view key) const;
    // Arrays: empty when absent; r1::Error when present with another element type.
    std::vector<std::string_view> get_string_array(std::string_view key) const;
    std::vector<int64_t> get_int_array(std::string_view key) const;
    std::vector<float> get_float_array(std::string_view key) const;
    // As above but absence is an error: "missing metadata key 'qwen2.block_count' in FILE".
    int64_t require_int(std::string_view key) const;
    double require_float(std::string_view key) const;
    std::string require_string(std::string_view key) const;

    const std::vector<TensorRef>& tensors() const { return tensors_; }  // file order
    const TensorRef* find_tensor(std::string_view name) const;

  private:
    File() = default;
    MappedFile map_;
    uint32_t version_ = 0;
    size_t alignment_ = 32;
    size_t data_offset_ = 0;
    uint64_t data_size_ = 0;
    std::vector<std::pair<std::string, Value>> kv_;
    std::vector<TensorRef> tensors_;
    // Lookup indices; the views point into kv_ keys and tensors_ names, which do not move after open().
    std::unordered_map<std::string_view, size_t> kv_index_, tensor_index_;
    friend class Parser;
};

// Renders a value for `r1 inspect` (long arrays abbreviated: first few elements and the count). Strings are
// quoted and escaped; strings longer than max_chars bytes are cut and their length given.
std::string value_to_string(const Value& v, size_t max_elems = 8, size_t max_chars = SIZE_MAX);

// Element i of a numeric or bool ARRAY value (R1_ASSERTs i < count and a numeric element type).
int64_t array_int(const Value& v, uint64_t i);  // integer and bool elements (u64 above INT64_MAX wraps)
uint64_t array_uint(const Value& v, uint64_t i);
double array_float(const Value& v, uint64_t i);  // any numeric element

// Builds a GGUF v3 file. Keys keep insertion order; setting a key again replaces its value.
class Writer {
  public:
    Writer();
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    void set_u8(const std::string& key, uint8_t v);
    void set_u32(const std::string& key, uint32_t v);
    void set_i32(const std::string& key, int32_t v);
    void set_u64(const std::string& key, uint64_t v);
    void set_i64(const std::string& key, int64_t v);
    void set_f32(const std::string& key, float v);
    void set_f64(const std::string& key, double v);
    void set_bool(const std::string& key, bool v);
    void set_string(const std::string& key, const std::string& v);
    void set_string_array(const std::string& key, const std::vector<std::string>& v);
    void set_i32_array(const std::string& key, const std::vector<int32_t>& v);
    void set_f32_array(const std::string& key, const std::vector<float>& v);
    // Any numeric or bool element type: `count` packed little-endian elements of type_size(elem_type) bytes.
    void set_array(const std::string& key, Type elem_type, const void* data, uint64_t count);
    // Copies a value read from another file (any type, arrays included).
    void set_value(const std::string& key, const Value& v);
    void remove(const std::string& key);

    // Adds a tensor; `shape` is outermost-first and `nbytes` must equal the type's size for that shape.
    // add_tensor copies the bytes; add_tensor_view keeps the pointer, which must stay valid until write().
    void add_tensor(const std::string& name, DType type, const std::vector<int64_t>& shape, const void* data,
                    size_t nbytes);
    void add_tensor_view(const std::string& name, DType type, const std::vector<int64_t>& shape,
                         const void* data, size_t nbytes);
    // A tensor whose bytes are computed during write(): produce(sink) must pass exactly `nbytes` bytes to
    // sink, in order, in any number of pieces (r1::Error otherwise). Lets a converter stream a model tensor
    // by tensor (dequantise, reshape, requantise) without holding it in memory.
    using ByteSink = std::function<void(const void* data, size_t n)>;
    using TensorProducer = std::function<void(const ByteSink& sink)>;
    void add_tensor_producer(const std::string& name, DType type, const std::vector<int64_t>& shape,
                             size_t nbytes, TensorProducer produce);

    // Writes the file atomically (a temporary file beside `path`, then rename). Shows a progress bar for
    // large files. Throws r1::Error on I/O failure; the destination is untouched then.
    void write(const std::string& path) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace r1::gguf
