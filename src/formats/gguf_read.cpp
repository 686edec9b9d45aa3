// GGUF reader: maps the file, walks the header once with a bounds-checked cursor, validates every field and
// builds zero-copy TensorRefs into the mapping. Layout and the list of checks: gguf.h.
//
// Hostile-input rule: every count read from the file is checked against the bytes that remain before anything
// is allocated for it (a metadata entry needs >= 13 bytes, a string >= 8, a tensor info >= 24), so a forged
// count fails with an error instead of a huge allocation.
#include <algorithm>
#include <bit>
#include <cstring>
#include <unordered_set>

#include "base/error.h"
#include "formats/gguf.h"

namespace r1::gguf {

static_assert(std::endian::native == std::endian::little, "the GGUF reader assumes a little-endian host");

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr size_t kMaxNameBytes = 63;     // ggml's GGML_MAX_NAME (64) includes the NUL
constexpr int kMaxDims = 4;
constexpr size_t kMinKvBytes = 8 + 4 + 1;              // empty key + type + the smallest value
constexpr size_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // empty name + n_dims + type + offset

bool is_valid_type(int32_t t) {
    return t >= 0 && t <= static_cast<int32_t>(Type::F64);
}
template <typename T>
T load(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// ggml type names for messages, including ids r1.cpp cannot read (facts from ggml.h's enum ggml_type).
const char* ggml_type_label(int32_t id, bool* removed) {
    *removed = false;
    switch (id) {
        case 4:
            *removed = true;
            return "q4_2";
        case 5:
            *removed = true;
            return "q4_3";
        case 16:
            return "iq2_xxs";
        case 17:
            return "iq2_xs";
        case 18:
            return "iq3_xxs";
        case 19:
            return "iq1_s";
        case 21:
            return "iq3_s";
        case 22:
            return "iq2_s";
        case 23:
            return "iq4_xs";
        case 29:
            return "iq1_m";
        case 31:
            *removed = true;
            return "q4_0_4_4";
        case 32:
            *removed = true;
            return "q4_0_4_8";
        case 33:
            *removed = true;
            return "q4_0_8_8";
        case 34:
            return "tq1_0";
        case 35:
            return "tq2_0";
        case 36:
            *removed = true;
            return "iq4_nl_4_4";
        case 37:
            *removed = true;
            return "iq4_nl_4_8";
        case 38:
            *removed = true;
            return "iq4_nl_8_8";
        case 39:
            return "mxfp4";
        case 40:
            return "nvfp4";
        default:
            return nullptr;
    }
}

bool is_gguf_dtype(int32_t id) {
    return id != static_cast<int32_t>(DType::F8_E4M3) && dtype_info_or_null(id) != nullptr;
}

std::string supported_ggml_types() {
    std::string s;
    for (int32_t id = 0; id < 64; id++) {
        if (!is_gguf_dtype(id)) continue;
        if (!s.empty()) s += ", ";
        s += dtype_info_or_null(id)->name;
    }
    return s;
}

}  // namespace

// Parses one mapped file into a File. One object per open(); `pos_` walks the header.
bool is_ggml_dtype(DType t) {
    return is_gguf_dtype(static_cast<int32_t>(t));
}

class Parser {
  public:
    explicit Parser(File& f) : f_(f), base_(f.map_.data()), size_(f.map_.size()) {}

    void parse() {
        read_preamble();
        read_metadata();
        resolve_alignment();
        read_tensor_infos();
        place_tensors();
        for (size_t i = 0; i < f_.kv_.size(); i++) f_.kv_index_.emplace(f_.kv_[i].first, i);
        for (size_t i = 0; i < f_.tensors_.size(); i++) f_.tensor_index_.emplace(f_.tensors_[i].name, i);
    }

  private:
    struct RawInfo {
        std::string_view name;
        uint32_t n_dims;
        int64_t ne[kMaxDims];  // innermost-first, 1 past n_dims
        int32_t type;
        uint64_t offset;
    };

