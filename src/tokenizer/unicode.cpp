// UTF-8 helpers and NFC (UAX #15: full canonical decomposition, canonical ordering, canonical composition)
// over the generated tables in unicode_data.cpp.
#include "tokenizer/unicode.h"

#include <algorithm>
#include <vector>

namespace r1::unicode {

namespace {

// Hangul syllables compose and decompose algorithmically (Unicode §3.12).
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

const data::Decomposition* find_decomposition(uint32_t cp) {
    const data::Decomposition* end = data::kDecompositions + data::kDecompositionCount;
    const auto* it = std::lower_bound(data::kDecompositions, end, cp,
                                      [](const data::Decomposition& d, uint32_t c) { return d.cp < c; });
    return (it != end && it->cp == cp) ? it : nullptr;
}

// The primary composite of (first, second), or 0.
uint32_t compose_pair(uint32_t first, uint32_t second) {
    if (first >= kLBase && first < kLBase + kLCount && second >= kVBase && second < kVBase + kVCount)
        return kSBase + ((first - kLBase) * kVCount + (second - kVBase)) * kTCount;
    if (first >= kSBase && first < kSBase + kSCount && (first - kSBase) % kTCount == 0 && second > kTBase &&
        second < kTBase + kTCount)
        return first + (second - kTBase);
    const data::Composition* end = data::kCompositions + data::kCompositionCount;
    const auto* it = std::lower_bound(data::kCompositions, end, std::make_pair(first, second),
                                      [](const data::Composition& c, const std::pair<uint32_t, uint32_t>& k) {
                                          return c.first != k.first ? c.first < k.first : c.second < k.second;
                                      });
    return (it != end && it->first == first && it->second == second) ? it->composite : 0;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
    if (cp >= kSBase && cp < kSBase + kSCount) {
        const uint32_t s = cp - kSBase;
        out.push_back(kLBase + s / kNCount);
        out.push_back(kVBase + (s % kNCount) / kTCount);
        if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
        return;
    }
    if (const data::Decomposition* d = find_decomposition(cp)) {
        out.insert(out.end(), data::kDecompPool + d->offset, data::kDecompPool + d->offset + d->length);
        return;
    }
    out.push_back(cp);
}

}  // namespace

void append_utf8(std::string& out, uint32_t cp) {
    if (cp >= kInvalidBase) {
        out.push_back(static_cast<char>(cp - kInvalidBase));
    } else if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

bool is_valid_utf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        const Decoded d = decode_utf8(s, i);
        if (d.cp >= kInvalidBase) return false;
        i += d.length;
    }
    return true;
}

namespace {

// Length of the UTF-8 sequence a lead byte starts (0 for ASCII, continuation bytes and invalid leads), and
// the allowed range of the byte after it (narrower after E0, ED, F0, F4: no overlongs, surrogates, > 10FFFF).
size_t sequence_length(unsigned char lead) {
    if (lead >= 0xC2 && lead <= 0xDF) return 2;
    if (lead >= 0xE0 && lead <= 0xEF) return 3;
    if (lead >= 0xF0 && lead <= 0xF4) return 4;
    return 0;
}
bool continuation_ok(unsigned char lead, size_t k, unsigned char b) {
    unsigned lo = 0x80, hi = 0xBF;
    if (k == 1) {
        if (lead == 0xE0) lo = 0xA0;
        if (lead == 0xED) hi = 0x9F;
        if (lead == 0xF0) lo = 0x90;
        if (lead == 0xF4) hi = 0x8F;
    }
    return b >= lo && b <= hi;
}

// Bytes at s[i] that begin a well-formed sequence: the "maximal subpart" (1 when s[i] is not a valid lead).
size_t maximal_subpart(std::string_view s, size_t i) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const size_t need = sequence_length(lead);
    size_t len = 1;
    for (size_t k = 1; k < need && i + k < s.size(); ++k) {
        if (!continuation_ok(lead, k, static_cast<unsigned char>(s[i + k]))) break;
        len = k + 1;
    }
    return len;
}

}  // namespace

