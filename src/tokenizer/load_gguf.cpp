// Tokenizer::from_gguf: the tokenizer.ggml.* metadata of a GGUF file (spec §4.2), as llama.cpp's converter
// writes it. GGUF does not record the normaliser or ignore_merges, so they follow from tokenizer.ggml.pre, as
// in the Hugging Face files of those families: qwen2 / deepseek-r1-qwen normalise to NFC, llama3 ignores
// merges for pre-tokens already in the vocabulary; deepseek-llm / deepseek-coder do neither.
#include "base/error.h"
#include "formats/gguf.h"
#include "tokenizer/tokenizer_impl.h"

namespace r1 {

namespace {

struct PreInfo {
    const char* name;
    PreTokenizer pre;
};
// llama.cpp names (src/llama-vocab.cpp) of the pre-tokenisers r1 implements.
const PreInfo kPreNames[] = {
    {"deepseek-v3", PreTokenizer::DeepSeekV3},   {"qwen2", PreTokenizer::Qwen2},
    {"deepseek-r1-qwen", PreTokenizer::Qwen2},   {"llama3", PreTokenizer::Llama3},
    {"llama-v3", PreTokenizer::Llama3},          {"llama-bpe", PreTokenizer::Llama3},
    {"deepseek-llm", PreTokenizer::DeepSeekLlm}, {"deepseek-coder", PreTokenizer::DeepSeekCoder},
};

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const gguf::File& file) {
    TokenizerSpec spec;
    spec.source = file.path();
    const char* src = file.path().c_str();

    const std::optional<std::string> model = file.get_string("tokenizer.ggml.model");
    if (!model) fail("%s: no tokenizer.ggml.model key (the file carries no tokenizer)", src);
    if (*model != "gpt2")
        fail("%s: tokenizer.ggml.model is '%s'; r1 supports only 'gpt2' (byte-level BPE)", src,
             model->c_str());
    const std::string pre = file.get_string("tokenizer.ggml.pre").value_or("");
    bool known = false;
    for (const PreInfo& p : kPreNames) {
        if (pre == p.name) {
            spec.pre = p.pre;
            known = true;
        }
    }
    if (!known)
        fail(
            "%s: tokenizer.ggml.pre '%s' is not supported (expected deepseek-v3, qwen2, deepseek-r1-qwen, "
            "llama3, llama-v3, llama-bpe, deepseek-llm or deepseek-coder)",
            src, pre.c_str());
    spec.nfc = spec.pre == PreTokenizer::Qwen2;
    spec.ignore_merges = spec.pre == PreTokenizer::Llama3;

    const std::vector<std::string_view> tokens = file.get_string_array("tokenizer.ggml.tokens");
    if (tokens.empty()) fail("%s: tokenizer.ggml.tokens is missing or empty", src);
    spec.tokens.assign(tokens.begin(), tokens.end());
    const std::vector<int64_t> types = file.get_int_array("tokenizer.ggml.token_type");
    if (types.empty()) {
        spec.types.assign(tokens.size(), TokenType::Normal);
    } else {
        if (types.size() != tokens.size())
            fail("%s: tokenizer.ggml.token_type has %zu entries for %zu tokens", src, types.size(),
                 tokens.size());
        spec.types.reserve(types.size());
        for (size_t i = 0; i < types.size(); ++i) {
            if (types[i] < 1 || types[i] > 6)
                fail("%s: tokenizer.ggml.token_type[%zu] = %lld (expected 1..6)", src, i,
                     static_cast<long long>(types[i]));
            spec.types.push_back(static_cast<TokenType>(types[i]));
        }
    }
    const std::vector<std::string_view> merges = file.get_string_array("tokenizer.ggml.merges");
    if (merges.empty())
        fail("%s: tokenizer.ggml.merges is missing or empty (a gpt2 tokenizer needs merges)", src);
    spec.merges.assign(merges.begin(), merges.end());

    auto id_key = [&](const char* key) -> int32_t {
        const std::optional<int64_t> v = file.get_int(key);
        if (!v) return -1;
        if (*v < 0 || *v >= static_cast<int64_t>(tokens.size()))
            fail("%s: %s = %lld is outside the vocabulary [0, %zu)", src, key, static_cast<long long>(*v),
                 tokens.size());
        return static_cast<int32_t>(*v);
    };
    spec.bos = id_key("tokenizer.ggml.bos_token_id");
    spec.eos = id_key("tokenizer.ggml.eos_token_id");
    spec.pad = id_key("tokenizer.ggml.padding_token_id");
    // Without the key: the Hugging Face defaults of these families (Llama-3 and DeepSeek-V3 add BOS, Qwen
    // not).
    spec.add_bos = file.get_bool("tokenizer.ggml.add_bos_token")
                       .value_or(spec.bos >= 0 && spec.pre != PreTokenizer::Qwen2);
    spec.chat_template = file.get_string("tokenizer.chat_template").value_or("");

    return std::unique_ptr<Tokenizer>(new Tokenizer(build_tokenizer_impl(std::move(spec))));
}

}  // namespace r1
