// The pre-tokenisers of pretokenize.h. Each matcher takes a start position p inside a piece [p, e) of code
// points and returns the end of the regex match that starts at p, or p when no alternative matches there.
// The comments give, for each alternative, how Oniguruma's backtracking resolves it.
#include "tokenizer/pretokenize.h"

#include <algorithm>
#include <iterator>

#include "base/error.h"
#include "tokenizer/unicode.h"

namespace r1 {

namespace {

using namespace unicode;

struct Text {
    const uint32_t* cp;
    const uint8_t* f;
};

inline bool is_newline(uint32_t c) {
    return c == '\r' || c == '\n';
}
inline bool is_ascii_alpha(uint32_t c) {
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}
inline bool is_ascii_punct(uint32_t c) {
    return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
           (c >= '{' && c <= '~');
}
// [一-龥぀-ゟ゠-ヿ]
inline bool is_ds3_cjk(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x3040 && c <= 0x309F) || (c >= 0x30A0 && c <= 0x30FF);
}

// DeepSeek-LLM Split 2: the cased letters its class lists, as sorted inclusive ranges (the regex's single
// characters are one-element ranges; adjacent ones such as U+2183 U+2184 are merged).
struct CodeRange {
    uint32_t first, last;
};
constexpr CodeRange kDeepSeekLlmLetters[] = {
    {0x0041, 0x005A},   {0x0061, 0x007A},   {0x00B5, 0x00B5},   {0x00C0, 0x00D6},   {0x00D8, 0x00F6},
    {0x00F8, 0x01BA},   {0x01BC, 0x01BF},   {0x01C4, 0x0293},   {0x0295, 0x02AF},   {0x0370, 0x0373},
    {0x0376, 0x0377},   {0x037B, 0x037D},   {0x037F, 0x037F},   {0x0386, 0x0386},   {0x0388, 0x038A},
    {0x038C, 0x038C},   {0x038E, 0x03A1},   {0x03A3, 0x03F5},   {0x03F7, 0x0481},   {0x048A, 0x052F},
    {0x0531, 0x0556},   {0x10A0, 0x10C5},   {0x13A0, 0x13F5},   {0x13F8, 0x13FD},   {0x1C90, 0x1CBA},
    {0x1CBD, 0x1CBF},   {0x1D00, 0x1D2B},   {0x1D6B, 0x1D77},   {0x1D79, 0x1D9A},   {0x1E00, 0x1F15},
    {0x1F18, 0x1F1D},   {0x1F20, 0x1F45},   {0x1F48, 0x1F4D},   {0x1F50, 0x1F57},   {0x1F59, 0x1F59},
    {0x1F5B, 0x1F5B},   {0x1F5D, 0x1F5D},   {0x1F5F, 0x1F7D},   {0x1F80, 0x1FB4},   {0x1FB6, 0x1FBC},
    {0x1FBE, 0x1FBE},   {0x1FC2, 0x1FC4},   {0x1FC6, 0x1FCC},   {0x1FD0, 0x1FD3},   {0x1FD6, 0x1FDB},
    {0x1FE0, 0x1FEC},   {0x1FF2, 0x1FF4},   {0x1FF6, 0x1FFC},   {0x2102, 0x2102},   {0x2107, 0x2107},
    {0x210A, 0x2113},   {0x2115, 0x2115},   {0x2119, 0x211D},   {0x2124, 0x2124},   {0x2126, 0x2126},
    {0x2128, 0x2128},   {0x212A, 0x212D},   {0x212F, 0x2134},   {0x2139, 0x2139},   {0x213C, 0x213F},
    {0x2145, 0x2149},   {0x214E, 0x214E},   {0x2183, 0x2184},   {0x2C00, 0x2C7B},   {0x2C7E, 0x2CE4},
    {0x2CEB, 0x2CEE},   {0x2CF2, 0x2CF3},   {0xA640, 0xA66D},   {0xA680, 0xA69B},   {0xA722, 0xA76F},
    {0xA771, 0xA787},   {0xA78B, 0xA78E},   {0xAB70, 0xABBF},   {0xFB00, 0xFB06},   {0xFB13, 0xFB17},
    {0xFF21, 0xFF3A},   {0xFF41, 0xFF5A},   {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
    {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};
inline bool is_ds_llm_letter(uint32_t c) {
    if (c < 0x80) return is_ascii_alpha(c);
    const auto* end = std::end(kDeepSeekLlmLetters);
    const auto* it = std::upper_bound(std::begin(kDeepSeekLlmLetters), end, c,
                                      [](uint32_t v, const CodeRange& r) { return v < r.first; });
    return it != std::begin(kDeepSeekLlmLetters) && c <= (it - 1)->last;
}
// DeepSeek-LLM Split 3: [!-/:-~！-／：-～‘-‟　-。] (ASCII punctuation, symbols and letters, their fullwidth
// forms, curly quotes, ideographic space / comma / full stop).
inline bool is_ds_llm_punct(uint32_t c) {
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x7E) || (c >= 0xFF01 && c <= 0xFF0F) ||
           (c >= 0xFF1A && c <= 0xFF5E) || (c >= 0x2018 && c <= 0x201F) || (c >= 0x3000 && c <= 0x3002);
}
// [一-龥ࠀ-一가-퟿] of DeepSeek-LLM / -Coder: U+0800..U+4E00 and U+4E00..U+9FA5 overlap, so one range.
inline bool is_ds_cjk_hangul(uint32_t c) {
    return (c >= 0x0800 && c <= 0x9FA5) || (c >= 0xAC00 && c <= 0xD7FF);
}

inline size_t run_of(const Text& t, size_t q, size_t e, uint8_t mask) {
    while (q < e && (t.f[q] & mask)) ++q;
    return q;
}
inline size_t newline_run(const Text& t, size_t q, size_t e) {
    while (q < e && is_newline(t.cp[q])) ++q;
    return q;
}

// \s*[\r\n]+ | \s+(?!\S) | \s+ at a whitespace character p.
//   \s*[\r\n]+  : \s* takes the whole whitespace run W and backs off until [\r\n]+ can match, so the match
//                 ends just after the last CR/LF inside W (no match if W has none).
//   \s+(?!\S)   : all of W when W reaches the end of the piece; otherwise W minus its last character (which
//                 then is whitespace, so the lookahead holds), if that leaves at least one.
//   \s+         : W (only reached when W is a single character followed by non-space).
inline size_t match_whitespace(const Text& t, size_t p, size_t e) {
    size_t w = p;
    size_t after_last_newline = p;
    while (w < e && (t.f[w] & kWhiteSpace)) {
        if (is_newline(t.cp[w])) after_last_newline = w + 1;
        ++w;
    }
    if (after_last_newline > p) return after_last_newline;
    if (w == e || w - p == 1) return w;
    return w - 1;
}

// DeepSeek-V3 Split 3.
size_t match_ds3_words(const Text& t, size_t p, size_t e) {
    const uint32_t c = t.cp[p];
    const uint8_t f = t.f[p];
    // [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+
    if (is_ascii_punct(c) && p + 1 < e && is_ascii_alpha(t.cp[p + 1])) {
        size_t q = p + 2;
        while (q < e && is_ascii_alpha(t.cp[q])) ++q;
        return q;
    }
    // [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+ : the optional character is taken only if letters/marks follow;
    // otherwise the match must start with a letter or mark at p (a lone mark matches this way).
    if (!is_newline(c) && !(f & (kLetter | kPunctuation | kSymbol)) && p + 1 < e &&
        (t.f[p + 1] & (kLetter | kMark)))
        return run_of(t, p + 2, e, kLetter | kMark);
    if (f & (kLetter | kMark)) return run_of(t, p + 1, e, kLetter | kMark);
    // ' ?[\p{P}\p{S}]+[\r\n]*'
    if (c == ' ' && p + 1 < e && (t.f[p + 1] & (kPunctuation | kSymbol)))
        return newline_run(t, run_of(t, p + 2, e, kPunctuation | kSymbol), e);
    if (f & (kPunctuation | kSymbol)) return newline_run(t, run_of(t, p + 1, e, kPunctuation | kSymbol), e);
    if (f & kWhiteSpace) return match_whitespace(t, p, e);
    return p;  // digits, format and control characters, invalid bytes: left in the gap
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d) : Oniguruma's case folding also lets U+017F (long s) match 's'.
inline uint32_t fold(uint32_t c) {
    if (c == 0x17F) return 's';
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}
inline size_t match_contraction(const Text& t, size_t p, size_t e) {
    if (t.cp[p] != '\'' || p + 1 >= e) return p;
    const uint32_t c1 = fold(t.cp[p + 1]);
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return p + 2;
    if (p + 2 < e) {
        const uint32_t c2 = fold(t.cp[p + 2]);
        if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return p + 3;
    }
    return p;
}

// The Qwen2 / Llama-3 regex; max_digits is 1 (qwen2: \p{N}) or 3 (llama3: \p{N}{1,3}).
size_t match_qwen_llama(const Text& t, size_t p, size_t e, size_t max_digits) {
    const size_t contraction = match_contraction(t, p, e);
    if (contraction != p) return contraction;
    const uint32_t c = t.cp[p];
    const uint8_t f = t.f[p];
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (!is_newline(c) && !(f & (kLetter | kNumber)) && p + 1 < e && (t.f[p + 1] & kLetter))
        return run_of(t, p + 2, e, kLetter);
    if (f & kLetter) return run_of(t, p + 1, e, kLetter);
    // \p{N} or \p{N}{1,3}
    if (f & kNumber) {
        size_t q = p + 1;
        while (q < e && q - p < max_digits && (t.f[q] & kNumber)) ++q;
        return q;
    }
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
    constexpr uint8_t kNotOther = kWhiteSpace | kLetter | kNumber;
    if (c == ' ' && p + 1 < e && !(t.f[p + 1] & kNotOther)) {
        size_t q = p + 2;
        while (q < e && !(t.f[q] & kNotOther)) ++q;
        return newline_run(t, q, e);
    }
    if (!(f & kNotOther)) {
        size_t q = p + 1;
        while (q < e && !(t.f[q] & kNotOther)) ++q;
        return newline_run(t, q, e);
    }
    return match_whitespace(t, p, e);  // every other character is whitespace
}

// \s?X+ for a character class X (in(q) tells whether character q is in it): the optional whitespace is taken
// only when X follows it; otherwise the match must start with X at p. Holds also when a character is both
// (U+3000 is \s and in DeepSeek-LLM's punctuation class).
template <typename InClass>
inline size_t match_space_then_run(const Text& t, size_t p, size_t e, InClass&& in) {
    size_t q;
    if ((t.f[p] & kWhiteSpace) && p + 1 < e && in(p + 1))
        q = p + 2;
    else if (in(p))
        q = p + 1;
    else
        return p;
    while (q < e && in(q)) ++q;
    return q;
}

// Splits [b, e) into matches and gaps (both kept), passing each piece to emit(begin, end).
template <typename Match, typename Emit>
inline void split_isolated(size_t b, size_t e, Match&& match, Emit&& emit) {
    size_t gap = b;
    size_t p = b;
    while (p < e) {
        const size_t q = match(p, e);
        if (q == p) {
            ++p;
            continue;
        }
        if (gap < p) emit(gap, p);
        emit(p, q);
        p = gap = q;
    }
    if (gap < e) emit(gap, e);
}

// A Split step as a splitter: (b, e, emit) -> emit(begin, end) for each sub-piece of [b, e).
template <typename Match>
inline auto isolated(Match match) {
    return [match](size_t b, size_t e, auto&& emit) { split_isolated(b, e, match, emit); };
}

// Applies the splitters one after another: each splits every piece the previous one produced (depth
// first, which keeps the pieces in text order).
template <typename Emit, typename First, typename... Rest>
inline void split_sequence(size_t b, size_t e, Emit&& emit, const First& first, const Rest&... rest) {
    if constexpr (sizeof...(Rest) == 0) {
        first(b, e, emit);
    } else {
        first(b, e, [&](size_t b2, size_t e2) { split_sequence(b2, e2, emit, rest...); });
    }
}

// The steps shared by DeepSeek-LLM and -Coder.
struct DeepSeekV2Steps {
    const Text& t;
    // [\r\n]: every CR and LF becomes a piece of its own.
    size_t newline(size_t p, size_t) const { return is_newline(t.cp[p]) ? p + 1 : p; }
    // [一-龥ࠀ-一가-퟿]+
    size_t cjk_hangul(size_t p, size_t e) const {
        size_t q = p;
        while (q < e && is_ds_cjk_hangul(t.cp[q])) ++q;
        return q;
    }
    // Digits(individual_digits = true): each \p{N} character alone.
    size_t digit(size_t p, size_t) const { return (t.f[p] & kNumber) ? p + 1 : p; }
};

}  // namespace

void split_pieces(PreTokenizer kind, std::string_view text, PreTokenizeScratch& s,
                  std::vector<PieceRange>& out) {
    s.cps.clear();
    s.flags.clear();
    s.offsets.clear();
    for (size_t i = 0; i < text.size();) {
        const Decoded d = decode_utf8(text, i);
        s.cps.push_back(d.cp);
        s.flags.push_back(flags(d.cp));
        s.offsets.push_back(static_cast<uint32_t>(i));
        i += d.length;
    }
    s.offsets.push_back(static_cast<uint32_t>(text.size()));
    const Text t{s.cps.data(), s.flags.data()};
    const size_t n = s.cps.size();
    auto emit = [&](size_t b, size_t e) { out.push_back({s.offsets[b], s.offsets[e]}); };

    switch (kind) {
        case PreTokenizer::DeepSeekV3: {
            auto digits = [&](size_t p, size_t e) {
                size_t q = p;
                while (q < e && q - p < 3 && (t.f[q] & kNumber)) ++q;
                return q;
            };
            auto cjk = [&](size_t p, size_t e) {
                size_t q = p;
                while (q < e && is_ds3_cjk(t.cp[q])) ++q;
                return q;
            };
            auto words = [&](size_t p, size_t e) { return match_ds3_words(t, p, e); };
            split_isolated(0, n, digits, [&](size_t b1, size_t e1) {
                split_isolated(b1, e1, cjk,
                               [&](size_t b2, size_t e2) { split_isolated(b2, e2, words, emit); });
            });
            break;
        }
        case PreTokenizer::Qwen2:
            split_isolated(
                0, n, [&](size_t p, size_t e) { return match_qwen_llama(t, p, e, 1); }, emit);
            break;
        case PreTokenizer::Llama3:
            split_isolated(
                0, n, [&](size_t p, size_t e) { return match_qwen_llama(t, p, e, 3); }, emit);
            break;
        case PreTokenizer::DeepSeekLlm: {
            const DeepSeekV2Steps ds{t};
            auto letters = [&](size_t p, size_t e) {
                return match_space_then_run(t, p, e, [&](size_t q) { return is_ds_llm_letter(t.cp[q]); });
            };
            auto punct = [&](size_t p, size_t e) {
                return match_space_then_run(t, p, e, [&](size_t q) { return is_ds_llm_punct(t.cp[q]); });
            };
            // \s+$: the whitespace that ends the piece (leftmost match = the start of the trailing run).
            // Ruby's $ would also match before a \n, but after step 1 a \n is always a piece of its own.
            auto trailing_space = [&](size_t b, size_t e, auto&& piece) {
                size_t w = e;
                while (w > b && (t.f[w - 1] & kWhiteSpace)) --w;
                if (w > b && w < e) {
                    piece(b, w);
                    piece(w, e);
                } else {
                    piece(b, e);
                }
            };
            split_sequence(0, n, emit, isolated([&](size_t p, size_t e) { return ds.newline(p, e); }),
                           isolated(letters), isolated(punct), trailing_space,
                           isolated([&](size_t p, size_t e) { return ds.cjk_hangul(p, e); }),
                           isolated([&](size_t p, size_t e) { return ds.digit(p, e); }));
            break;
        }
        case PreTokenizer::DeepSeekCoder: {
            const DeepSeekV2Steps ds{t};
            auto letters = [&](size_t p, size_t e) {
                return match_space_then_run(t, p, e, [&](size_t q) { return (t.f[q] & kLetter) != 0; });
            };
            auto punct = [&](size_t p, size_t e) {
                return match_space_then_run(t, p, e, [&](size_t q) { return (t.f[q] & kPunctuation) != 0; });
            };
            split_sequence(0, n, emit, isolated([&](size_t p, size_t e) { return ds.newline(p, e); }),
                           isolated(letters), isolated(punct),
                           isolated([&](size_t p, size_t e) { return ds.cjk_hangul(p, e); }),
                           isolated([&](size_t p, size_t e) { return ds.digit(p, e); }));
            break;
        }
    }
}

}  // namespace r1
