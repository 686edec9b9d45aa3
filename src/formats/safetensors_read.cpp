// safetensors reader: maps the file, parses the JSON header with nlohmann::json (no exceptions), validates
// every entry and builds zero-copy TensorRefs into the mapping. Layout and checks: safetensors.h.
#include <algorithm>
#include <bit>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "base/error.h"
#include "formats/safetensors.h"

namespace r1::safetensors {

static_assert(std::endian::native == std::endian::little,
              "the safetensors reader assumes a little-endian host");

namespace {

// ordered_json keeps the header's tensor order (nlohmann::json would sort the names).
using json = nlohmann::ordered_json;

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's limit

struct DTypeName {
    const char* name;
    DType type;
};
constexpr DTypeName kDTypes[] = {
    {"F32", DType::F32},         {"F16", DType::F16}, {"BF16", DType::BF16},
    {"F8_E4M3", DType::F8_E4M3}, {"I8", DType::I8},   {"I16", DType::I16},
    {"I32", DType::I32},         {"I64", DType::I64}, {"F64", DType::F64},
};
// Dtypes the safetensors format defines that r1.cpp has no DType for (named in errors, not "unknown").
constexpr const char* kKnownUnsupported[] = {"BOOL",    "U8", "U16", "U32",     "U64",    "F8_E5M2",
                                             "F8_E8M0", "F4", "C64", "F6_E2M3", "F6_E3M2"};

std::string supported_list() {
    std::string s;
    for (const auto& d : kDTypes) s += std::string(s.empty() ? "" : ", ") + d.name;
    return s;
}

}  // namespace

bool dtype_from_safetensors(std::string_view name, DType* out) {
    for (const auto& d : kDTypes) {
        if (name == d.name) {
            *out = d.type;
            return true;
        }
    }
    return false;
}

const char* dtype_to_safetensors(DType t) {
    for (const auto& d : kDTypes)
        if (d.type == t) return d.name;
    return nullptr;
}

struct Parser {
    File& f;

    [[noreturn]] void bad(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
        va_list ap;
        va_start(ap, fmt);
        std::string msg = vstrfmt(fmt, ap);
        va_end(ap);
        throw Error(f.map_.path() + ": " + msg);
    }

    void parse() {
        const uint8_t* base = f.map_.data();
        const size_t size = f.map_.size();
        if (size < 8) bad("not a safetensors file (%zu bytes, too short for the 8-byte header length)", size);
        uint64_t n;
        std::memcpy(&n, base, 8);
        if (n > size - 8)
            bad("header length %llu is past the end of the file (%zu bytes; not a safetensors file, or "
                "truncated)",
                static_cast<unsigned long long>(n), size);
        if (n > kMaxHeaderBytes)
            bad("header length %llu is larger than the %llu-byte limit", static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(kMaxHeaderBytes));
        f.data_offset_ = 8 + static_cast<size_t>(n);
        const char* text = reinterpret_cast<const char*>(base + 8);
        json header = parse_header(text, static_cast<size_t>(n));
        read_entries(header, size - f.data_offset_);
    }

    // Parses the header, rejecting duplicate top-level names (nlohmann would keep the last one silently).
    json parse_header(const char* text, size_t n) {
        std::set<std::string> names;
        std::string duplicate;
        json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
            if (event == json::parse_event_t::key && depth == 1 && duplicate.empty() && parsed.is_string()) {
                const std::string& k = parsed.get_ref<const std::string&>();
                if (!names.insert(k).second) duplicate = k;
            }
            return true;
        };
        json j = json::parse(text, text + n, on_event, /*allow_exceptions=*/false);
        if (j.is_discarded()) {
            std::string msg;
            try {
                json again = json::parse(text, text + n);  // only to get the parser's message
            } catch (const json::exception& e) {
                msg = e.what();
            }
            bad("the %zu-byte header is not valid JSON: %s", n, msg.c_str());
        }
        if (!duplicate.empty()) bad("duplicate tensor name '%s' in the header", duplicate.c_str());
        if (!j.is_object()) bad("the header is JSON %s, expected an object of tensors", j.type_name());
        return j;
    }

