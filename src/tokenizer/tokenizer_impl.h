// Internals of Tokenizer shared by its source files: the loaders (load_hf.cpp, load_gguf.cpp) fill a
// TokenizerSpec; build_tokenizer_impl turns it into the lookup structures encode/decode use.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/tokenizer.h"

namespace r1 {

// Everything that defines a tokenizer, in the form both file formats can give.
struct TokenizerSpec {
    std::string source;  // file it came from (for messages)
    PreTokenizer pre = PreTokenizer::Qwen2;
    bool nfc = false;                 // NFC-normalise text between added tokens (Qwen)
    bool ignore_merges = false;       // emit a pre-token whole when it is in the vocabulary (Llama-3)
    std::vector<std::string> tokens;  // vocabulary string per id ("Ġthe", "<｜User｜>", "[PAD5]")
    std::vector<TokenType> types;     // per id
    std::vector<bool> normalized;     // per id: added token matched on normalised text (HF), else raw
    std::vector<std::string> merges;  // "left right", in rank order
    int32_t bos = -1, eos = -1, pad = -1;
    bool add_bos = false;
    std::string chat_template;
};

struct Tokenizer::Impl {
    TokenizerSpec spec;
    std::vector<std::string> bytes;  // per id: what decode emits
    std::unordered_map<std::string, int32_t> id_of_text;
    BpeModel bpe;
    AddedTokenMatcher added;
    std::vector<int32_t> eog;
    std::vector<bool> is_eog;
};

// Validates the spec (sizes, ids in range, merges resolvable) and builds the lookup structures; throws
// r1::Error naming spec.source and the offending entry.
std::unique_ptr<Tokenizer::Impl> build_tokenizer_impl(TokenizerSpec spec);

// The llama.cpp converter's rule (convert_hf_to_gguf.py does_token_look_special): added tokens shaped like
// "<|...|>" or "<｜...｜>" (and a few known names) are CONTROL even when the HF file says special = false.
bool looks_like_control_token(const std::string& text);

}  // namespace r1
