// Byte-level BPE tokenizer, id-exact with Hugging Face `tokenizers` for the DeepSeek-V3/R1, Qwen2
// (R1-Distill-Qwen), Llama-3 (R1-Distill-Llama), DeepSeek-LLM / DeepSeek-V2 and DeepSeek-Coder vocabularies.
//
// Pipeline (encode): split on added/special tokens (leftmost, then longest match; CONTROL tokens only when
// special parsing is on, USER_DEFINED ones such as <think> always) -> normalise (NFC for Qwen) ->
// pre-tokenise with the family's hand-written splitter (pretokenize.h) -> byte-level map -> BPE merges by
// rank (with llama3's ignore_merges) -> ids. No BOS is added here: callers (chat templates, `r1 run`) add it
// where the model wants it (add_bos()).
//
// Any byte string can be encoded: invalid UTF-8 bytes become single-byte pieces, so decode(encode(s)) == s
// (NFC(s) for Qwen). A Tokenizer is immutable after loading; encode/decode may run on many threads at once.
// Token types follow llama.cpp's converter whichever file the tokenizer came from (see load_hf.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace r1 {
namespace gguf {
class File;
}

// The pre-tokenisers r1 implements (pretokenize.h), named after llama.cpp's tokenizer.ggml.pre values:
// deepseek-v3, qwen2, llama-bpe, deepseek-llm (DeepSeek-LLM and DeepSeek-V2), deepseek-coder.
enum class PreTokenizer { DeepSeekV3, Qwen2, Llama3, DeepSeekLlm, DeepSeekCoder };
const char* pre_tokenizer_name(PreTokenizer p);

// GGUF token types (tokenizer.ggml.token_type).
enum class TokenType : int32_t {
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6
};

class Tokenizer {
  public:
    // From GGUF metadata (tokenizer.ggml.*). Throws r1::Error on a missing/unsupported vocabulary.
    static std::unique_ptr<Tokenizer> from_gguf(const gguf::File& file);
    // From a Hugging Face tokenizer.json (tokenizer_config.json beside it, if present, gives BOS/EOS, add_bos
    // and the chat template).
    static std::unique_ptr<Tokenizer> from_hf_json(const std::string& tokenizer_json_path);
    // Either of the above by file type: *.gguf, tokenizer.json, or a directory holding tokenizer.json.
    static std::unique_ptr<Tokenizer> from_path(const std::string& path);

    ~Tokenizer();

    // Text -> ids. parse_special: special-token text in the input becomes the special token (else plain
    // text).
    std::vector<int32_t> encode(std::string_view text, bool parse_special = true) const;
    // Ids -> bytes (special tokens rendered as their text unless skip_special).
    std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;
    // The bytes of one token (may be part of a UTF-8 character).
    std::string token_bytes(int32_t id) const;
    // The vocabulary string of a token ("Ġthe", "<｜User｜>").
    const std::string& token_text(int32_t id) const;
    TokenType token_type(int32_t id) const;

    int32_t n_vocab() const;
    int32_t bos() const;  // -1 if none
    int32_t eos() const;  // -1 if none
    int32_t pad() const;  // -1 if none
    bool add_bos() const;
    // Id of an exact token string (special or normal), or -1.
    int32_t find(std::string_view token_text) const;
    // End-of-generation tokens: EOS plus known ends of turn found in the vocabulary (<|eot_id|>, <|im_end|>,
    // ...).
    bool is_eog(int32_t id) const;
    const std::vector<int32_t>& eog_ids() const;
    bool is_special(int32_t id) const;  // CONTROL (or UNKNOWN/UNUSED)

    PreTokenizer pre_tokenizer() const;
    bool normalizes_nfc() const;  // text is NFC-normalised before pre-tokenisation (Qwen)
    bool ignores_merges() const;  // a pre-token found in the vocabulary is emitted whole (Llama-3)
    const std::string& chat_template() const;  // empty if none was given
    // The merges in rank order, as GGUF stores them: "left right" in byte-level text ("Ġ t").
    const std::vector<std::string>& merges() const;

    struct Impl;

  private:
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Turns a stream of token ids into text without ever emitting half a UTF-8 character: bytes of an incomplete
// character are held back until the character completes (or flush() is called).
class StreamDecoder {
  public:
    explicit StreamDecoder(const Tokenizer& tok, bool skip_special = false)
        : tok_(tok), skip_special_(skip_special) {}
    std::string push(int32_t id);
    std::string flush();  // whatever is held back (invalid sequences come out as U+FFFD)
    void reset() { pending_.clear(); }

  private:
    const Tokenizer& tok_;
    bool skip_special_;
    std::string pending_;
};

}  // namespace r1
