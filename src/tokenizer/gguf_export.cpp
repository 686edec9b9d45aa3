// GGUF export of a tokenizer (see gguf_export.h).
#include "tokenizer/gguf_export.h"

#include <string>
#include <vector>

#include "base/error.h"
#include "formats/gguf.h"
#include "tokenizer/tokenizer.h"

namespace r1 {

void write_tokenizer_gguf(const Tokenizer& tok, gguf::Writer& w, int32_t n_vocab) {
    const int32_t n_tok = tok.n_vocab();
    if (n_vocab == 0) n_vocab = n_tok;
    if (n_vocab < n_tok)
        fail("write_tokenizer_gguf: n_vocab %d is smaller than the tokenizer's %d tokens", n_vocab, n_tok);

    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    tokens.reserve(n_vocab);
    types.reserve(n_vocab);
    for (int32_t i = 0; i < n_vocab; ++i) {
        if (i < n_tok) {
            tokens.push_back(tok.token_text(i));
            types.push_back(static_cast<int32_t>(tok.token_type(i)));
        } else {
            tokens.push_back("[PAD" + std::to_string(i) + "]");
            types.push_back(static_cast<int32_t>(TokenType::Unused));
        }
    }

    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", pre_tokenizer_name(tok.pre_tokenizer()));
    w.set_string_array("tokenizer.ggml.tokens", tokens);
    w.set_i32_array("tokenizer.ggml.token_type", types);
    w.set_string_array("tokenizer.ggml.merges", tok.merges());
    // llama.cpp's gguf writer stores the special ids as u32.
    if (tok.bos() >= 0) w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(tok.bos()));
    if (tok.eos() >= 0) w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(tok.eos()));
    if (tok.pad() >= 0) w.set_u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(tok.pad()));
    w.set_bool("tokenizer.ggml.add_bos_token", tok.add_bos());
    w.set_bool("tokenizer.ggml.add_eos_token", false);
    if (!tok.chat_template().empty()) w.set_string("tokenizer.chat_template", tok.chat_template());
}

}  // namespace r1
