// GGUF v3 writer. Metadata is kept in memory (it is small); tensor bytes are streamed from the caller's
// buffers (or our copies) straight into a temporary file that is renamed over the destination at the end, so
// writing a multi-GB model needs no second copy in memory and never leaves a half-written file behind.
//
// Layout written: header | metadata | tensor infos | zeros to ALIGN | tensor 0 | zeros to ALIGN | tensor 1 |
// ... Each tensor's offset is the sum of the padded sizes before it (the layout ggml itself requires), and
// the last tensor is padded too, as ggml does.
#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "base/error.h"
#include "base/progress.h"
#include "formats/gguf.h"
#include "formats/output_file.h"

namespace r1::gguf {
namespace {

constexpr uint32_t kVersion = 3;
constexpr size_t kDefaultAlignment = 32;
constexpr size_t kMaxNameBytes = 63;
constexpr uint64_t kProgressMinBytes = 64ull
                                       << 20;  // show a progress bar when writing at least this much data

// A metadata value that owns its storage (Value's views point into it only transiently, never outside).
struct StoredValue {
    Type type = Type::U8;
    Type elem_type = Type::U8;
    uint64_t count = 0;
    uint64_t u = 0;
    int64_t i = 0;
    double f = 0;
    std::string str;
    std::vector<std::string> strings;
    std::vector<uint8_t> raw;  // packed little-endian numeric elements
};

struct StoredTensor {
    std::string name;
    DType type;
    std::vector<int64_t> shape;  // outermost-first
    std::vector<uint8_t> owned;  // add_tensor's copy (empty for views)
    const uint8_t* data;
    size_t nbytes;
    Writer::TensorProducer produce;  // add_tensor_producer: bytes computed during write()
};

size_t pad_to(size_t n, size_t align) {
    return (n + align - 1) / align * align;
}

// Little-endian serialisation into a byte vector (the header part of the file).
struct Bytes {
    std::vector<uint8_t> b;
    template <typename T>
    void put(T v) {
        uint8_t tmp[sizeof(T)];
        std::memcpy(tmp, &v, sizeof(T));
        b.insert(b.end(), tmp, tmp + sizeof(T));
    }
    void put_string(std::string_view s) {
        put<uint64_t>(s.size());
        b.insert(b.end(), s.begin(), s.end());
    }
    void put_raw(const uint8_t* p, size_t n) { b.insert(b.end(), p, p + n); }
};

void put_scalar(Bytes& out, const StoredValue& v) {
    switch (v.type) {
        case Type::U8:
            out.put<uint8_t>(static_cast<uint8_t>(v.u));
            break;
        case Type::I8:
            out.put<int8_t>(static_cast<int8_t>(v.i));
            break;
        case Type::U16:
            out.put<uint16_t>(static_cast<uint16_t>(v.u));
            break;
        case Type::I16:
            out.put<int16_t>(static_cast<int16_t>(v.i));
            break;
        case Type::U32:
            out.put<uint32_t>(static_cast<uint32_t>(v.u));
            break;
        case Type::I32:
            out.put<int32_t>(static_cast<int32_t>(v.i));
            break;
        case Type::U64:
            out.put<uint64_t>(v.u);
            break;
        case Type::I64:
            out.put<int64_t>(v.i);
            break;
        case Type::F32:
            out.put<float>(static_cast<float>(v.f));
            break;
        case Type::F64:
            out.put<double>(v.f);
            break;
        case Type::BOOL:
            out.put<uint8_t>(v.u ? 1 : 0);
            break;
        case Type::STRING:
            out.put_string(v.str);
            break;
        case Type::ARRAY:
            out.put<int32_t>(static_cast<int32_t>(v.elem_type));
            out.put<uint64_t>(v.count);
            if (v.elem_type == Type::STRING)
                for (const std::string& s : v.strings) out.put_string(s);
            else
                out.put_raw(v.raw.data(), v.raw.size());
            break;
    }
}

}  // namespace

struct Writer::Impl {
    std::vector<std::pair<std::string, StoredValue>> kv;  // insertion order
    std::vector<StoredTensor> tensors;
    std::unordered_set<std::string> tensor_names;