    [[noreturn]] void bad(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
        va_list ap;
        va_start(ap, fmt);
        std::string msg = vstrfmt(fmt, ap);
        va_end(ap);
        throw Error(f_.map_.path() + ": " + msg);
    }

    size_t remaining() const { return size_ - pos_; }

    // Fails with "truncated" naming what was being read and where.
    void need(size_t n, const std::string& what) {
        if (n > remaining())
            bad("file is truncated: %s needs %zu bytes at offset %zu but the file has %zu bytes",
                what.c_str(), n, pos_, size_);
    }

    template <typename T>
    T read(const std::string& what) {
        need(sizeof(T), what);
        T v = load<T>(base_ + pos_);
        pos_ += sizeof(T);
        return v;
    }

    std::string_view read_string(const std::string& what) {
        uint64_t len = read<uint64_t>("the length of " + what);
        if (len > remaining())
            bad("%s has length %llu at offset %zu, but only %zu bytes remain in the file (%zu bytes)",
                what.c_str(), static_cast<unsigned long long>(len), pos_ - 8, remaining(), size_);
        std::string_view s(reinterpret_cast<const char*>(base_ + pos_), static_cast<size_t>(len));
        pos_ += static_cast<size_t>(len);
        return s;
    }

    void read_preamble() {
        if (size_ < 4) bad("not a GGUF file (%zu bytes, too short for the 4-byte magic)", size_);
        uint32_t magic = load<uint32_t>(base_);
        if (magic != kMagic) {
            std::string shown;
            for (int k = 0; k < 4; k++) {
                uint8_t c = base_[k];
                shown +=
                    (c >= 0x20 && c < 0x7f) ? std::string(1, static_cast<char>(c)) : strfmt("\\x%02x", c);
            }
            bad("not a GGUF file (magic is '%s', expected 'GGUF')", shown.c_str());
        }
        pos_ = 4;
        uint32_t version = read<uint32_t>("the version");
        if (version == 1)
            bad("GGUF version 1 is no longer supported (it predates 64-bit counts); re-convert the model "
                "with a "
                "current llama.cpp");
        if (version != 2 && version != 3) {
            uint32_t swapped = __builtin_bswap32(version);
            if (swapped >= 1 && swapped <= 3)
                bad("GGUF version %u read as %u: this looks like a big-endian GGUF file, which is not "
                    "supported",
                    swapped, version);
            bad("unsupported GGUF version %u (supported: 2, 3)", version);
        }
        f_.version_ = version;
        n_tensors_ = read<int64_t>("the tensor count");
        n_kv_ = read<int64_t>("the metadata count");
        if (n_tensors_ < 0 || static_cast<uint64_t>(n_tensors_) > remaining() / kMinTensorInfoBytes)
            bad("header says %lld tensors, which cannot fit in the %zu bytes after the header (each tensor "
                "info "
                "needs at least %zu bytes)",
                static_cast<long long>(n_tensors_), remaining(), kMinTensorInfoBytes);
        if (n_kv_ < 0 || static_cast<uint64_t>(n_kv_) > remaining() / kMinKvBytes)
            bad("header says %lld metadata entries, which cannot fit in the %zu bytes after the header (each "
                "needs at least %zu bytes)",
                static_cast<long long>(n_kv_), remaining(), kMinKvBytes);
    }

    void read_metadata() {
        f_.kv_.reserve(static_cast<size_t>(n_kv_));
        std::unordered_set<std::string_view> seen;
        for (int64_t k = 0; k < n_kv_; k++) {
            std::string label = strfmt("the key of metadata entry %lld", static_cast<long long>(k));
            std::string_view key = read_string(label);
            if (key.empty()) bad("metadata entry %lld has an empty key", static_cast<long long>(k));
            std::string key_s(key);
            if (!seen.insert(key).second) bad("duplicate metadata key '%s'", key_s.c_str());
            int32_t type = read<int32_t>("the type of metadata key '" + key_s + "'");
            Value v = read_value(key_s, type);
            f_.kv_.emplace_back(std::move(key_s), std::move(v));
        }
    }

