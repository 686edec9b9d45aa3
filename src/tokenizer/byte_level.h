// GPT-2 byte-level alphabet (openai/gpt-2 encoder.py bytes_to_unicode): every byte has a printable code point
// so that vocabulary strings are text. Bytes 33-126, 161-172 and 174-255 stand for themselves; the other 68
// bytes map to U+0100 + n in byte order (space -> U+0120 'Ġ', '\n' -> U+010A 'Ċ').
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace r1::byte_level {

struct Alphabet {
    std::array<uint32_t, 256> byte_to_cp{};
    std::array<int16_t, 324> cp_to_byte{};  // -1 where the code point is not in the alphabet
    constexpr Alphabet() {
        for (auto& b : cp_to_byte) b = -1;
        uint32_t extra = 0;
        for (uint32_t b = 0; b < 256; ++b) {
            const bool self = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
            byte_to_cp[b] = self ? b : 256 + extra++;
            cp_to_byte[byte_to_cp[b]] = static_cast<int16_t>(b);
        }
    }
};
inline constexpr Alphabet kAlphabet{};

// Raw bytes -> byte-level text ("hi there" -> "hiĠthere").
std::string encode(std::string_view bytes);
// Byte-level text -> raw bytes; std::nullopt when a character is outside the alphabet (e.g. "<｜User｜>").
std::optional<std::string> decode(std::string_view text);

}  // namespace r1::byte_level
