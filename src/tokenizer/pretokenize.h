// Hand-written pre-tokenisers: the Hugging Face Split regexes of each family, matched exactly as Oniguruma
// matches them (leftmost match, alternatives in order, greedy with backtracking, lookahead seeing only the
// current piece), over the Unicode 14.0 category tables. Matches and the gaps between them are both kept
// (Split behaviour "Isolated").
//
//   deepseek-v3: three Splits applied one after another, each to every piece left by the previous one:
//     1  \p{N}{1,3}
//     2  [一-龥぀-ゟ゠-ヿ]+
//     3  [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+|
//        ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   qwen2:  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|
//           \s+(?!\S)|\s+
//   llama3: the same with \p{N}{1,3}
//   deepseek-llm (DeepSeek-LLM, DeepSeek-V2/V2-Lite; 102,400 tokens): five Splits in sequence, then HF's
//   Digits(individual_digits = true), which isolates every \p{N} character:
//     1  [\r\n]
//     2  \s?[A-Za-z\u00B5 ... \U0001E900-\U0001E943]+     87 ranges of cased letters (kDeepSeekLlmLetters)
//     3  \s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+
//     4  \s+$                                            the whitespace that ends the piece
//     5  [\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+
//   deepseek-coder: [\r\n], \s?\p{L}+, \s?\p{P}+, split 5 above, then the same Digits step.
// \s is Oniguruma's: the 25 White_Space code points.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace r1 {

struct PieceRange {
    uint32_t begin, end;  // byte offsets into the text
};

// Reusable buffers for split_pieces (one per encoding thread; avoids allocating per call).
struct PreTokenizeScratch {
    std::vector<uint32_t> cps;      // code points (invalid bytes as unicode::kInvalidBase + byte)
    std::vector<uint8_t> flags;     // unicode::flags of each
    std::vector<uint32_t> offsets;  // byte offset of each code point, plus one past the end
};

// Appends the pre-tokens of `text` (in order, covering all of it) to `out`.
void split_pieces(PreTokenizer kind, std::string_view text, PreTokenizeScratch& scratch,
                  std::vector<PieceRange>& out);

}  // namespace r1