    uint64_t read_uint(const std::string& name, const json& v, const char* field) {
        if (!v.is_number_unsigned())
            bad("tensor '%s': %s contains %s, expected a non-negative integer", name.c_str(), field,
                v.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
        return v.get<uint64_t>();
    }

    void read_entries(const json& header, uint64_t buffer_bytes) {
        for (const auto& [name, entry] : header.items()) {
            if (name == "__metadata__") {
                read_metadata(entry);
                continue;
            }
            if (!entry.is_object())
                bad("tensor '%s': entry is JSON %s, expected an object", name.c_str(), entry.type_name());
            DType type = read_dtype(name, entry);
            const DTypeInfo& ti = dtype_info(type);

            auto shape_it = entry.find("shape");
            if (shape_it == entry.end() || !shape_it->is_array())
                bad("tensor '%s': missing \"shape\" array", name.c_str());
            std::vector<int64_t> shape;
            uint64_t numel = 1;
            bool overflow = false;
            for (const json& d : *shape_it) {
                uint64_t dim = read_uint(name, d, "\"shape\"");
                if (dim > static_cast<uint64_t>(INT64_MAX)) overflow = true;
                overflow |= __builtin_mul_overflow(numel, dim, &numel);
                shape.push_back(static_cast<int64_t>(dim));
            }
            uint64_t nbytes = 0;
            overflow |= numel > static_cast<uint64_t>(INT64_MAX);
            overflow |= __builtin_mul_overflow(numel, static_cast<uint64_t>(ti.block_bytes), &nbytes);
            if (overflow)
                bad("tensor '%s': shape %s is too large (element count or byte size overflows 64 bits)",
                    name.c_str(), shape_str(shape).c_str());

            auto off_it = entry.find("data_offsets");
            if (off_it == entry.end() || !off_it->is_array() || off_it->size() != 2)
                bad("tensor '%s': missing \"data_offsets\" [begin, end]", name.c_str());
            uint64_t begin = read_uint(name, (*off_it)[0], "\"data_offsets\"");
            uint64_t end = read_uint(name, (*off_it)[1], "\"data_offsets\"");
            if (begin > end)
                bad("tensor '%s': data_offsets [%llu, %llu) has begin > end", name.c_str(),
                    static_cast<unsigned long long>(begin), static_cast<unsigned long long>(end));
            if (end - begin != nbytes)
                bad("tensor '%s': %s %s needs %llu bytes but data_offsets [%llu, %llu) holds %llu",
                    name.c_str(), dtype_to_safetensors(type), shape_str(shape).c_str(),
                    static_cast<unsigned long long>(nbytes), static_cast<unsigned long long>(begin),
                    static_cast<unsigned long long>(end), static_cast<unsigned long long>(end - begin));
            if (end > buffer_bytes)
                bad("file is truncated or corrupted: tensor '%s' needs buffer bytes [%llu, %llu) but the "
                    "buffer "
                    "has %llu bytes (file bytes [%zu, %llu) of %zu)",
                    name.c_str(), static_cast<unsigned long long>(begin),
                    static_cast<unsigned long long>(end), static_cast<unsigned long long>(buffer_bytes),
                    f.data_offset_ + static_cast<size_t>(begin),
                    static_cast<unsigned long long>(f.data_offset_ + end), f.map_.size());

            TensorRef ref;
            ref.name = name;
            ref.type = type;
            ref.shape = std::move(shape);
            ref.data = f.map_.data() + f.data_offset_ + begin;
            ref.nbytes = static_cast<size_t>(nbytes);
            f.tensors_.push_back(std::move(ref));
        }
        check_overlaps();
        for (size_t k = 0; k < f.tensors_.size(); k++) f.index_.emplace(f.tensors_[k].name, k);
    }

    DType read_dtype(const std::string& name, const json& entry) {
        auto it = entry.find("dtype");
        if (it == entry.end() || !it->is_string()) bad("tensor '%s': missing \"dtype\" string", name.c_str());
        const std::string& s = it->get_ref<const std::string&>();
        DType type;
        if (dtype_from_safetensors(s, &type)) return type;
        for (const char* k : kKnownUnsupported)
            if (s == k)
                bad("tensor '%s' has dtype %s, which r1.cpp does not support (supported: %s)", name.c_str(),
                    s.c_str(), supported_list().c_str());
        bad("tensor '%s' has unknown dtype '%s' (supported: %s)", name.c_str(), s.c_str(),
            supported_list().c_str());
    }

    void read_metadata(const json& m) {
        if (!m.is_object()) bad("\"__metadata__\" is JSON %s, expected an object of strings", m.type_name());
        for (const auto& [k, v] : m.items()) {
            if (!v.is_string())
                bad("\"__metadata__\" key '%s' is JSON %s, expected a string", k.c_str(), v.type_name());
            f.metadata_[k] = v.get<std::string>();
        }
    }

    void check_overlaps() {
        std::vector<const TensorRef*> order;
        for (const TensorRef& t : f.tensors_)
            if (t.nbytes > 0) order.push_back(&t);
        std::sort(order.begin(), order.end(),
                  [](const TensorRef* a, const TensorRef* b) { return a->data < b->data; });
        const uint8_t* buf = f.map_.data() + f.data_offset_;
        for (size_t k = 1; k < order.size(); k++) {
            const TensorRef* a = order[k - 1];
            const TensorRef* b = order[k];
            if (a->data + a->nbytes > b->data)
                bad("tensors '%s' (buffer bytes [%zu, %zu)) and '%s' ([%zu, %zu)) overlap", a->name.c_str(),
                    static_cast<size_t>(a->data - buf), static_cast<size_t>(a->data - buf) + a->nbytes,
                    b->name.c_str(), static_cast<size_t>(b->data - buf),
                    static_cast<size_t>(b->data - buf) + b->nbytes);
        }
    }
};

std::unique_ptr<File> File::open(const std::string& path) {
    std::unique_ptr<File> f(new File());
    f->map_ = MappedFile(path);
    Parser{*f}.parse();
    return f;
}

const TensorRef* File::find_tensor(std::string_view name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace r1::safetensors