    Value read_value(const std::string& key, int32_t type_id) {
        if (!is_valid_type(type_id))
            bad("metadata key '%s' has unknown value type %d (expected 0..12)", key.c_str(), type_id);
        Value v;
        v.type = static_cast<Type>(type_id);
        const std::string what = "the value of metadata key '" + key + "'";
        switch (v.type) {
            case Type::U8:
                v.u = read<uint8_t>(what);
                break;
            case Type::I8:
                v.i = read<int8_t>(what);
                break;
            case Type::U16:
                v.u = read<uint16_t>(what);
                break;
            case Type::I16:
                v.i = read<int16_t>(what);
                break;
            case Type::U32:
                v.u = read<uint32_t>(what);
                break;
            case Type::I32:
                v.i = read<int32_t>(what);
                break;
            case Type::U64:
                v.u = read<uint64_t>(what);
                break;
            case Type::I64:
                v.i = read<int64_t>(what);
                break;
            case Type::F32:
                v.f = read<float>(what);
                break;
            case Type::F64:
                v.f = read<double>(what);
                break;
            case Type::BOOL: {
                uint8_t b = read<uint8_t>(what);
                if (b > 1)
                    bad("metadata key '%s' is a bool with byte value %u (expected 0 or 1)", key.c_str(), b);
                v.u = b;
                break;
            }
            case Type::STRING:
                v.str = read_string(what);
                break;
            case Type::ARRAY:
                read_array(key, v);
                break;
        }
        return v;
    }

    void read_array(const std::string& key, Value& v) {
        int32_t elem = read<int32_t>("the element type of array '" + key + "'");
        if (!is_valid_type(elem))
            bad("metadata key '%s' is an array of unknown element type %d (expected 0..12)", key.c_str(),
                elem);
        if (elem == static_cast<int32_t>(Type::ARRAY))
            bad("metadata key '%s' is an array of arrays, which GGUF readers do not support", key.c_str());
        v.elem_type = static_cast<Type>(elem);
        v.count = read<uint64_t>("the element count of array '" + key + "'");
        if (v.elem_type == Type::STRING) {
            if (v.count > remaining() / 8)
                bad("metadata key '%s' says it has %llu strings, but only %zu bytes remain in the file (each "
                    "string needs at least 8)",
                    key.c_str(), static_cast<unsigned long long>(v.count), remaining());
            v.strings.reserve(static_cast<size_t>(v.count));
            for (uint64_t j = 0; j < v.count; j++) {
                // Inline fast path (vocabularies have ~10^5 strings); the labelled read_string only on
                // failure.
                if (remaining() >= 8) {
                    uint64_t len = load<uint64_t>(base_ + pos_);
                    if (len <= remaining() - 8) {
                        v.strings.emplace_back(reinterpret_cast<const char*>(base_ + pos_ + 8), len);
                        pos_ += 8 + static_cast<size_t>(len);
                        continue;
                    }
                }
                read_string(
                    strfmt("string %llu of array '%s'", static_cast<unsigned long long>(j), key.c_str()));
                R1_ASSERT(false, "read_string should have failed");
            }
            return;
        }
        size_t elem_size = type_size(v.elem_type);
        if (v.count > remaining() / elem_size)
            bad("file is truncated or corrupted: metadata key '%s' is an array of %llu %s (%llu bytes) but "
                "only "
                "%zu bytes remain",
                key.c_str(), static_cast<unsigned long long>(v.count), type_name(v.elem_type),
                static_cast<unsigned long long>(v.count) * elem_size, remaining());
        v.raw = base_ + pos_;
        size_t nbytes = static_cast<size_t>(v.count) * elem_size;
        if (v.elem_type == Type::BOOL) {
            for (size_t j = 0; j < nbytes; j++)
                if (v.raw[j] > 1)
                    bad("metadata key '%s': bool element %zu has byte value %u (expected 0 or 1)",
                        key.c_str(), j, v.raw[j]);
        }
        pos_ += nbytes;
    }