    void set(const std::string& key, StoredValue v) {
        if (key.empty()) fail("GGUF writer: metadata keys must not be empty");
        for (auto& [k, old] : kv) {
            if (k == key) {
                old = std::move(v);
                return;
            }
        }
        kv.emplace_back(key, std::move(v));
    }

    void add(const std::string& name, DType type, const std::vector<int64_t>& shape, const void* data,
             size_t nbytes, bool copy, Writer::TensorProducer produce = {}) {
        if (name.empty()) fail("GGUF writer: tensor names must not be empty");
        if (name.size() > kMaxNameBytes)
            fail("GGUF writer: tensor name '%s' is %zu bytes long (GGUF allows at most %zu)", name.c_str(),
                 name.size(), kMaxNameBytes);
        if (!is_ggml_dtype(type))
            fail("GGUF writer: tensor '%s' has type %s, which has no ggml type id (convert it first)",
                 name.c_str(), dtype_name(type));
        if (shape.size() > 4)
            fail("GGUF writer: tensor '%s' has %zu dimensions (GGUF allows at most 4)", name.c_str(),
                 shape.size());
        const DTypeInfo& ti = dtype_info(type);
        int64_t numel = 1;
        for (int64_t d : shape) {
            if (d < 0)
                fail("GGUF writer: tensor '%s' has a negative dimension in %s", name.c_str(),
                     shape_str(shape).c_str());
            if (__builtin_mul_overflow(numel, d, &numel))
                fail("GGUF writer: tensor '%s' shape %s overflows", name.c_str(), shape_str(shape).c_str());
        }
        const int64_t cols = shape.empty() ? 1 : shape.back();
        if (cols % ti.block_size != 0)
            fail(
                "GGUF writer: tensor '%s' (%s) has rows of %lld elements, not a multiple of the block size "
                "%d",
                name.c_str(), ti.name, static_cast<long long>(cols), ti.block_size);
        const uint64_t expected =
            cols == 0 ? 0 : static_cast<uint64_t>(numel / cols) * (cols / ti.block_size) * ti.block_bytes;
        if (expected != nbytes)
            fail("GGUF writer: tensor '%s' (%s, shape %s) needs %llu bytes but %zu were given", name.c_str(),
                 ti.name, shape_str(shape).c_str(), static_cast<unsigned long long>(expected), nbytes);
        if (nbytes > 0 && data == nullptr && !produce)
            fail("GGUF writer: tensor '%s' has no data", name.c_str());
        if (!tensor_names.insert(name).second) fail("GGUF writer: duplicate tensor name '%s'", name.c_str());

        StoredTensor t{name, type, shape, {}, static_cast<const uint8_t*>(data), nbytes, std::move(produce)};
        if (copy) {
            t.owned.assign(t.data, t.data + nbytes);
            t.data = t.owned.data();
        }
        tensors.push_back(std::move(t));
    }

