// Tokenizer behaviour beyond the id goldens: pre-tokenisation against Oniguruma (pieces_*.jsonl from
// scripts/tokenizer-goldens/gen_pieces_onig.py), special tokens, round trips and fuzzing, StreamDecoder, and
// clean errors for unsupported or broken files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "formats/gguf.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_test_util.h"
#include "tokenizer/unicode.h"

namespace r1 {
namespace {

using test::asset_tokenizer;
using test::ids_to_string;

#define SKIP_WITHOUT_ASSET(tok, name) \
    if ((tok) == nullptr) GTEST_SKIP() << "asset " << (name) << " missing: run scripts/fetch-assets.sh"

// ---------------------------------------------------------------------------------------------------------
// Pre-tokenisation against Oniguruma

std::vector<std::string> pieces_of(PreTokenizer kind, const std::string& text) {
    PreTokenizeScratch scratch;
    std::vector<PieceRange> ranges;
    split_pieces(kind, text, scratch, ranges);
    std::vector<std::string> out;
    for (const auto& r : ranges) out.push_back(text.substr(r.begin, r.end - r.begin));
    return out;
}

class OnigPieces : public ::testing::TestWithParam<std::pair<const char*, PreTokenizer>> {};

TEST_P(OnigPieces, MatchOniguruma) {
    const std::string path = std::string(R1_TEST_DATA) + "/tokenizer/pieces_" + GetParam().first + ".jsonl";
    std::ifstream in(path);
    ASSERT_TRUE(in) << path;
    int n = 0, bad = 0;
    for (std::string line; std::getline(in, line);) {
        const auto j = nlohmann::json::parse(line);
        const auto text = j.at("text").get<std::string>();
        const auto expected = j.at("pieces").get<std::vector<std::string>>();
        ++n;
        const auto got = pieces_of(GetParam().second, text);
        if (got != expected && ++bad <= 5) {
            std::string e, g;
            for (const auto& p : expected) e += "[" + p + "]";
            for (const auto& p : got) g += "[" + p + "]";
            ADD_FAILURE() << "text [" << text << "]\n  onig " << e << "\n  ours " << g;
        }
    }
    EXPECT_GT(n, 1400);
    EXPECT_EQ(bad, 0);
}

INSTANTIATE_TEST_SUITE_P(PreTokenizers, OnigPieces,
                         ::testing::Values(std::make_pair("deepseek_v3", PreTokenizer::DeepSeekV3),
                                           std::make_pair("qwen2", PreTokenizer::Qwen2),
                                           std::make_pair("llama3", PreTokenizer::Llama3),
                                           std::make_pair("deepseek_llm", PreTokenizer::DeepSeekLlm),
                                           std::make_pair("deepseek_coder", PreTokenizer::DeepSeekCoder)),
                         [](const auto& info) { return std::string(info.param.first); });

TEST(PreTokenize, HandPickedCases) {
    using V = std::vector<std::string>;
    // DeepSeek-V3: digits in threes, CJK runs apart, punctuation runs keep trailing newlines.
    EXPECT_EQ(pieces_of(PreTokenizer::DeepSeekV3, "abc12345def"), (V{"abc", "123", "45", "def"}));
    EXPECT_EQ(pieces_of(PreTokenizer::DeepSeekV3, "ab中文cd"), (V{"ab", "中文", "cd"}));
    EXPECT_EQ(pieces_of(PreTokenizer::DeepSeekV3, "~~~\n\nx"), (V{"~~~\n\n", "x"}));
    EXPECT_EQ(pieces_of(PreTokenizer::DeepSeekV3, "a   b"), (V{"a", "  ", " b"}));
    EXPECT_EQ(pieces_of(PreTokenizer::DeepSeekV3, ".NET 'quoted'"), (V{".NET", " '", "quoted", "'"}));
    // Qwen2: single digits, contractions, whitespace before a word keeps one space for the word.
    EXPECT_EQ(pieces_of(PreTokenizer::Qwen2, "I'm 123"), (V{"I", "'m", " ", "1", "2", "3"}));
    EXPECT_EQ(pieces_of(PreTokenizer::Qwen2, "a \n\n b"), (V{"a", " \n\n", " b"}));
    // Llama-3: digits in threes.
    EXPECT_EQ(pieces_of(PreTokenizer::Llama3, "12345"), (V{"123", "45"}));
    // Invalid UTF-8 bytes survive as their own characters.
    EXPECT_EQ(pieces_of(PreTokenizer::Llama3, "a\xFF\xFE b"), (V{"a", "\xFF\xFE", " b"}));
    // DeepSeek-LLM: one space joins the next word or punctuation run, digits one by one, newlines alone,
    // trailing whitespace apart, and a letter outside its Latin/Greek/Cyrillic/... class (here ß is in,
    // U+01BB is not) splits a word.
    EXPECT_EQ(pieces_of(PreTokenizer::DeepSeekLlm, "Hello, world!! 2024\n\n"),
              (V{"Hello", ",", " world", "!!", " ", "2", "0", "2", "4", "\n", "\n"}));
    EXPECT_EQ(pieces_of(PreTokenizer::DeepSeekLlm, "x\u01BBy  \t"), (V{"x", "\u01BB", "y", "  \t"}));
    // U+3000 joins "b" in steps 2 and 3 but is split off again by step 5, whose U+0800..U+4E00 covers it.
    EXPECT_EQ(pieces_of(PreTokenizer::DeepSeekLlm, "a\u3000b"), (V{"a", "\u3000", "b"}));
    EXPECT_EQ(pieces_of(PreTokenizer::DeepSeekLlm, "\u4E2D\u6587\uD55C\uAE00 \u00DF"),
              (V{"\u4E2D\u6587\uD55C\uAE00", " \u00DF"}));
    // DeepSeek-Coder: any \p{L} run, any \p{P} run (symbols such as + stay in the gap).
    EXPECT_EQ(pieces_of(PreTokenizer::DeepSeekCoder, "x += f(12);\r\n"),
              (V{"x", " +=", " f", "(", "1", "2", ");", "\r", "\n"}));
}

// ---------------------------------------------------------------------------------------------------------
// Special tokens, ids looked up by string

TEST(SpecialTokens, DeepSeekV3) {
    const Tokenizer* tok = asset_tokenizer("deepseek_v3");
    SKIP_WITHOUT_ASSET(tok, "deepseek_v3");
    const int32_t bos = tok->find("<｜begin▁of▁sentence｜>");
    const int32_t eos = tok->find("<｜end▁of▁sentence｜>");
    const int32_t user = tok->find("<｜User｜>");
    const int32_t assistant = tok->find("<｜Assistant｜>");
    ASSERT_GE(bos, 0);
    ASSERT_GE(user, 0);
    EXPECT_EQ(tok->bos(), bos);
    EXPECT_EQ(tok->eos(), eos);
    EXPECT_TRUE(tok->add_bos());
    EXPECT_TRUE(tok->is_eog(eos));
    EXPECT_FALSE(tok->is_eog(user));
    EXPECT_EQ(tok->pre_tokenizer(), PreTokenizer::DeepSeekV3);
    EXPECT_FALSE(tok->chat_template().empty());
    // Not special in tokenizer.json but shaped <｜...｜>: CONTROL, as llama.cpp's converter makes it.
    EXPECT_EQ(tok->token_type(user), TokenType::Control);
    EXPECT_EQ(tok->token_type(tok->find("Hello")), TokenType::Normal);

    const std::string text = "<｜User｜>Hi<｜Assistant｜>";
    const auto ids = tok->encode(text);
    ASSERT_EQ(ids.front(), user);
    ASSERT_EQ(ids.back(), assistant);
    EXPECT_EQ(tok->decode(ids), text);
    EXPECT_EQ(tok->decode(ids, /*skip_special=*/true), "Hi");
    // Without special parsing the control token is plain text: several tokens, same bytes back.
    const auto plain = tok->encode(text, /*parse_special=*/false);
    EXPECT_GT(plain.size(), ids.size());
    for (int32_t id : plain) EXPECT_NE(tok->token_type(id), TokenType::Control);
    EXPECT_EQ(tok->decode(plain), text);
    // Longest match first: the user token then text, not a prefix.
    EXPECT_EQ(tok->encode("<｜User｜><｜User｜>"), (std::vector<int32_t>{user, user}));
}

TEST(SpecialTokens, QwenUserDefinedAlwaysMatched) {
    const Tokenizer* tok = asset_tokenizer("qwen3");
    SKIP_WITHOUT_ASSET(tok, "qwen3");
    const int32_t think = tok->find("<think>");
    const int32_t im_end = tok->find("<|im_end|>");
    ASSERT_GE(think, 0);
    ASSERT_GE(im_end, 0);
    EXPECT_EQ(tok->token_type(think), TokenType::UserDefined);
    EXPECT_EQ(tok->token_type(im_end), TokenType::Control);
    EXPECT_EQ(tok->bos(), -1);
    EXPECT_FALSE(tok->add_bos());
    EXPECT_EQ(tok->eos(), im_end);
    EXPECT_EQ(tok->pad(), tok->find("<|endoftext|>"));
    EXPECT_TRUE(tok->is_eog(im_end));
    EXPECT_TRUE(tok->is_eog(tok->find("<|endoftext|>")));
    EXPECT_TRUE(tok->normalizes_nfc());

    const auto with = tok->encode("<think>\nx<|im_end|>", true);
    const auto without = tok->encode("<think>\nx<|im_end|>", false);
    EXPECT_EQ(with.front(), think);
    EXPECT_EQ(with.back(), im_end);
    EXPECT_EQ(without.front(), think);  // user-defined: matched even without special parsing
    EXPECT_NE(without.back(), im_end);
    EXPECT_EQ(tok->decode(without), "<think>\nx<|im_end|>");
    EXPECT_EQ(tok->decode(with, /*skip_special=*/true), "<think>\nx");
}

TEST(SpecialTokens, Llama3) {
    const Tokenizer* tok = asset_tokenizer("llama3_1");
    SKIP_WITHOUT_ASSET(tok, "llama3_1");
    EXPECT_EQ(tok->bos(), tok->find("<|begin_of_text|>"));
    EXPECT_TRUE(tok->add_bos());  // from the TemplateProcessing post-processor
    EXPECT_EQ(tok->eos(), tok->find("<|eot_id|>"));
    EXPECT_TRUE(tok->is_eog(tok->find("<|end_of_text|>")));
    EXPECT_EQ(tok->find("<|eom_id|>"), -1);  // this Llama-3 vocabulary has no eom token
    EXPECT_TRUE(tok->ignores_merges());
    EXPECT_EQ(tok->token_text(tok->find("Ġthe")), "Ġthe");
    EXPECT_EQ(tok->token_bytes(tok->find("Ġthe")), " the");
    EXPECT_THROW(tok->token_text(tok->n_vocab()), Error);
    EXPECT_THROW(tok->decode(std::vector<int32_t>{-1}), Error);
}

// ---------------------------------------------------------------------------------------------------------
// Round trips

TEST(RoundTrip, GoldenTexts) {
    for (const char* name : test::kAssetNames) {
        const Tokenizer* tok = asset_tokenizer(name);
        SKIP_WITHOUT_ASSET(tok, name);
        for (const auto& c : test::load_golden(name)) {
            const std::string expected = tok->normalizes_nfc() ? unicode::nfc(c.text) : c.text;
            ASSERT_EQ(tok->decode(tok->encode(c.text)), expected) << name << ": " << c.text;
            ASSERT_EQ(tok->decode(tok->encode(c.text, false)), expected) << name << ": " << c.text;
        }
    }
}

// Random strings over all of Unicode (no surrogates), and random bytes (invalid UTF-8): decode(encode(s))
// gives s back (NFC(s) for Qwen). Encoding must not lose or invent bytes whatever the input.
TEST(RoundTrip, RandomUnicodeAndBytesFuzz) {
    std::mt19937 rng(1234);
    auto random_text = [&](bool raw_bytes) {
        std::string s;
        const int n = std::uniform_int_distribution<int>(1, 40)(rng);
        for (int i = 0; i < n; ++i) {
            if (raw_bytes) {
                s.push_back(static_cast<char>(rng() & 0xFF));
                continue;
            }
            const int kind = static_cast<int>(rng() % 4);
            uint32_t cp = kind == 0   ? 0x20 + rng() % 0x60
                          : kind == 1 ? rng() % 0x800
                          : kind == 2 ? rng() % 0x10000
                                      : rng() % 0x110000;
            if (cp >= 0xD800 && cp < 0xE000) cp = 'x';
            unicode::append_utf8(s, cp);
        }
        return s;
    };
    for (const char* name : test::kAssetNames) {
        const Tokenizer* tok = asset_tokenizer(name);
        SKIP_WITHOUT_ASSET(tok, name);
        for (int iter = 0; iter < 1500; ++iter) {
            const bool raw = iter % 3 == 2;
            const std::string s = random_text(raw);
            const std::string expected = tok->normalizes_nfc() ? unicode::nfc(s) : s;
            const auto ids = tok->encode(s, /*parse_special=*/false);
            for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < tok->n_vocab());
            ASSERT_EQ(tok->decode(ids), expected) << name << " iteration " << iter;
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// StreamDecoder

TEST(StreamDecoder, NeverEmitsHalfACharacter) {
    const Tokenizer* tok = asset_tokenizer("llama3_1");
    SKIP_WITHOUT_ASSET(tok, "llama3_1");
    const std::string text = "emoji 🦙🧑🏾‍🚀 and 漢字 and ꙮ𝔘𝔫𝔦𝔠𝔬𝔡𝔢 done";
    const auto ids = tok->encode(text);
    // Some tokens must be partial characters for this test to mean anything.
    int partial = 0;
    for (int32_t id : ids) partial += !unicode::is_valid_utf8(tok->token_bytes(id));
    ASSERT_GT(partial, 0);

    StreamDecoder dec(*tok);
    std::string joined;
    for (int32_t id : ids) {
        const std::string piece = dec.push(id);
        EXPECT_TRUE(unicode::is_valid_utf8(piece)) << "token " << id;
        joined += piece;
    }
    joined += dec.flush();
    EXPECT_EQ(joined, text);
}

TEST(StreamDecoder, InvalidBytesBecomeReplacementAndSkipSpecial) {
    const Tokenizer* tok = asset_tokenizer("qwen3");
    SKIP_WITHOUT_ASSET(tok, "qwen3");
    // A lone lead byte token followed by ASCII: the lead can never complete, so it comes out as U+FFFD.
    const std::string lead = "\xE4";
    const auto lead_ids = tok->encode(lead, false);
    ASSERT_EQ(lead_ids.size(), 1u);
    StreamDecoder dec(*tok, /*skip_special=*/true);
    EXPECT_EQ(dec.push(lead_ids[0]), "");  // held back: might still complete
    EXPECT_EQ(dec.push(tok->find("<|im_end|>")), "");
    EXPECT_EQ(dec.push(tok->encode("a", false)[0]),
              "\xEF\xBF\xBD"
              "a");
    EXPECT_EQ(dec.push(lead_ids[0]), "");
    EXPECT_EQ(dec.flush(), "\xEF\xBF\xBD");
    EXPECT_EQ(dec.flush(), "");
}

// ---------------------------------------------------------------------------------------------------------
// Errors

class TempDir {
  public:
    TempDir() {
        path_ = std::filesystem::path(::testing::TempDir()) /
                ("r1_tok_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    std::string write(const std::string& name, const std::string& content) const {
        const auto p = path_ / name;
        std::ofstream(p, std::ios::binary) << content;
        return p.string();
    }

  private:
    static inline int counter_ = 0;
    std::filesystem::path path_;
};

// A tiny valid byte-level tokenizer.json (qwen2 pipeline) with the given edits applied.
nlohmann::json tiny_tokenizer_json() {
    nlohmann::json vocab = nlohmann::json::object();
    int id = 0;
    for (const char* t : {"a", "b", "ab", "Ġ"}) vocab[t] = id++;
    return {
        {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"a b"}}}},
        {"normalizer", {{"type", "NFC"}}},
        {"pre_tokenizer",
         {{"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "Split"},
             {"pattern",
              {{"Regex",
                R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}}},
             {"behavior", "Isolated"},
             {"invert", false}},
            {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
        {"added_tokens", {{{"id", 4}, {"content", "<|end|>"}, {"special", true}}}},
    };
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

// tokenizer.json files of the DeepSeek-LLM / DeepSeek-V2 and DeepSeek-Coder families: their pre_tokenizer
// objects (tests/data/tokenizer/hf_pre_tokenizer_*.json, written by gen_pieces_onig.py) are recognised.
TEST(HfJson, DeepSeekV2FamiliesRecognised) {
    TempDir dir;
    for (const auto& [name, kind] : {std::make_pair("deepseek_llm", PreTokenizer::DeepSeekLlm),
                                     std::make_pair("deepseek_coder", PreTokenizer::DeepSeekCoder)}) {
        std::ifstream in(std::string(R1_TEST_DATA) + "/tokenizer/hf_pre_tokenizer_" + name + ".json");
        ASSERT_TRUE(in) << name;
        const nlohmann::json pre = nlohmann::json::parse(in);
        auto j = tiny_tokenizer_json();
        j["pre_tokenizer"] = pre;
        j["normalizer"] = {{"type", "Sequence"}, {"normalizers", nlohmann::json::array()}};
        const auto tok = Tokenizer::from_hf_json(dir.write("tokenizer.json", j.dump()));
        EXPECT_EQ(tok->pre_tokenizer(), kind) << name;
        EXPECT_FALSE(tok->normalizes_nfc()) << name;
        EXPECT_EQ(tok->encode("ab a<|end|>"), (std::vector<int32_t>{2, 3, 0, 4})) << name;

        // One character of a regex changed, or Digits that keeps runs together: not this family.
        auto changed = j;
        auto& regex = changed["pre_tokenizer"]["pretokenizers"][1]["pattern"]["Regex"];
        regex = regex.get<std::string>() + "?";
        EXPECT_NE(error_of([&] {
                      Tokenizer::from_hf_json(dir.write("tokenizer.json", changed.dump()));
                  }).find("unsupported pre-tokenizer steps"),
                  std::string::npos)
            << name;
        auto runs = j;
        for (auto& step : runs["pre_tokenizer"]["pretokenizers"])
            if (step["type"] == "Digits") step["individual_digits"] = false;
        EXPECT_NE(error_of([&] {
                      Tokenizer::from_hf_json(dir.write("tokenizer.json", runs.dump()));
                  }).find("individual_digits = false is not supported"),
                  std::string::npos)
            << name;
    }
}

TEST(Errors, TinyTokenizerLoadsAndEncodes) {
    TempDir dir;
    const auto tok = Tokenizer::from_hf_json(dir.write("tokenizer.json", tiny_tokenizer_json().dump()));
    EXPECT_EQ(tok->n_vocab(), 5);
    EXPECT_EQ(tok->encode("ab a<|end|>"), (std::vector<int32_t>{2, 3, 0, 4}));
    EXPECT_EQ(tok->encode("abba"), (std::vector<int32_t>{2, 1, 0}));
    EXPECT_TRUE(tok->is_eog(4));  // "<|end|>" is a known end-of-turn text
}

TEST(Errors, BrokenAndUnsupportedFilesGiveClearErrors) {
    TempDir dir;
    auto load = [&](const nlohmann::json& j) {
        Tokenizer::from_hf_json(dir.write("tokenizer.json", j.dump()));
    };
    auto j = tiny_tokenizer_json();

    EXPECT_NE(error_of([&] {
                  Tokenizer::from_hf_json(dir.write("tokenizer.json", "{ not json"));
              }).find("not valid JSON"),
              std::string::npos);
    EXPECT_NE(
        error_of([&] { Tokenizer::from_path(dir.write("x.txt", "")); }).find("unknown tokenizer file type"),
        std::string::npos);
    EXPECT_NE(error_of([&] { Tokenizer::from_path("/nonexistent/tokenizer.json"); }).find("no such file"),
              std::string::npos);

    auto bad_regex = j;
    bad_regex["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\w+";
    EXPECT_NE(error_of([&] { load(bad_regex); }).find("unsupported pre-tokenizer"), std::string::npos);

    auto bad_norm = j;
    bad_norm["normalizer"] = {{"type", "NFKC"}};
    EXPECT_NE(error_of([&] { load(bad_norm); }).find("unsupported normalizer"), std::string::npos);

    auto bad_merge = j;
    bad_merge["model"]["merges"] = {"a zz"};
    EXPECT_NE(error_of([&] { load(bad_merge); }).find("'zz', which is not in the vocabulary"),
              std::string::npos);

    auto wordpiece = j;
    wordpiece["model"]["type"] = "WordPiece";
    EXPECT_NE(error_of([&] { load(wordpiece); }).find("expected BPE"), std::string::npos);

    auto no_model = j;
    no_model.erase("model");
    EXPECT_NE(error_of([&] { load(no_model); }).find("unexpected tokenizer.json layout"), std::string::npos);

    dir.write("tokenizer_config.json", R"({"bos_token": "<s>"})");
    EXPECT_NE(error_of([&] { load(j); }).find("bos_token '<s>' is not in the vocabulary"), std::string::npos);
}

TEST(Errors, GgufWithoutUsableTokenizer) {
    TempDir dir;
    const std::string path = (std::filesystem::path(::testing::TempDir()) / "r1_tok_bad.gguf").string();
    auto try_load = [&](const std::function<void(gguf::Writer&)>& fill) {
        gguf::Writer w;
        fill(w);
        w.write(path);
        return error_of([&] { Tokenizer::from_gguf(*gguf::File::open(path)); });
    };
    EXPECT_NE(try_load([](gguf::Writer&) {}).find("no tokenizer.ggml.model"), std::string::npos);
    EXPECT_NE(
        try_load([](gguf::Writer& w) { w.set_string("tokenizer.ggml.model", "llama"); }).find("only 'gpt2'"),
        std::string::npos);
    EXPECT_NE(try_load([](gguf::Writer& w) {
                  w.set_string("tokenizer.ggml.model", "gpt2");
                  w.set_string("tokenizer.ggml.pre", "falcon");
              }).find("'falcon' is not supported"),
              std::string::npos);
    EXPECT_NE(try_load([](gguf::Writer& w) {
                  w.set_string("tokenizer.ggml.model", "gpt2");
                  w.set_string("tokenizer.ggml.pre", "qwen2");
                  w.set_string_array("tokenizer.ggml.tokens", {"a", "b"});
                  w.set_i32_array("tokenizer.ggml.token_type", {1});
                  w.set_string_array("tokenizer.ggml.merges", {"a b"});
              }).find("token_type has 1 entries for 2 tokens"),
              std::string::npos);
    EXPECT_NE(try_load([](gguf::Writer& w) {
                  w.set_string("tokenizer.ggml.model", "gpt2");
                  w.set_string("tokenizer.ggml.pre", "qwen2");
                  w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "ab"});
                  w.set_string_array("tokenizer.ggml.merges", {"a b"});
                  w.set_u32("tokenizer.ggml.eos_token_id", 7);
              }).find("eos_token_id = 7 is outside the vocabulary"),
              std::string::npos);
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace r1
