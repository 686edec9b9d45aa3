// Byte-level alphabet conversions (see byte_level.h).
#include "tokenizer/byte_level.h"

#include "tokenizer/unicode.h"

namespace r1::byte_level {

std::string encode(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) unicode::append_utf8(out, kAlphabet.byte_to_cp[static_cast<unsigned char>(c)]);
    return out;
}

std::optional<std::string> decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        const unicode::Decoded d = unicode::decode_utf8(text, i);
        if (d.cp >= kAlphabet.cp_to_byte.size() || kAlphabet.cp_to_byte[d.cp] < 0) return std::nullopt;
        out.push_back(static_cast<char>(kAlphabet.cp_to_byte[d.cp]));
        i += d.length;
    }
    return out;
}

}  // namespace r1::byte_level