    void resolve_alignment() {
        for (const auto& [key, v] : f_.kv_) {
            if (key != "general.alignment") continue;
            if (v.type != Type::U32)
                bad("metadata key 'general.alignment' has type %s, expected u32", type_name(v.type));
            if (v.u == 0 || (v.u & (v.u - 1)) != 0)
                bad("metadata key 'general.alignment' is %llu, expected a power of two",
                    static_cast<unsigned long long>(v.u));
            f_.alignment_ = static_cast<size_t>(v.u);
        }
    }

    void read_tensor_infos() {
        infos_.reserve(static_cast<size_t>(n_tensors_));
        std::unordered_set<std::string_view> seen;
        for (int64_t t = 0; t < n_tensors_; t++) {
            RawInfo info{};
            info.name = read_string(strfmt("the name of tensor %lld", static_cast<long long>(t)));
            std::string name(info.name);
            if (name.empty()) bad("tensor %lld has an empty name", static_cast<long long>(t));
            if (name.size() > kMaxNameBytes)
                bad("tensor %lld has a %zu-byte name '%.40s...' (at most %zu bytes are allowed)",
                    static_cast<long long>(t), name.size(), name.c_str(), kMaxNameBytes);
            if (!seen.insert(info.name).second) bad("duplicate tensor name '%s'", name.c_str());
            info.n_dims = read<uint32_t>("the dimension count of tensor '" + name + "'");
            if (info.n_dims > kMaxDims)
                bad("tensor '%s' has %u dimensions (at most %d are supported)", name.c_str(), info.n_dims,
                    kMaxDims);
            for (int d = 0; d < kMaxDims; d++) info.ne[d] = 1;
            for (uint32_t d = 0; d < info.n_dims; d++) {
                info.ne[d] = read<int64_t>("the shape of tensor '" + name + "'");
                if (info.ne[d] < 0)
                    bad("tensor '%s' has negative size %lld in dimension %u (ne[%u])", name.c_str(),
                        static_cast<long long>(info.ne[d]), d, d);
            }
            info.type = read<int32_t>("the type of tensor '" + name + "'");
            info.offset = read<uint64_t>("the offset of tensor '" + name + "'");
            infos_.push_back(info);
        }
        header_end_ = pos_;
    }