size_t incomplete_utf8_tail(std::string_view s) {
    const size_t n = s.size();
    for (size_t back = 1; back <= 3 && back <= n; ++back) {
        const auto lead = static_cast<unsigned char>(s[n - back]);
        if ((lead & 0xC0) == 0x80) continue;  // a continuation byte: keep looking for the lead
        const size_t need = sequence_length(lead);
        if (need <= back) return 0;  // ASCII, an invalid lead, or a complete sequence
        return maximal_subpart(s, n - back) == back ? back : 0;
    }
    return 0;
}

std::string sanitize_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        const Decoded d = decode_utf8(s, i);
        if (d.cp < kInvalidBase) {
            out.append(s.substr(i, d.length));
            i += d.length;
        } else {
            out.append("\xEF\xBF\xBD");
            i += maximal_subpart(s, i);
        }
    }
    return out;
}

uint8_t combining_class(uint32_t cp) {
    const data::CccRange* end = data::kCccRanges + data::kCccRangeCount;
    const auto* it = std::upper_bound(data::kCccRanges, end, cp,
                                      [](uint32_t c, const data::CccRange& r) { return c < r.first; });
    if (it == data::kCccRanges) return 0;
    --it;
    return cp <= it->last ? it->ccc : 0;
}

bool nfc_quick_stable(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        if (static_cast<unsigned char>(s[i]) < 0x80) {
            ++i;
            continue;
        }
        const Decoded d = decode_utf8(s, i);
        if (flags(d.cp) & kNfcCheck) return false;
        i += d.length;
    }
    return true;
}

std::string nfc(std::string_view s) {
    if (nfc_quick_stable(s)) return std::string(s);

    // 1. Full canonical decomposition.
    std::vector<uint32_t> cps;
    cps.reserve(s.size() + 8);
    for (size_t i = 0; i < s.size();) {
        const Decoded d = decode_utf8(s, i);
        decompose(d.cp, cps);
        i += d.length;
    }
    std::vector<uint8_t> ccc(cps.size());
    for (size_t i = 0; i < cps.size(); ++i) ccc[i] = combining_class(cps[i]);

    // 2. Canonical ordering: stable sort of each run of non-starters by combining class.
    for (size_t i = 0; i < cps.size();) {
        if (ccc[i] == 0) {
            ++i;
            continue;
        }
        size_t j = i;
        while (j < cps.size() && ccc[j] != 0) ++j;
        if (j - i > 1) {
            std::vector<std::pair<uint8_t, uint32_t>> run;
            for (size_t k = i; k < j; ++k) run.emplace_back(ccc[k], cps[k]);
            std::stable_sort(run.begin(), run.end(),
                             [](const auto& a, const auto& b) { return a.first < b.first; });
            for (size_t k = i; k < j; ++k) {
                ccc[k] = run[k - i].first;
                cps[k] = run[k - i].second;
            }
        }
        i = j;
    }

    // 3. Canonical composition. A character combines with the last starter unless a character between them
    // has a combining class >= its own (or is a starter).
    std::vector<uint32_t> out;
    std::vector<uint8_t> out_ccc;
    out.reserve(cps.size());
    out_ccc.reserve(cps.size());
    ptrdiff_t starter = -1;
    for (size_t i = 0; i < cps.size(); ++i) {
        const uint32_t c = cps[i];
        const uint8_t cc = ccc[i];
        if (starter >= 0) {
            const bool adjacent = static_cast<size_t>(starter) + 1 == out.size();
            const bool blocked = !adjacent && (out_ccc.back() == 0 || out_ccc.back() >= cc);
            if (!blocked) {
                if (const uint32_t comp = compose_pair(out[starter], c)) {
                    out[starter] = comp;
                    continue;
                }
            }
        }
        if (cc == 0) starter = static_cast<ptrdiff_t>(out.size());
        out.push_back(c);
        out_ccc.push_back(cc);
    }

    std::string result;
    result.reserve(s.size() + 8);
    for (uint32_t c : out) append_utf8(result, c);
    return result;
}

}  // namespace r1::unicode
