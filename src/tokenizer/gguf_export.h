// Writes a Tokenizer into GGUF metadata the way llama.cpp's converter does (convert_hf_to_gguf.py
// get_vocab_base / SpecialVocab), so that llama.cpp and Tokenizer::from_gguf both load it.
#pragma once

#include <cstdint>

namespace r1 {
class Tokenizer;
namespace gguf {
class Writer;
}

// Sets tokenizer.ggml.{model = "gpt2", pre, tokens, token_type, merges, bos_token_id, eos_token_id,
// padding_token_id (if any), add_bos_token, add_eos_token = false} and tokenizer.chat_template (if any).
// n_vocab is the model's vocabulary size (embedding rows, often padded: 129280, 151936, 128256); ids from
// tok.n_vocab() up to it become "[PAD{id}]" UNUSED tokens. 0 means tok.n_vocab(). Throws r1::Error when
// n_vocab is smaller than the tokenizer's vocabulary.
void write_tokenizer_gguf(const Tokenizer& tok, gguf::Writer& writer, int32_t n_vocab = 0);

}  // namespace r1