    // Validates each tensor's type, size and placement, then builds the TensorRefs.
    void place_tensors() {
        const size_t align = f_.alignment_;
        if (n_tensors_ > 0) {
            size_t start = (header_end_ + align - 1) / align * align;  // header_end_ <= size_, no overflow
            if (start < header_end_ || start > size_)
                bad("file is truncated: the tensor data should start at byte %zu (the header ends at %zu, "
                    "padded "
                    "to the alignment %zu) but the file has %zu bytes",
                    start, header_end_, align, size_);
            f_.data_offset_ = start;
        } else {
            f_.data_offset_ = std::min(size_, (header_end_ + align - 1) / align * align);
        }
        f_.tensors_.reserve(infos_.size());
        for (const RawInfo& info : infos_) {
            std::string name(info.name);
            DType type = check_type(name, info.type);
            const DTypeInfo& ti = dtype_info(type);

            std::vector<int64_t> shape(info.ne, info.ne + info.n_dims);
            std::reverse(shape.begin(), shape.end());  // ne[] is innermost-first
            int64_t numel = 1;
            for (int d = 0; d < kMaxDims; d++)
                if (__builtin_mul_overflow(numel, info.ne[d], &numel))
                    bad("tensor '%s' with shape %s has more than 2^63 elements", name.c_str(),
                        shape_str(shape).c_str());
            if (info.ne[0] % ti.block_size != 0)
                bad("tensor '%s' (%s, shape %s) has rows of %lld elements, which is not a multiple of the %s "
                    "block "
                    "size %d",
                    name.c_str(), ti.name, shape_str(shape).c_str(), static_cast<long long>(info.ne[0]),
                    ti.name, ti.block_size);
            // nbytes = (ne0 / block) * block_bytes * ne1 * ne2 * ne3
            uint64_t nbytes = static_cast<uint64_t>(info.ne[0] / ti.block_size);
            bool overflow = __builtin_mul_overflow(nbytes, static_cast<uint64_t>(ti.block_bytes), &nbytes);
            for (int d = 1; d < kMaxDims; d++)
                overflow |= __builtin_mul_overflow(nbytes, static_cast<uint64_t>(info.ne[d]), &nbytes);
            if (overflow)
                bad("tensor '%s' with shape %s (%s) has more than 2^64 bytes", name.c_str(),
                    shape_str(shape).c_str(), ti.name);

            if (info.offset % align != 0)
                bad("tensor '%s' has offset %llu, which is not a multiple of the alignment %zu", name.c_str(),
                    static_cast<unsigned long long>(info.offset), align);
            uint64_t begin = 0, end = 0;  // absolute file offsets
            if (__builtin_add_overflow(static_cast<uint64_t>(f_.data_offset_), info.offset, &begin) ||
                __builtin_add_overflow(begin, nbytes, &end))
                bad("file is truncated or corrupted: tensor '%s' has offset %llu and %llu bytes, past the "
                    "end of "
                    "the %zu-byte file",
                    name.c_str(), static_cast<unsigned long long>(info.offset),
                    static_cast<unsigned long long>(nbytes), size_);
            if (end > size_)
                bad("file is truncated or corrupted: tensor '%s' needs bytes [%llu, %llu) but the file has "
                    "%zu "
                    "bytes",
                    name.c_str(), static_cast<unsigned long long>(begin),
                    static_cast<unsigned long long>(end), size_);

            TensorRef ref;
            ref.name = std::move(name);
            ref.type = type;
            ref.shape = std::move(shape);
            ref.data = base_ + f_.data_offset_ + info.offset;
            ref.nbytes = static_cast<size_t>(nbytes);
            f_.tensors_.push_back(std::move(ref));
            f_.data_size_ = std::max<uint64_t>(f_.data_size_, info.offset + nbytes);
        }
        check_overlaps();
    }

    DType check_type(const std::string& name, int32_t id) {
        if (is_gguf_dtype(id)) return static_cast<DType>(id);
        bool removed = false;
        const char* label = ggml_type_label(id, &removed);
        if (label && removed)
            bad("tensor '%s' has ggml type %d (%s), which was removed from ggml; re-convert the model "
                "(supported: "
                "%s)",
                name.c_str(), id, label, supported_ggml_types().c_str());
        if (label)
            bad("tensor '%s' has ggml type %d (%s), which r1.cpp does not support (supported: %s)",
                name.c_str(), id, label, supported_ggml_types().c_str());
        bad("tensor '%s' has unknown ggml type %d (supported: %s)", name.c_str(), id,
            supported_ggml_types().c_str());
    }

    void check_overlaps() {
        std::vector<const TensorRef*> by_offset;
        for (const TensorRef& t : f_.tensors_)
            if (t.nbytes > 0) by_offset.push_back(&t);
        std::sort(by_offset.begin(), by_offset.end(),
                  [](const TensorRef* a, const TensorRef* b) { return a->data < b->data; });
        for (size_t k = 1; k < by_offset.size(); k++) {
            const TensorRef* prev = by_offset[k - 1];
            const TensorRef* cur = by_offset[k];
            if (prev->data + prev->nbytes > cur->data) {
                auto off = [&](const TensorRef* t) {
                    return static_cast<unsigned long long>(t->data - base_ - f_.data_offset_);
                };
                bad("tensors '%s' (data bytes [%llu, %llu)) and '%s' (bytes [%llu, %llu)) overlap",
                    prev->name.c_str(), off(prev), off(prev) + prev->nbytes, cur->name.c_str(), off(cur),
                    off(cur) + cur->nbytes);
            }
        }
    }

