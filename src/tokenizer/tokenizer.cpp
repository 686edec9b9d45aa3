// Tokenizer: building the lookup structures, encode (added tokens -> NFC -> pre-tokenise -> BPE), decode,
// and StreamDecoder. The loaders are in load_hf.cpp and load_gguf.cpp.
#include "tokenizer/tokenizer.h"

#include <filesystem>

#include "base/error.h"
#include "formats/gguf.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace r1 {

const char* pre_tokenizer_name(PreTokenizer p) {
    switch (p) {
        case PreTokenizer::DeepSeekV3:
            return "deepseek-v3";
        case PreTokenizer::Qwen2:
            return "qwen2";
        case PreTokenizer::Llama3:
            return "llama-bpe";
        case PreTokenizer::DeepSeekLlm:
            return "deepseek-llm";
        case PreTokenizer::DeepSeekCoder:
            return "deepseek-coder";
    }
    return "?";
}

bool looks_like_control_token(const std::string& t) {
    auto wrapped = [&](std::string_view open, std::string_view close) {
        return t.size() >= open.size() + close.size() && t.compare(0, open.size(), open) == 0 &&
               t.compare(t.size() - close.size(), close.size(), close) == 0;
    };
    return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || wrapped("<|", "|>") ||
           wrapped("<\xEF\xBD\x9C", "\xEF\xBD\x9C>") || wrapped("<unused", ">");
}

namespace {

// Token texts that end a turn or a document in the families we know (llama.cpp's list, trimmed to them).
const char* const kEndOfGenerationTexts[] = {
    "<|eot_id|>",
    "<|eom_id|>",
    "<|end_of_text|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<|end|>",
    "<EOT>",
    "<\xEF\xBD\x9C"
    "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",  // <｜end▁of▁sentence｜>
};

bool is_added_type(TokenType t) {
    return t == TokenType::Control || t == TokenType::UserDefined;
}

}  // namespace

