// Unicode layer: category flags (Unicode 14.0, Oniguruma's \s), UTF-8 helpers, and NFC against Python's
// unicodedata (tests/data/tokenizer/nfc_cases.txt from scripts/gen_unicode_tables.py).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tokenizer/unicode.h"

namespace r1::unicode {
namespace {

std::string utf8(std::initializer_list<uint32_t> cps) {
    std::string s;
    for (uint32_t c : cps) append_utf8(s, c);
    return s;
}

TEST(UnicodeFlags, Categories) {
    EXPECT_EQ(flags('a'), kLetter);
    EXPECT_EQ(flags(0x4E00), kLetter);
    EXPECT_EQ(flags(0x0301), kMark | kNfcCheck);
    EXPECT_EQ(flags('7'), kNumber);
    EXPECT_EQ(flags(0x00B2), kNumber);  // superscript two: No
    EXPECT_EQ(flags(0x0663), kNumber);  // Arabic-Indic three: Nd
    EXPECT_EQ(flags(','), kPunctuation);
    EXPECT_EQ(flags('$'), kSymbol);
    EXPECT_EQ(flags(0x1F680), kSymbol);  // rocket
    EXPECT_EQ(flags(0x200D), 0);         // ZWJ: Cf
    EXPECT_EQ(flags(0xE000), 0);         // private use
    EXPECT_EQ(flags(0x0378), 0);         // unassigned
    EXPECT_EQ(flags(kInvalidBase + 0xFF), 0);
}

TEST(UnicodeFlags, WhiteSpaceIsOnigurumasBackslashS) {
    int count = 0;
    for (uint32_t cp = 0; cp < 0x110000; ++cp) count += (flags(cp) & kWhiteSpace) != 0;
    EXPECT_EQ(count, 25);
    for (uint32_t cp : {0x09u, 0x0Du, 0x20u, 0x85u, 0xA0u, 0x1680u, 0x2000u, 0x200Au, 0x2028u, 0x2029u,
                        0x202Fu, 0x205Fu, 0x3000u})
        EXPECT_TRUE(flags(cp) & kWhiteSpace) << std::hex << cp;
    for (uint32_t cp : {0x180Eu, 0x200Bu, 0xFEFFu, 0x1Cu, 0x1Fu})
        EXPECT_FALSE(flags(cp) & kWhiteSpace) << std::hex << cp;
}

TEST(Utf8, DecodeIsStrict) {
    EXPECT_EQ(decode_utf8("\xC3\xA9", 0).cp, 0xE9u);
    EXPECT_EQ(decode_utf8("\xF0\x9F\x98\x80", 0).cp, 0x1F600u);
    EXPECT_EQ(decode_utf8("\xC0\x80", 0).cp, kInvalidBase + 0xC0);          // overlong
    EXPECT_EQ(decode_utf8("\xED\xA0\x80", 0).cp, kInvalidBase + 0xED);      // surrogate
    EXPECT_EQ(decode_utf8("\xF4\x90\x80\x80", 0).cp, kInvalidBase + 0xF4);  // > U+10FFFF
    EXPECT_EQ(decode_utf8("\xE4\xB8", 0).cp, kInvalidBase + 0xE4);          // truncated
    EXPECT_EQ(decode_utf8("\xE4\xB8", 0).length, 1u);
}

TEST(Utf8, IncompleteTail) {
    EXPECT_EQ(incomplete_utf8_tail(""), 0u);
    EXPECT_EQ(incomplete_utf8_tail("abc"), 0u);
    EXPECT_EQ(incomplete_utf8_tail("a\xE4"), 1u);
    EXPECT_EQ(incomplete_utf8_tail("a\xE4\xB8"), 2u);
    EXPECT_EQ(incomplete_utf8_tail("a\xE4\xB8\x80"), 0u);
    EXPECT_EQ(incomplete_utf8_tail("\xF0\x9F\x98"), 3u);
    EXPECT_EQ(incomplete_utf8_tail("\xE0\x80"), 0u);  // can never complete (overlong)
    EXPECT_EQ(incomplete_utf8_tail("\x80\x80"), 0u);
    EXPECT_EQ(incomplete_utf8_tail("\xFF"), 0u);
}

TEST(Utf8, Sanitize) {
    EXPECT_EQ(sanitize_utf8("ok \xC3\xA9"), "ok \xC3\xA9");
    EXPECT_EQ(sanitize_utf8("a\xFF"
                            "b"),
              "a\xEF\xBF\xBD"
              "b");
    EXPECT_EQ(sanitize_utf8("a\xE4\xB8"
                            "b"),
              "a\xEF\xBF\xBD"
              "b");  // one U+FFFD per maximal subpart
    EXPECT_EQ(sanitize_utf8("\xE0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_TRUE(is_valid_utf8(sanitize_utf8("\xF0\x9F\x98 x \xED\xA0\x80")));
}

std::u32string parse_hex(const std::string& field) {
    std::u32string s;
    std::istringstream in(field);
    for (std::string h; in >> h;) s.push_back(static_cast<char32_t>(std::stoul(h, nullptr, 16)));
    return s;
}

TEST(Nfc, MatchesPythonUnicodedata) {
    std::ifstream in(std::string(R1_TEST_DATA) + "/tokenizer/nfc_cases.txt");
    ASSERT_TRUE(in) << "missing nfc_cases.txt";
    int n = 0, bad = 0;
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        const size_t tab = line.find('\t');
        ASSERT_NE(tab, std::string::npos);
        std::string input, expected;
        for (char32_t c : parse_hex(line.substr(0, tab))) append_utf8(input, c);
        for (char32_t c : parse_hex(line.substr(tab + 1))) append_utf8(expected, c);
        ++n;
        if (nfc(input) != expected && ++bad <= 5) ADD_FAILURE() << "NFC mismatch for " << line;
        if (input == expected && !nfc_quick_stable(input)) EXPECT_EQ(nfc(input), input);
        if (nfc_quick_stable(input))
            EXPECT_EQ(input, expected) << "quick check wrongly said stable: " << line;
    }
    EXPECT_GE(n, 3000);
    EXPECT_EQ(bad, 0);
}

TEST(Nfc, Basics) {
    EXPECT_EQ(nfc("e\xCC\x81"), "\xC3\xA9");                         // e + acute -> é
    EXPECT_EQ(nfc(utf8({0x1100, 0x1161, 0x11A8})), utf8({0xAC01}));  // Hangul L V T -> 각
    EXPECT_EQ(nfc(utf8({0x212B})), utf8({0xC5}));                    // Angstrom sign -> Å
    EXPECT_EQ(nfc(utf8({'a', 0x0323, 0x0302})), utf8({0x1EAD}));     // reordered marks compose
    EXPECT_EQ(nfc(utf8({'a', 0x0302, 0x0323})), utf8({0x1EAD}));
    EXPECT_EQ(nfc("plain ascii"), "plain ascii");
    EXPECT_EQ(nfc("bad \xFF byte e\xCC\x81"), "bad \xFF byte \xC3\xA9");  // invalid bytes pass through
    EXPECT_TRUE(nfc_quick_stable("caf\xC3\xA9 \xE4\xB8\xAD"));
    EXPECT_FALSE(nfc_quick_stable("cafe\xCC\x81"));
}

}  // namespace
}  // namespace r1::unicode