    File& f_;
    const uint8_t* base_;
    size_t size_;
    size_t pos_ = 0;
    int64_t n_tensors_ = 0, n_kv_ = 0;
    size_t header_end_ = 0;
    std::vector<RawInfo> infos_;
};

std::unique_ptr<File> File::open(const std::string& path) {
    std::unique_ptr<File> f(new File());
    f->map_ = MappedFile(path);
    Parser(*f).parse();
    return f;
}

const std::string& File::path() const {
    return map_.path();
}

const Value* File::find(std::string_view key) const {
    auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const TensorRef* File::find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

// ---- typed getters
// ---------------------------------------------------------------------------------------------

namespace {

[[noreturn]] void wrong_type(const File& f, std::string_view key, const Value& v, const char* expected) {
    std::string found =
        v.type == Type::ARRAY ? strfmt("array of %s", type_name(v.elem_type)) : type_name(v.type);
    fail("%s: metadata key '%.*s' has type %s, expected %s", f.path().c_str(), static_cast<int>(key.size()),
         key.data(), found.c_str(), expected);
}

[[noreturn]] void missing(const File& f, std::string_view key) {
    fail("missing metadata key '%.*s' in %s", static_cast<int>(key.size()), key.data(), f.path().c_str());
}

int64_t scalar_as_int(const File& f, std::string_view key, const Value& v) {
    if (v.type == Type::U64 && v.u > static_cast<uint64_t>(INT64_MAX))
        fail("%s: metadata key '%.*s' is %llu, which does not fit in a signed 64-bit integer",
             f.path().c_str(), static_cast<int>(key.size()), key.data(),
             static_cast<unsigned long long>(v.u));
    return is_unsigned_type(v.type) ? static_cast<int64_t>(v.u) : v.i;
}

}  // namespace

std::optional<int64_t> File::get_int(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return std::nullopt;
    if (!is_integer_type(v->type)) wrong_type(*this, key, *v, "an integer");
    return scalar_as_int(*this, key, *v);
}

std::optional<double> File::get_float(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return std::nullopt;
    if (is_float_type(v->type)) return v->f;
    if (is_integer_type(v->type))
        return is_unsigned_type(v->type) ? static_cast<double>(v->u) : static_cast<double>(v->i);
    wrong_type(*this, key, *v, "a number");
}

std::optional<bool> File::get_bool(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != Type::BOOL) wrong_type(*this, key, *v, "bool");
    return v->u != 0;
}

std::optional<std::string> File::get_string(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != Type::STRING) wrong_type(*this, key, *v, "string");
    return std::string(v->str);
}

std::vector<std::string_view> File::get_string_array(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return {};
    if (v->type != Type::ARRAY || v->elem_type != Type::STRING) wrong_type(*this, key, *v, "array of string");
    return v->strings;
}

std::vector<int64_t> File::get_int_array(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return {};
    if (v->type != Type::ARRAY || !is_integer_type(v->elem_type))
        wrong_type(*this, key, *v, "array of integers");
    std::vector<int64_t> out(static_cast<size_t>(v->count));
    for (uint64_t i = 0; i < v->count; i++) {
        if (v->elem_type == Type::U64 && array_uint(*v, i) > static_cast<uint64_t>(INT64_MAX))
            fail("%s: metadata key '%.*s' element %llu does not fit in a signed 64-bit integer",
                 path().c_str(), static_cast<int>(key.size()), key.data(),
                 static_cast<unsigned long long>(i));
        out[i] = array_int(*v, i);
    }
    return out;
}

std::vector<float> File::get_float_array(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return {};
    if (v->type != Type::ARRAY || !(is_float_type(v->elem_type) || is_integer_type(v->elem_type)))
        wrong_type(*this, key, *v, "array of numbers");
    std::vector<float> out(static_cast<size_t>(v->count));
    for (uint64_t i = 0; i < v->count; i++) out[i] = static_cast<float>(array_float(*v, i));
    return out;
}

int64_t File::require_int(std::string_view key) const {
    if (auto v = get_int(key)) return *v;
    missing(*this, key);
}

double File::require_float(std::string_view key) const {
    if (auto v = get_float(key)) return *v;
    missing(*this, key);
}

std::string File::require_string(std::string_view key) const {
    if (auto v = get_string(key)) return *v;
    missing(*this, key);
}

}  // namespace r1::gguf