std::unique_ptr<Tokenizer::Impl> build_tokenizer_impl(TokenizerSpec spec) {
    auto impl = std::make_unique<Tokenizer::Impl>();
    const std::string& src = spec.source;
    const size_t n = spec.tokens.size();
    if (n == 0) fail("%s: the vocabulary is empty", src.c_str());
    if (n > static_cast<size_t>(INT32_MAX)) fail("%s: vocabulary of %zu tokens is too large", src.c_str(), n);
    if (spec.types.size() != n)
        fail("%s: %zu token types for %zu tokens (expected one type per token)", src.c_str(),
             spec.types.size(), n);
    spec.normalized.resize(n, false);
    auto check_id = [&](int32_t id, const char* what) {
        if (id < -1 || id >= static_cast<int32_t>(n))
            fail("%s: %s id %d is outside the vocabulary [0, %zu)", src.c_str(), what, id, n);
    };
    check_id(spec.bos, "BOS");
    check_id(spec.eos, "EOS");
    check_id(spec.pad, "padding");

    impl->bytes.resize(n);
    impl->id_of_text.reserve(n * 2);
    impl->bpe.byte_token.fill(-1);
    impl->bpe.ignore_merges = spec.ignore_merges;
    impl->bpe.token_of_bytes.reserve(n * 2);
    // Normal tokens first so that they win the text -> id lookup over an added token with the same text.
    for (int pass = 0; pass < 2; ++pass) {
        for (size_t i = 0; i < n; ++i) {
            const bool normal = spec.types[i] == TokenType::Normal;
            if (normal != (pass == 0)) continue;
            const auto id = static_cast<int32_t>(i);
            impl->id_of_text.emplace(spec.tokens[i], id);
            std::optional<std::string> raw;
            if (normal) raw = byte_level::decode(spec.tokens[i]);
            if (raw) {
                impl->bytes[i] = *raw;
                impl->bpe.token_of_bytes.emplace(*raw, id);
                if (raw->size() == 1 && impl->bpe.byte_token[static_cast<unsigned char>((*raw)[0])] < 0)
                    impl->bpe.byte_token[static_cast<unsigned char>((*raw)[0])] = id;
            } else {
                impl->bytes[i] = spec.tokens[i];  // added tokens (and odd normal ones) decode to their text
            }
            if (is_added_type(spec.types[i]))
                impl->added.add(spec.tokens[i],
                                {id, spec.types[i] == TokenType::Control, spec.normalized[i]});
        }
    }

    impl->bpe.merges.reserve(spec.merges.size());
    for (size_t r = 0; r < spec.merges.size(); ++r) {
        const std::string& m = spec.merges[r];
        const size_t sp = m.find(' ', 1);
        if (sp == std::string::npos || sp + 1 >= m.size())
            fail("%s: merge #%zu '%s' is not two tokens separated by a space", src.c_str(), r, m.c_str());
        const std::string left = m.substr(0, sp), right = m.substr(sp + 1);
        auto lookup = [&](const std::string& t) {
            const auto it = impl->id_of_text.find(t);
            if (it == impl->id_of_text.end())
                fail("%s: merge #%zu '%s' uses '%s', which is not in the vocabulary", src.c_str(), r,
                     m.c_str(), t.c_str());
            return it->second;
        };
        const int32_t left_id = lookup(left);
        const int32_t right_id = lookup(right);
        const int32_t merged_id = lookup(left + right);
        impl->bpe.merges.insert(left_id, right_id, {static_cast<int32_t>(r), merged_id});
    }

    impl->is_eog.assign(n, false);
    auto add_eog = [&](int32_t id) {
        if (id >= 0 && !impl->is_eog[id]) {
            impl->is_eog[id] = true;
            impl->eog.push_back(id);
        }
    };
    add_eog(spec.eos);
    for (const char* t : kEndOfGenerationTexts) {
        const auto it = impl->id_of_text.find(t);
        if (it != impl->id_of_text.end()) add_eog(it->second);
    }
    impl->spec = std::move(spec);
    return impl;
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::from_path(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        const fs::path json = fs::path(path) / "tokenizer.json";
        if (!fs::exists(json, ec))
            fail(
                "%s: directory has no tokenizer.json (expected a GGUF file, a tokenizer.json, or a directory "
                "holding one)",
                path.c_str());
        return from_hf_json(json.string());
    }
    if (!fs::exists(path, ec)) fail("%s: no such file", path.c_str());
    const std::string ext = fs::path(path).extension().string();
    if (ext == ".gguf") return from_gguf(*gguf::File::open(path));
    if (ext == ".json") return from_hf_json(path);
    fail("%s: unknown tokenizer file type (expected *.gguf, tokenizer.json, or a directory holding one)",
         path.c_str());
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

namespace {

struct EncodeScratch {
    PreTokenizeScratch pre;
    std::vector<PieceRange> pieces;
    BpeScratch bpe;
};

void encode_plain(const Tokenizer::Impl& im, std::string_view text, EncodeScratch& s,
                  std::vector<int32_t>& out) {
    s.pieces.clear();
    split_pieces(im.spec.pre, text, s.pre, s.pieces);
    for (const PieceRange& p : s.pieces) im.bpe.encode(text.substr(p.begin, p.end - p.begin), s.bpe, out);
}

// Text between raw-matched added tokens: normalise, then look for added tokens that match normalised text.
void encode_normalizable(const Tokenizer::Impl& im, std::string_view text, bool parse_special,
                         EncodeScratch& s, std::vector<int32_t>& out) {
    std::string normalized;
    if (im.spec.nfc && !unicode::nfc_quick_stable(text)) {
        normalized = unicode::nfc(text);
        text = normalized;
    }
    size_t pos = 0;
    while (pos < text.size()) {
        const auto m = im.added.find(text, pos, parse_special, /*normalized=*/true);
        const size_t end = m ? m->begin : text.size();
        if (end > pos) encode_plain(im, text.substr(pos, end - pos), s, out);
        if (!m) break;
        out.push_back(m->id);
        pos = m->begin + m->length;
    }
}

}  // namespace

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 4);
    EncodeScratch s;
    size_t pos = 0;
    while (pos < text.size()) {
        const auto m = impl_->added.find(text, pos, parse_special, /*normalized=*/false);
        const size_t end = m ? m->begin : text.size();
        if (end > pos) encode_normalizable(*impl_, text.substr(pos, end - pos), parse_special, s, out);
        if (!m) break;
        out.push_back(m->id);
        pos = m->begin + m->length;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------
// Decoding and accessors

namespace {
void check_token_id(const Tokenizer::Impl& im, int32_t id) {
    if (id < 0 || static_cast<size_t>(id) >= im.spec.tokens.size())
        fail("token id %d is outside the vocabulary [0, %zu)", id, im.spec.tokens.size());
}
}  // namespace

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
    std::string out;
    for (int32_t id : ids) {
        check_token_id(*impl_, id);
        if (skip_special && is_special(id)) continue;
        out += impl_->bytes[id];
    }
    return out;
}

