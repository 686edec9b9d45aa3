// Tokenizer::from_hf_json: a Hugging Face tokenizer.json (BPE model, byte-level) plus the
// tokenizer_config.json beside it (BOS/EOS/padding tokens, add_bos_token, chat_template).
//
// Only the pipelines r1 implements are accepted, recognised by their exact regexes: DeepSeek-V3 (three
// Splits), Qwen2 and Llama-3 (one Split each), each followed by ByteLevel without its own regex; normaliser
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

std::string split_regex(const json& pt, const std::string& src) {
    if (pt.value("type", "") != "Split")
        fail("%s: pre_tokenizer step of type '%s' where a Split was expected", src.c_str(),
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
            "%s: pre_tokenizer must be a Sequence of Splits and ByteLevel (deepseek-v3, qwen2 or llama3), "
            "found "
            "%s",
            src.c_str(), pre.dump().substr(0, 200).c_str());
    const json& steps = pre["pretokenizers"];
    std::vector<std::string> regexes;
    for (size_t i = 0; i + 1 < steps.size(); ++i) regexes.push_back(split_regex(steps[i], src));
    if (steps.empty()) fail("%s: empty pre_tokenizer Sequence", src.c_str());
    check_byte_level_step(steps.back(), src);
    const std::vector<std::string> ds3 = {canonical_regex(kDs3Digits), canonical_regex(kDs3Cjk),
                                          canonical_regex(kDs3Words)};
    if (regexes == ds3) return PreTokenizer::DeepSeekV3;
    if (regexes.size() == 1 && regexes[0] == canonical_regex(kQwen2)) return PreTokenizer::Qwen2;
    if (regexes.size() == 1 && regexes[0] == canonical_regex(kLlama3)) return PreTokenizer::Llama3;
    std::string found;
    for (const auto& r : regexes) found += "\n  " + r;
    fail("%s: unsupported pre-tokenizer regexes (r1 implements deepseek-v3, qwen2 and llama3):%s",
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
