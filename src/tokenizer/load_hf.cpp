// Tokenizer::from_hf_json: a Hugging Face tokenizer.json (BPE model, byte-level) plus the
// tokenizer_config.json beside it (BOS/EOS/padding tokens, add_bos_token, chat_template).
//
// Only the pipelines r1 implements are accepted, recognised by their exact regexes: DeepSeek-V3 (three
// Splits), Qwen2 and Llama-3 (one Split each), DeepSeek-LLM / DeepSeek-V2 (five Splits and Digits) and
// DeepSeek-Coder (four Splits and Digits), each followed by ByteLevel without its own regex; normaliser
// none, an empty Sequence, or NFC. Anything else is an r1::Error that names the part that differs.
//
// Token types follow llama.cpp's converter (convert_hf_to_gguf.py get_vocab_base), so that a tokenizer loaded
// here and one loaded from a converted GGUF behave the same: added tokens are CONTROL when marked special or
// shaped like "<|...|>" / "<｜...｜>", USER_DEFINED otherwise; ids missing from both lists are "[PAD{id}]"
// UNUSED.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/mapped_file.h"
#include "tokenizer/tokenizer_impl.h"

namespace r1 {

namespace {

using json = nlohmann::json;

const char* const kDs3Digits = R"re(\p{N}{1,3})re";
const char* const kDs3Cjk = "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+";
const char* const kDs3Words =
    R"re([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
const char* const kQwen2 =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
const char* const kLlama3 =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

// DeepSeek-LLM / DeepSeek-V2 (five Splits) and DeepSeek-Coder (four), each then Digits(individual_digits).
// The letter class holds U+1F7D, U+1FBE, U+2126, U+212A, ...: characters that NFC would change, which is why
// they are written as escapes here.
const char* const kDsV2Newline = R"re([\r\n])re";
const char* const kDsLlmLetters =
    "\\s?["
    "A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af"
    "\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5"
    "\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba"
    "\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45"
    "\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe"
    "\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc"
    "\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139"
    "\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3"
    "\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06"
    "\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3"
    "\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-\U000118df"
    "\U0001e900-\U0001e943"
    "]+";
const char* const kDsLlmPunct = "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+";
const char* const kDsLlmTrailingSpace = R"re(\s+$)re";
const char* const kDsCjkHangul = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+";
const char* const kDsCoderLetters = R"re(\s?\p{L}+)re";
const char* const kDsCoderPunct = R"re(\s?\p{P}+)re";
// Stands for a Digits(individual_digits = true) step in the list of steps compared below.
const char* const kIndividualDigits = "<Digits individual_digits>";

json parse_json_file(const std::string& path) {
    const MappedFile file(path);
    const auto* begin = reinterpret_cast<const char*>(file.data());
    try {
        return json::parse(begin, begin + file.size());
    } catch (const json::exception& e) {
        fail("%s: not valid JSON: %s", path.c_str(), e.what());
    }
}

// Some files spell CR/LF inside character classes as the characters themselves, others as \r \n.
std::string canonical_regex(std::string r) {
    std::string out;
    for (char c : r) {
        if (c == '\r')
            out += "\\r";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

// A pre_tokenizer step before the final ByteLevel, as text to compare: a Split's regex, or kIndividualDigits.
std::string step_signature(const json& pt, const std::string& src) {
    const std::string type = pt.value("type", "");
    if (type == "Digits") {
        if (!pt.value("individual_digits", false))
            fail("%s: Digits with individual_digits = false is not supported", src.c_str());
        return kIndividualDigits;
    }
    if (type != "Split")
        fail("%s: pre_tokenizer step of type '%s' where a Split or Digits was expected", src.c_str(),
             pt.value("type", "?").c_str());
    if (pt.value("behavior", "") != "Isolated" || pt.value("invert", false))
        fail("%s: Split with behavior '%s'%s is not supported (expected Isolated, not inverted)", src.c_str(),
             pt.value("behavior", "?").c_str(), pt.value("invert", false) ? " inverted" : "");
    const json& pat = pt.at("pattern");
    if (!pat.contains("Regex")) fail("%s: Split pattern is not a Regex", src.c_str());
    return canonical_regex(pat.at("Regex").get<std::string>());
}

void check_byte_level_step(const json& pt, const std::string& src) {
    if (pt.value("type", "") != "ByteLevel" || pt.value("use_regex", true) ||
        pt.value("add_prefix_space", false))
        fail(
            "%s: the last pre_tokenizer step must be ByteLevel with use_regex = false and add_prefix_space = "
            "false, found %s",
            src.c_str(), pt.dump().substr(0, 200).c_str());
}

PreTokenizer detect_pre_tokenizer(const json& root, const std::string& src) {
    const json& pre = root.contains("pre_tokenizer") ? root["pre_tokenizer"] : json();
    if (!pre.is_object() || pre.value("type", "") != "Sequence" || !pre.contains("pretokenizers"))
        fail(
            "%s: pre_tokenizer must be a Sequence of Splits (and Digits) ending in ByteLevel (deepseek-v3, "
            "qwen2, llama3, deepseek-llm or deepseek-coder), "
            "found "
            "%s",
            src.c_str(), pre.dump().substr(0, 200).c_str());
    const json& steps = pre["pretokenizers"];
    std::vector<std::string> regexes;
    for (size_t i = 0; i + 1 < steps.size(); ++i) regexes.push_back(step_signature(steps[i], src));
    if (steps.empty()) fail("%s: empty pre_tokenizer Sequence", src.c_str());
    check_byte_level_step(steps.back(), src);
    const std::vector<std::string> ds3 = {canonical_regex(kDs3Digits), canonical_regex(kDs3Cjk),
                                          canonical_regex(kDs3Words)};
    if (regexes == ds3) return PreTokenizer::DeepSeekV3;
    if (regexes.size() == 1 && regexes[0] == canonical_regex(kQwen2)) return PreTokenizer::Qwen2;
    if (regexes.size() == 1 && regexes[0] == canonical_regex(kLlama3)) return PreTokenizer::Llama3;
    const std::vector<std::string> ds_llm = {canonical_regex(kDsV2Newline), kDsLlmLetters, kDsLlmPunct,
                                             kDsLlmTrailingSpace,           kDsCjkHangul,  kIndividualDigits};
    if (regexes == ds_llm) return PreTokenizer::DeepSeekLlm;
    const std::vector<std::string> ds_coder = {canonical_regex(kDsV2Newline), kDsCoderLetters, kDsCoderPunct,
                                               kDsCjkHangul, kIndividualDigits};
    if (regexes == ds_coder) return PreTokenizer::DeepSeekCoder;
    std::string found;
    for (const auto& r : regexes) found += "\n  " + r;
    fail(
        "%s: unsupported pre-tokenizer steps (r1 implements deepseek-v3, qwen2, llama3, deepseek-llm and "
        "deepseek-coder):%s",
        src.c_str(), found.c_str());
}

bool detect_nfc(const json& root, const std::string& src) {
    const json& norm = root.contains("normalizer") ? root["normalizer"] : json();
    if (norm.is_null()) return false;
    const std::string type = norm.value("type", "");
    if (type == "NFC") return true;
    if (type == "Sequence" && norm.contains("normalizers")) {
        const json& list = norm["normalizers"];
        if (list.empty()) return false;
        if (list.size() == 1 && list[0].value("type", "") == "NFC") return true;
    }
    fail("%s: unsupported normalizer %s (r1 supports none or NFC)", src.c_str(),
         norm.dump().substr(0, 200).c_str());
}

// A token named in tokenizer_config.json: a string, {"content": ...}, or null.
std::optional<std::string> config_token(const json& config, const char* key) {
    if (!config.contains(key)) return std::nullopt;
    const json& v = config[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string())
        return v["content"].get<std::string>();
    return std::nullopt;
}

std::string config_chat_template(const json& config) {
    if (!config.contains("chat_template")) return {};
    const json& t = config["chat_template"];
    if (t.is_string()) return t.get<std::string>();
    if (t.is_array()) {  // [{"name": "default", "template": ...}, ...]
        for (const json& e : t)
            if (e.value("name", "") == "default" && e.contains("template"))
                return e["template"].get<std::string>();
    }
    return {};
}

// BOS named by a TemplateProcessing post-processor that starts single sequences with a special token
// (Llama-3).
std::optional<std::string> post_processor_bos(const json& root) {
    if (!root.contains("post_processor") || !root["post_processor"].is_object()) return std::nullopt;
    std::vector<json> procs{root["post_processor"]};
    if (procs[0].value("type", "") == "Sequence" && procs[0].contains("processors"))
        procs = procs[0]["processors"].get<std::vector<json>>();
    for (const json& p : procs) {
        if (p.value("type", "") != "TemplateProcessing" || !p.contains("single") || p["single"].empty())
            continue;
        const json& first = p["single"][0];
        if (first.contains("SpecialToken")) return first["SpecialToken"].value("id", "");
    }
    return std::nullopt;
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_hf_json(const std::string& path) {
    const json root = parse_json_file(path);
    TokenizerSpec spec;
    spec.source = path;
    try {
        const json& model = root.at("model");
        if (model.value("type", "BPE") != "BPE")
            fail("%s: model type '%s' is not supported (expected BPE)", path.c_str(),
                 model.value("type", "").c_str());
        if (model.value("byte_fallback", false))
            fail("%s: BPE with byte_fallback (SentencePiece-style) is not supported", path.c_str());
        for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"})
            if (model.contains(k) && model[k].is_string() && !model[k].get<std::string>().empty())
                fail("%s: BPE %s is not supported", path.c_str(), k);
        spec.pre = detect_pre_tokenizer(root, path);
        spec.nfc = detect_nfc(root, path);
        spec.ignore_merges = model.value("ignore_merges", false);

        // Vocabulary and added tokens -> one table indexed by id.
        std::vector<std::pair<std::string, int64_t>> vocab;
        int64_t max_id = -1;
        for (const auto& [text, id] : model.at("vocab").items()) {
            vocab.emplace_back(text, id.get<int64_t>());
            max_id = std::max(max_id, vocab.back().second);
        }
        const json& added = root.contains("added_tokens") ? root["added_tokens"] : json::array();
        for (const json& a : added) max_id = std::max(max_id, a.at("id").get<int64_t>());
        if (max_id < 0) fail("%s: the vocabulary is empty", path.c_str());
        if (max_id >= INT32_MAX)
            fail("%s: token id %lld is too large", path.c_str(), static_cast<long long>(max_id));
        const auto n = static_cast<size_t>(max_id + 1);
        spec.tokens.resize(n);
        spec.types.assign(n, TokenType::Unused);
        spec.normalized.assign(n, false);
        std::vector<bool> present(n, false);
        for (auto& [text, id] : vocab) {
            if (id < 0)
                fail("%s: token '%s' has negative id %lld", path.c_str(), text.c_str(), (long long)id);
            if (present[id])
                fail("%s: id %lld is used by two vocabulary tokens", path.c_str(), (long long)id);
            present[id] = true;
            spec.tokens[id] = std::move(text);
            spec.types[id] = TokenType::Normal;
        }
        for (const json& a : added) {
            const auto id = a.at("id").get<int64_t>();
            const std::string content = a.at("content").get<std::string>();
            if (id < 0) fail("%s: added token '%s' has negative id", path.c_str(), content.c_str());
            if (a.value("lstrip", false) || a.value("rstrip", false) || a.value("single_word", false))
                fail("%s: added token '%s' uses lstrip/rstrip/single_word, which r1 does not support",
                     path.c_str(), content.c_str());
            if (present[id] && spec.tokens[id] != content)
                fail("%s: added token '%s' reuses id %lld of vocabulary token '%s'", path.c_str(),
                     content.c_str(), (long long)id, spec.tokens[id].c_str());
            present[id] = true;
            spec.tokens[id] = content;
            spec.types[id] = (a.value("special", false) || looks_like_control_token(content))
                                 ? TokenType::Control
                                 : TokenType::UserDefined;
            spec.normalized[id] = a.value("normalized", false);
        }
        for (size_t i = 0; i < n; ++i)
            if (!present[i]) spec.tokens[i] = "[PAD" + std::to_string(i) + "]";

        const json& merges = model.at("merges");
        spec.merges.reserve(merges.size());
        for (const json& m : merges) {
            if (m.is_string()) {
                spec.merges.push_back(m.get<std::string>());
            } else if (m.is_array() && m.size() == 2) {
                spec.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
            } else {
                fail("%s: merge %s is neither \"a b\" nor [\"a\", \"b\"]", path.c_str(), m.dump().c_str());
            }
        }
    } catch (const json::exception& e) {
        fail("%s: unexpected tokenizer.json layout: %s", path.c_str(), e.what());
    }

    // tokenizer_config.json beside it: special tokens, add_bos_token, chat template.
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(path).parent_path();
    const fs::path config_path = dir / "tokenizer_config.json";
    json config = json::object();
    std::error_code ec;
    if (fs::exists(config_path, ec)) config = parse_json_file(config_path.string());
    auto id_of = [&](const std::optional<std::string>& text, const char* what) -> int32_t {
        if (!text) return -1;
        for (size_t i = 0; i < spec.tokens.size(); ++i)
            if (spec.tokens[i] == *text && spec.types[i] != TokenType::Unused) return static_cast<int32_t>(i);
        fail("%s: %s '%s' is not in the vocabulary", config_path.string().c_str(), what, text->c_str());
    };
    const std::optional<std::string> template_bos = post_processor_bos(root);
    std::optional<std::string> bos = config_token(config, "bos_token");
    if (!bos) bos = template_bos;
    spec.bos = id_of(bos, "bos_token");
    spec.eos = id_of(config_token(config, "eos_token"), "eos_token");
    spec.pad = id_of(config_token(config, "pad_token"), "pad_token");
    if (config.contains("add_bos_token") && config["add_bos_token"].is_boolean())
        spec.add_bos = config["add_bos_token"].get<bool>();
    else
        spec.add_bos = template_bos.has_value();
    spec.chat_template = config_chat_template(config);
    if (spec.chat_template.empty() && fs::exists(dir / "chat_template.jinja", ec))
        spec.chat_template = read_file((dir / "chat_template.jinja").string());

    return std::unique_ptr<Tokenizer>(new Tokenizer(build_tokenizer_impl(std::move(spec))));
}

}  // namespace r1