    size_t alignment() const {
        for (const auto& [k, v] : kv) {
            if (k != "general.alignment") continue;
            if (v.type != Type::U32)
                fail("GGUF writer: 'general.alignment' must be a u32, got %s", type_name(v.type));
            if (v.u == 0 || (v.u & (v.u - 1)) != 0)
                fail("GGUF writer: 'general.alignment' must be a power of two, got %llu",
                     static_cast<unsigned long long>(v.u));
            return static_cast<size_t>(v.u);
        }
        return kDefaultAlignment;
    }
};

Writer::Writer() : impl_(std::make_unique<Impl>()) {}
Writer::~Writer() = default;

namespace {
StoredValue scalar(Type t) {
    StoredValue v;
    v.type = t;
    return v;
}
}  // namespace

void Writer::set_u8(const std::string& key, uint8_t v) {
    StoredValue s = scalar(Type::U8);
    s.u = v;
    impl_->set(key, std::move(s));
}
void Writer::set_u32(const std::string& key, uint32_t v) {
    StoredValue s = scalar(Type::U32);
    s.u = v;
    impl_->set(key, std::move(s));
}
void Writer::set_i32(const std::string& key, int32_t v) {
    StoredValue s = scalar(Type::I32);
    s.i = v;
    impl_->set(key, std::move(s));
}
void Writer::set_u64(const std::string& key, uint64_t v) {
    StoredValue s = scalar(Type::U64);
    s.u = v;
    impl_->set(key, std::move(s));
}
void Writer::set_i64(const std::string& key, int64_t v) {
    StoredValue s = scalar(Type::I64);
    s.i = v;
    impl_->set(key, std::move(s));
}
void Writer::set_f32(const std::string& key, float v) {
    StoredValue s = scalar(Type::F32);
    s.f = v;
    impl_->set(key, std::move(s));
}
void Writer::set_f64(const std::string& key, double v) {
    StoredValue s = scalar(Type::F64);
    s.f = v;
    impl_->set(key, std::move(s));
}
void Writer::set_bool(const std::string& key, bool v) {
    StoredValue s = scalar(Type::BOOL);
    s.u = v ? 1 : 0;
    impl_->set(key, std::move(s));
}
void Writer::set_string(const std::string& key, const std::string& v) {
    StoredValue s = scalar(Type::STRING);
    s.str = v;
    impl_->set(key, std::move(s));
}
void Writer::set_string_array(const std::string& key, const std::vector<std::string>& v) {
    StoredValue s = scalar(Type::ARRAY);
    s.elem_type = Type::STRING;
    s.count = v.size();
    s.strings = v;
    impl_->set(key, std::move(s));
}
void Writer::set_i32_array(const std::string& key, const std::vector<int32_t>& v) {
    set_array(key, Type::I32, v.data(), v.size());
}
void Writer::set_f32_array(const std::string& key, const std::vector<float>& v) {
    set_array(key, Type::F32, v.data(), v.size());
}

void Writer::set_array(const std::string& key, Type elem_type, const void* data, uint64_t count) {
    if (elem_type == Type::STRING || elem_type == Type::ARRAY || type_size(elem_type) == 0)
        fail("GGUF writer: set_array('%s') takes numeric or bool elements, not %s", key.c_str(),
             type_name(elem_type));
    StoredValue s = scalar(Type::ARRAY);
    s.elem_type = elem_type;
    s.count = count;
    const uint8_t* p = static_cast<const uint8_t*>(data);
    s.raw.assign(p, p + count * type_size(elem_type));
    if (elem_type == Type::BOOL)
        for (uint8_t& b : s.raw) b = b ? 1 : 0;
    impl_->set(key, std::move(s));
}

void Writer::set_value(const std::string& key, const Value& v) {
    StoredValue s = scalar(v.type);
    switch (v.type) {
        case Type::STRING:
            s.str = std::string(v.str);
            break;
        case Type::ARRAY:
            if (v.elem_type == Type::STRING) {
                R1_ASSERT(v.strings.size() == v.count, "string array '%s' has %zu strings but count %llu",
                          key.c_str(), v.strings.size(), static_cast<unsigned long long>(v.count));
                s.elem_type = Type::STRING;
                s.count = v.count;
                s.strings.assign(v.strings.begin(), v.strings.end());
                break;
            }
            R1_ASSERT(v.count == 0 || v.raw != nullptr, "array '%s' has no element bytes", key.c_str());
            set_array(key, v.elem_type, v.raw, v.count);
            return;
        default:
            s.u = v.u;
            s.i = v.i;
            s.f = v.f;
    }
    impl_->set(key, std::move(s));
}

void Writer::remove(const std::string& key) {
    auto& kv = impl_->kv;
    kv.erase(std::remove_if(kv.begin(), kv.end(), [&](const auto& e) { return e.first == key; }), kv.end());
}

void Writer::add_tensor(const std::string& name, DType type, const std::vector<int64_t>& shape,
                        const void* data, size_t nbytes) {
    impl_->add(name, type, shape, data, nbytes, /*copy=*/true);
}

void Writer::add_tensor_view(const std::string& name, DType type, const std::vector<int64_t>& shape,
                             const void* data, size_t nbytes) {
    impl_->add(name, type, shape, data, nbytes, /*copy=*/false);
}

void Writer::add_tensor_producer(const std::string& name, DType type, const std::vector<int64_t>& shape,
                                 size_t nbytes, TensorProducer produce) {
    if (!produce) fail("GGUF writer: tensor '%s' has an empty producer", name.c_str());
    impl_->add(name, type, shape, nullptr, nbytes, /*copy=*/false, std::move(produce));
}

void Writer::write(const std::string& path) const {
    const size_t align = impl_->alignment();

    Bytes head;
    head.put<uint32_t>(0x46554747);  // "GGUF"
    head.put<uint32_t>(kVersion);
    head.put<int64_t>(static_cast<int64_t>(impl_->tensors.size()));
    head.put<int64_t>(static_cast<int64_t>(impl_->kv.size()));
    for (const auto& [key, v] : impl_->kv) {
        head.put_string(key);
        head.put<int32_t>(static_cast<int32_t>(v.type));
        put_scalar(head, v);
    }
    uint64_t offset = 0;  // relative to the blob
    for (const StoredTensor& t : impl_->tensors) {
        head.put_string(t.name);
        head.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
        for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it)
            head.put<int64_t>(*it);  // ne[] innermost-first
        head.put<int32_t>(static_cast<int32_t>(t.type));
        head.put<uint64_t>(offset);
        offset += pad_to(t.nbytes, align);
    }
    const uint64_t data_bytes = offset;

