// Id-exactness against Hugging Face tokenizers: the golden files made by @lenml/tokenizers
// (scripts/tokenizer-goldens/gen_goldens.mjs) for DeepSeek-V3, Qwen3 (qwen2 pre-tokenizer + NFC) and
// Llama-3.1, loaded from tokenizer.json and again from a GGUF written by write_tokenizer_gguf; for
// DeepSeek-LLM (DeepSeek-V2) and DeepSeek-Coder, loaded from llama.cpp's vocabulary GGUFs; and llama.cpp's
// HF-made vectors ggml-vocab-{qwen2,llama-bpe,deepseek-llm,deepseek-coder}.gguf.inp/.out. The GGUFs and
// vectors are what scripts/fetch-assets.sh puts in <assets>/llama-vocab.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "formats/gguf.h"
#include "tokenizer/gguf_export.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_test_util.h"

namespace r1 {
namespace {

using test::asset_tokenizer;
using test::ids_to_string;
using test::load_golden;

#define SKIP_WITHOUT_ASSET(tok, name) \
    if ((tok) == nullptr) GTEST_SKIP() << "asset " << (name) << " missing: run scripts/fetch-assets.sh"

// Compares every golden case; reports the first few mismatches in full.
void expect_goldens(const Tokenizer& tok, const std::string& name) {
    const auto cases = load_golden(name);
    ASSERT_GT(cases.size(), 400u);
    int failures = 0;
    for (const auto& c : cases) {
        const std::vector<int32_t> ids = tok.encode(c.text, /*parse_special=*/true);
        if (ids != c.ids && ++failures <= 5) {
            ADD_FAILURE() << name << ": text [" << c.text << "]\n  expected " << ids_to_string(c.ids)
                          << "\n  got      " << ids_to_string(ids);
        }
    }
    EXPECT_EQ(failures, 0) << name << ": " << failures << " of " << cases.size() << " cases differ";
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, HfJsonMatchesHuggingFace) {
    const Tokenizer* tok = asset_tokenizer(GetParam());
    SKIP_WITHOUT_ASSET(tok, GetParam());
    expect_goldens(*tok, GetParam());
}

TEST_P(Golden, GgufExportRoundTrip) {
    const Tokenizer* tok = asset_tokenizer(GetParam());
    SKIP_WITHOUT_ASSET(tok, GetParam());
    const int32_t padded = tok->n_vocab() + 77;
    gguf::Writer w;
    w.set_string("general.architecture", "llama");
    write_tokenizer_gguf(*tok, w, padded);
    const std::string path = ::testing::TempDir() + "tok_" + GetParam() + ".gguf";
    w.write(path);
    const auto file = gguf::File::open(path);
    EXPECT_EQ(file->get_string("tokenizer.ggml.model"), "gpt2");
    const auto loaded = Tokenizer::from_gguf(*file);
    std::filesystem::remove(path);

    ASSERT_EQ(loaded->n_vocab(), padded);
    EXPECT_EQ(loaded->pre_tokenizer(), tok->pre_tokenizer());
    EXPECT_EQ(loaded->normalizes_nfc(), tok->normalizes_nfc());
    EXPECT_EQ(loaded->ignores_merges(), tok->ignores_merges());
    EXPECT_EQ(loaded->bos(), tok->bos());
    EXPECT_EQ(loaded->eos(), tok->eos());
    EXPECT_EQ(loaded->pad(), tok->pad());
    EXPECT_EQ(loaded->add_bos(), tok->add_bos());
    EXPECT_EQ(loaded->chat_template(), tok->chat_template());
    EXPECT_EQ(loaded->eog_ids(), tok->eog_ids());
    for (int32_t id = 0; id < tok->n_vocab(); ++id) {
        ASSERT_EQ(loaded->token_text(id), tok->token_text(id)) << id;
        ASSERT_EQ(loaded->token_type(id), tok->token_type(id)) << id;
    }
    for (int32_t id = tok->n_vocab(); id < padded; ++id) {
        EXPECT_EQ(loaded->token_type(id), TokenType::Unused);
        EXPECT_EQ(loaded->token_text(id), "[PAD" + std::to_string(id) + "]");
    }
    expect_goldens(*loaded, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, Golden, ::testing::Values("deepseek_v3", "qwen3", "llama3_1"),
                         [](const auto& info) { return info.param; });

// llama.cpp's tokenizer test vectors, produced by Hugging Face tokenizers: models/ggml-vocab-<name>.gguf with
// .inp (cases separated by "\n__ggml_vocab_test__\n") and .out (one line of space-separated ids per case).
// scripts/fetch-assets.sh copies them from the llama.cpp source bundled in npm node-llama-cpp@3.22.1 to
// <assets>/llama-vocab; R1_LLAMA_VOCAB_DIR overrides the directory (e.g. a llama.cpp models/ checkout).
// Only vocabularies that must pass are listed; a missing file is a failure, not a skip.
std::string llama_vocab_dir() {
    const char* env = std::getenv("R1_LLAMA_VOCAB_DIR");
    return env != nullptr && *env != '\0' ? std::string(env) : std::string(R1_ASSETS_DIR) + "/llama-vocab";
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct VocabCase {
    std::string text;
    std::vector<int32_t> ids;
};

// False (and a test failure saying what to do) when the file is missing.
bool require_vocab_file(const std::string& path) {
    if (std::filesystem::exists(path)) return true;
    ADD_FAILURE() << path << " is missing: run scripts/fetch-assets.sh (it copies llama.cpp's vocab test "
                  << "vectors to " << R1_ASSETS_DIR << "/llama-vocab), or point R1_LLAMA_VOCAB_DIR at a "
                  << "directory holding them";
    return false;
}

// The .inp/.out pairs of ggml-vocab-<name>.gguf; fails the test (returns empty) when they are missing.
std::vector<VocabCase> load_vocab_cases(const std::string& gguf_path) {
    for (const std::string& p : {gguf_path, gguf_path + ".inp", gguf_path + ".out"})
        if (!require_vocab_file(p)) return {};
    const std::string inp = slurp(gguf_path + ".inp");
    std::vector<VocabCase> cases;
    const std::string sep = "\n__ggml_vocab_test__\n";
    for (size_t pos = 0;;) {
        const size_t next = inp.find(sep, pos);
        if (next == std::string::npos) break;  // the file ends with a separator
        cases.push_back({inp.substr(pos, next - pos), {}});
        pos = next + sep.size();
    }
    std::istringstream out(slurp(gguf_path + ".out"));
    std::string line;
    size_t i = 0;
    for (; i < cases.size() && std::getline(out, line); ++i) {
        std::istringstream ls(line);
        for (int32_t id; ls >> id;) cases[i].ids.push_back(id);
    }
    EXPECT_EQ(i, cases.size()) << gguf_path << ".out has fewer lines than .inp has cases";
    EXPECT_FALSE(std::getline(out, line)) << gguf_path << ".out has more lines than .inp has cases";
    return cases;
}

class LlamaCppVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(LlamaCppVectors, MatchOut) {
    const std::string path = llama_vocab_dir() + "/ggml-vocab-" + GetParam() + ".gguf";
    const std::vector<VocabCase> cases = load_vocab_cases(path);
    if (cases.empty()) return;
    ASSERT_GT(cases.size(), 40u);
    const auto tok = Tokenizer::from_path(path);
    EXPECT_STREQ(pre_tokenizer_name(tok->pre_tokenizer()), GetParam().c_str());
    size_t failures = 0;
    for (size_t i = 0; i < cases.size(); ++i) {
        const VocabCase& c = cases[i];
        // As llama.cpp's test-tokenizer-0: no BOS, special-token text not parsed (none occurs in .inp).
        const auto ids = tok->encode(c.text, /*parse_special=*/false);
        if (ids != c.ids && ++failures <= 5)
            ADD_FAILURE() << GetParam() << " case " << i << " [" << c.text << "]\n  expected "
                          << ids_to_string(c.ids) << "\n  got      " << ids_to_string(ids);
        // Byte-level BPE loses nothing (Qwen's NFC changes none of these texts).
        if (ids == c.ids) EXPECT_EQ(tok->decode(ids), c.text) << GetParam() << " case " << i;
    }
    EXPECT_EQ(failures, 0u) << GetParam() << ": " << failures << " of " << cases.size() << " cases differ";
    std::printf("%s: %zu cases checked\n", GetParam().c_str(), cases.size());
}

// The same vectors after write_tokenizer_gguf: the pre-tokenizer name and vocabulary survive export.
TEST_P(LlamaCppVectors, GgufExportKeepsIds) {
    const std::string path = llama_vocab_dir() + "/ggml-vocab-" + GetParam() + ".gguf";
    const std::vector<VocabCase> cases = load_vocab_cases(path);
    if (cases.empty()) return;
    const auto tok = Tokenizer::from_path(path);
    gguf::Writer w;
    w.set_string("general.architecture", "llama");
    write_tokenizer_gguf(*tok, w);
    const std::string out = ::testing::TempDir() + "vocab_" + GetParam() + ".gguf";
    w.write(out);
    const auto loaded = Tokenizer::from_gguf(*gguf::File::open(out));
    std::filesystem::remove(out);
    EXPECT_EQ(loaded->pre_tokenizer(), tok->pre_tokenizer());
    EXPECT_EQ(loaded->add_bos(), tok->add_bos());
    for (const VocabCase& c : cases) EXPECT_EQ(loaded->encode(c.text, false), c.ids) << "[" << c.text << "]";
}

// DeepSeek-LLM / DeepSeek-V2 and DeepSeek-Coder: golden_deepseek_{llm,coder}.jsonl, made by @lenml/tokenizers
// from a tokenizer.json assembled out of the same vocabulary GGUFs (gen_goldens.mjs), over the texts of the
// other goldens plus characters these pre-tokenizers single out.
class DeepSeekV2Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(DeepSeekV2Golden, GgufMatchesHuggingFacePort) {
    std::string vocab = GetParam();
    for (char& c : vocab)
        if (c == '_') c = '-';
    const std::string path = llama_vocab_dir() + "/ggml-vocab-" + vocab + ".gguf";
    if (!require_vocab_file(path)) return;
    const auto tok = Tokenizer::from_path(path);
    EXPECT_STREQ(pre_tokenizer_name(tok->pre_tokenizer()), vocab.c_str());
    expect_goldens(*tok, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Vocabs, DeepSeekV2Golden, ::testing::Values("deepseek_llm", "deepseek_coder"),
                         [](const auto& info) { return info.param; });

INSTANTIATE_TEST_SUITE_P(Vocabs, LlamaCppVectors,
                         ::testing::Values("qwen2", "llama-bpe", "deepseek-llm", "deepseek-coder"),
                         [](const auto& info) {
                             std::string n = info.param;
                             for (char& c : n)
                                 if (c == '-') c = '_';
                             return n;
                         });

}  // namespace
}  // namespace r1
