// The pre-tokenisers of pretokenize.h. Each matcher takes a start position p inside a piece [p, e) of code
// points and returns the end of the regex match that starts at p, or p when no alternative matches there.
// The comments give, for each alternative, how Oniguruma's backtracking resolves it.
#include "tokenizer/pretokenize.h"

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
    }
}

}  // namespace r1