    AtomicOutputFile out(path);
    out.write(head.b.data(), head.b.size());
    out.write_zeros(pad_to(head.b.size(), align) - head.b.size());

    std::unique_ptr<ProgressBar> bar;
    if (data_bytes >= kProgressMinBytes)
        bar = std::make_unique<ProgressBar>("writing " + path, static_cast<int64_t>(data_bytes >> 20), "MiB");
    uint64_t done = 0;
    for (const StoredTensor& t : impl_->tensors) {
        if (t.produce) {
            size_t produced = 0;
            t.produce([&](const void* p, size_t n) {
                if (n > t.nbytes - produced)
                    fail("GGUF writer: the producer of tensor '%s' gave more than its %zu bytes", t.name.c_str(),
                         t.nbytes);
                out.write(p, n);
                produced += n;
                done += n;
                if (bar) bar->update(static_cast<int64_t>(done >> 20));
            });
            if (produced != t.nbytes)
                fail("GGUF writer: the producer of tensor '%s' gave %zu of its %zu bytes", t.name.c_str(),
                     produced, t.nbytes);
            out.write_zeros(pad_to(t.nbytes, align) - t.nbytes);
            continue;
        }
        // Large tensors go out in 64 MiB slices so the progress bar moves during a single multi-GB tensor.
        constexpr size_t kSlice = 64u << 20;
        for (size_t at = 0; at < t.nbytes; at += kSlice) {
            size_t n = std::min(kSlice, t.nbytes - at);
            out.write(t.data + at, n);
            done += n;
            if (bar) bar->update(static_cast<int64_t>(done >> 20));
        }
        out.write_zeros(pad_to(t.nbytes, align) - t.nbytes);
    }
    out.commit();
    if (bar) bar->finish();
}

}  // namespace r1::gguf
