// GGUF metadata values: type names and sizes, element access for packed arrays, and rendering for `r1
// inspect`.
#include <charconv>
#include <cstring>

#include "base/error.h"
#include "formats/gguf.h"

namespace r1::gguf {

const char* type_name(Type t) {
    switch (t) {
        case Type::U8:
            return "u8";
        case Type::I8:
            return "i8";
        case Type::U16:
            return "u16";
        case Type::I16:
            return "i16";
        case Type::U32:
            return "u32";
        case Type::I32:
            return "i32";
        case Type::F32:
            return "f32";
        case Type::BOOL:
            return "bool";
        case Type::STRING:
            return "string";
        case Type::ARRAY:
            return "array";
        case Type::U64:
            return "u64";
        case Type::I64:
            return "i64";
        case Type::F64:
            return "f64";
    }
    return "?";
}

size_t type_size(Type t) {
    switch (t) {
        case Type::U8:
        case Type::I8:
        case Type::BOOL:
            return 1;
        case Type::U16:
        case Type::I16:
            return 2;
        case Type::U32:
        case Type::I32:
        case Type::F32:
            return 4;
        case Type::U64:
        case Type::I64:
        case Type::F64:
            return 8;
        case Type::STRING:
        case Type::ARRAY:
            return 0;
    }
    return 0;
}

bool is_integer_type(Type t) {
    switch (t) {
        case Type::U8:
        case Type::I8:
        case Type::U16:
        case Type::I16:
        case Type::U32:
        case Type::I32:
        case Type::U64:
        case Type::I64:
            return true;
        default:
            return false;
    }
}

bool is_unsigned_type(Type t) {
    return t == Type::U8 || t == Type::U16 || t == Type::U32 || t == Type::U64 || t == Type::BOOL;
}

bool is_float_type(Type t) {
    return t == Type::F32 || t == Type::F64;
}

namespace {

// Raw little-endian bits of element i of a packed numeric array (zero-extended).
uint64_t raw_bits(const Value& v, uint64_t i) {
    const size_t size = type_size(v.elem_type);
    const uint8_t* p = v.raw + i * size;
    uint64_t b = 0;
    std::memcpy(&b, p, size);  // little-endian host: the low bytes are the value
    return b;
}

}  // namespace

int64_t array_int(const Value& v, uint64_t i) {
    R1_ASSERT(
        v.type == Type::ARRAY && i < v.count && (is_integer_type(v.elem_type) || v.elem_type == Type::BOOL),
        "array_int on a %s value", type_name(v.type));
    uint64_t b = raw_bits(v, i);
    switch (v.elem_type) {
        case Type::I8:
            return static_cast<int8_t>(b);
        case Type::I16:
            return static_cast<int16_t>(b);
        case Type::I32:
            return static_cast<int32_t>(b);
        default:
            return static_cast<int64_t>(b);
    }
}

uint64_t array_uint(const Value& v, uint64_t i) {
    return static_cast<uint64_t>(array_int(v, i));
}

double array_float(const Value& v, uint64_t i) {
    R1_ASSERT(
        v.type == Type::ARRAY && i < v.count && v.elem_type != Type::STRING && v.elem_type != Type::ARRAY,
        "array_float on a %s value", type_name(v.type));
    uint64_t b = raw_bits(v, i);
    if (v.elem_type == Type::F32) {
        float f;
        uint32_t b32 = static_cast<uint32_t>(b);
        std::memcpy(&f, &b32, 4);
        return f;
    }
    if (v.elem_type == Type::F64) {
        double d;
        std::memcpy(&d, &b, 8);
        return d;
    }
    if (v.elem_type == Type::U64) return static_cast<double>(b);
    return static_cast<double>(array_int(v, i));
}

namespace {

// Shortest text that reads back to the same float / double.
template <typename T>
std::string shortest(T x) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, x);
    return std::string(buf, r.ptr);
}

// Quoted and escaped; cut after max_chars bytes (at a UTF-8 boundary) with the full length given.
std::string quote(std::string_view s, size_t max_chars) {
    size_t n = s.size();
    bool cut = n > max_chars;
    if (cut) {
        n = max_chars;
        while (n > 0 && (static_cast<uint8_t>(s[n]) & 0xC0) == 0x80) n--;  // do not split a code point
    }
    std::string out = "\"";
    for (size_t k = 0; k < n; k++) {
        unsigned char c = static_cast<unsigned char>(s[k]);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20 || c == 0x7f)
                    out += strfmt("\\x%02x", c);
                else
                    out += static_cast<char>(c);
        }
    }
    out += "\"";
    if (cut) out += strfmt("... (%zu bytes)", s.size());
    return out;
}

std::string element_to_string(const Value& v, uint64_t i, size_t max_chars) {
    switch (v.elem_type) {
        case Type::STRING:
            return quote(v.strings[i], max_chars);
        case Type::BOOL:
            return array_int(v, i) ? "true" : "false";
        case Type::F32:
            return shortest(static_cast<float>(array_float(v, i)));
        case Type::F64:
            return shortest(array_float(v, i));
        case Type::U64:
            return std::to_string(array_uint(v, i));
        default:
            return std::to_string(array_int(v, i));
    }
}

}  // namespace

std::string value_to_string(const Value& v, size_t max_elems, size_t max_chars) {
    switch (v.type) {
        case Type::U8:
        case Type::U16:
        case Type::U32:
        case Type::U64:
            return std::to_string(v.u);
        case Type::I8:
        case Type::I16:
        case Type::I32:
        case Type::I64:
            return std::to_string(v.i);
        case Type::F32:
            return shortest(static_cast<float>(v.f));
        case Type::F64:
            return shortest(v.f);
        case Type::BOOL:
            return v.u ? "true" : "false";
        case Type::STRING:
            return quote(v.str, max_chars);
        case Type::ARRAY:
            break;
    }
    const uint64_t shown = v.count < max_elems ? v.count : max_elems;
    std::string out = "[";
    for (uint64_t i = 0; i < shown; i++) {
        if (i) out += ", ";
        out += element_to_string(v, i, max_chars);
    }
    if (shown < v.count) out += shown ? ", ..." : "...";
    out += "]";
    if (shown < v.count) out += strfmt(" (%llu elements)", static_cast<unsigned long long>(v.count));
    return out;
}

}  // namespace r1::gguf