std::string Tokenizer::token_bytes(int32_t id) const {
    check_token_id(*impl_, id);
    return impl_->bytes[id];
}

const std::string& Tokenizer::token_text(int32_t id) const {
    check_token_id(*impl_, id);
    return impl_->spec.tokens[id];
}

TokenType Tokenizer::token_type(int32_t id) const {
    check_token_id(*impl_, id);
    return impl_->spec.types[id];
}

int32_t Tokenizer::n_vocab() const {
    return static_cast<int32_t>(impl_->spec.tokens.size());
}
int32_t Tokenizer::bos() const {
    return impl_->spec.bos;
}
int32_t Tokenizer::eos() const {
    return impl_->spec.eos;
}
int32_t Tokenizer::pad() const {
    return impl_->spec.pad;
}
bool Tokenizer::add_bos() const {
    return impl_->spec.add_bos;
}

int32_t Tokenizer::find(std::string_view token_text) const {
    const auto it = impl_->id_of_text.find(std::string(token_text));
    return it == impl_->id_of_text.end() ? -1 : it->second;
}

bool Tokenizer::is_eog(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < impl_->is_eog.size() && impl_->is_eog[id];
}
const std::vector<int32_t>& Tokenizer::eog_ids() const {
    return impl_->eog;
}

bool Tokenizer::is_special(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= impl_->spec.types.size()) return false;
    const TokenType t = impl_->spec.types[id];
    return t == TokenType::Control || t == TokenType::Unknown || t == TokenType::Unused;
}

PreTokenizer Tokenizer::pre_tokenizer() const {
    return impl_->spec.pre;
}
bool Tokenizer::normalizes_nfc() const {
    return impl_->spec.nfc;
}
bool Tokenizer::ignores_merges() const {
    return impl_->spec.ignore_merges;
}
const std::string& Tokenizer::chat_template() const {
    return impl_->spec.chat_template;
}
const std::vector<std::string>& Tokenizer::merges() const {
    return impl_->spec.merges;
}

// ---------------------------------------------------------------------------------------------------------
// StreamDecoder

std::string StreamDecoder::push(int32_t id) {
    if (skip_special_ && tok_.is_special(id)) return {};
    pending_ += tok_.token_bytes(id);
    const size_t hold = unicode::incomplete_utf8_tail(pending_);
    std::string ready = unicode::sanitize_utf8(std::string_view(pending_).substr(0, pending_.size() - hold));
    pending_.erase(0, pending_.size() - hold);
    return ready;
}

std::string StreamDecoder::flush() {
    std::string out = unicode::sanitize_utf8(pending_);
    pending_.clear();
    return out;
}

}  // namespace r1
