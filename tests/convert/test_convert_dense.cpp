// r1 convert on dense checkpoints (qwen2, llama): metadata keys, tensor names and values, the llama q/k
// permutation (checked by what it is for: RoPE attention scores stay the same), llama3 rope_freqs, the
// tokenizer, and quantised outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>

#include "base/rng.h"
#include "convert/convert_test_util.h"
#include "tensor/quant.h"

namespace r1::test {
namespace {

constexpr int64_t kD = 64, kFF = 128, kH = 4, kHkv = 2, kHd = 16, kV = 272;

void expect_same(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    size_t bad = 0;
    for (size_t i = 0; i < got.size(); ++i)
        if (got[i] != want[i] && bad++ < 3)
            ADD_FAILURE() << what << "[" << i << "] = " << got[i] << ", want " << want[i];
    EXPECT_EQ(bad, 0u) << what;
}

std::set<std::string> tensor_names(const gguf::File& f) {
    std::set<std::string> s;
    for (const auto& t : f.tensors()) s.insert(t.name);
    return s;
}

TEST(ConvertDense, Qwen2KeysTensorsAndTokenizer) {
    ScratchDir scratch;
    const TinyCheckpoint ck = make_tiny_checkpoint({.kind = TinyKind::Qwen2});
    const Converted c = write_and_convert(ck, scratch, "qwen2", {.type = "f32"});
    const gguf::File& f = *c.file;

    EXPECT_EQ(f.require_string("general.architecture"), "qwen2");
    EXPECT_EQ(f.require_string("general.name"), "qwen2");  // the directory name
    EXPECT_EQ(f.require_int("general.file_type"), 0);
    EXPECT_EQ(f.require_int("qwen2.block_count"), 2);
    EXPECT_EQ(f.require_int("qwen2.context_length"), 2048);
    EXPECT_EQ(f.require_int("qwen2.embedding_length"), kD);
    EXPECT_EQ(f.require_int("qwen2.feed_forward_length"), kFF);
    EXPECT_EQ(f.require_int("qwen2.attention.head_count"), kH);
    EXPECT_EQ(f.require_int("qwen2.attention.head_count_kv"), kHkv);
    EXPECT_FLOAT_EQ(f.require_float("qwen2.rope.freq_base"), 10000.0f);
    EXPECT_FLOAT_EQ(f.require_float("qwen2.attention.layer_norm_rms_epsilon"), 1e-6f);
    EXPECT_EQ(f.find("qwen2.vocab_size"), nullptr);  // llama.cpp's Qwen2Model does not write it
    EXPECT_EQ(f.find("qwen2.rope.scaling.type"), nullptr);
    EXPECT_EQ(f.find("qwen2.attention.key_length"), nullptr);

    // Tokenizer: 262 real tokens, padded to vocab_size with [PAD{i}] UNUSED entries.
    const auto tokens = f.get_string_array("tokenizer.ggml.tokens");
    ASSERT_EQ(tokens.size(), static_cast<size_t>(kV));
    EXPECT_EQ(tokens[0], "<｜begin▁of▁sentence｜>");
    EXPECT_EQ(tokens[261], "Ġthe");
    EXPECT_EQ(tokens[262], "[PAD262]");
    EXPECT_EQ(f.get_int_array("tokenizer.ggml.token_type")[262], 5);
    EXPECT_EQ(f.require_string("tokenizer.ggml.model"), "gpt2");
    EXPECT_EQ(f.require_string("tokenizer.ggml.pre"), "deepseek-v3");
    EXPECT_EQ(f.require_int("tokenizer.ggml.bos_token_id"), 0);
    EXPECT_EQ(f.require_int("tokenizer.ggml.eos_token_id"), 1);

    std::set<std::string> want = {"token_embd.weight", "output_norm.weight", "output.weight"};
    for (int l = 0; l < 2; ++l)
        for (const char* n : {"attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight",
                              "attn_q.bias", "attn_k.bias", "attn_v.bias", "attn_output.weight",
                              "ffn_norm.weight", "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"})
            want.insert("blk." + std::to_string(l) + "." + n);
    EXPECT_EQ(tensor_names(f), want);
    EXPECT_EQ(c.result.n_tensors, static_cast<int64_t>(want.size()));

    // qwen2 needs no permutation: every tensor is the HF tensor, bit for bit (f32 output of bf16 input).
    const std::pair<const char*, const char*> same[] = {
        {"token_embd.weight", "model.embed_tokens.weight"},
        {"output.weight", "lm_head.weight"},
        {"output_norm.weight", "model.norm.weight"},
        {"blk.1.attn_q.weight", "model.layers.1.self_attn.q_proj.weight"},
        {"blk.1.attn_k.weight", "model.layers.1.self_attn.k_proj.weight"},
        {"blk.1.attn_q.bias", "model.layers.1.self_attn.q_proj.bias"},
        {"blk.0.attn_v.bias", "model.layers.0.self_attn.v_proj.bias"},
        {"blk.0.attn_output.weight", "model.layers.0.self_attn.o_proj.weight"},
        {"blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight"},
        {"blk.0.ffn_norm.weight", "model.layers.0.post_attention_layernorm.weight"},
    };
    for (const auto& [g, h] : same) expect_same(gguf_f32(f, g), ck.at(h).values, g);
    EXPECT_EQ(gguf_tensor(f, "blk.0.attn_k.weight").shape, (std::vector<int64_t>{kHkv * kHd, kD}));
}

// RoPE scores for one head pair, computed the HF way (half-split pairs, unpermuted weights) or the GGUF way
// (adjacent pairs, permuted weights). Returns q·k after rotating q at position pq and k at pk.
double rope_score(const std::vector<float>& wq, const std::vector<float>& wk, const std::vector<float>& bq,
                  const std::vector<float>& bk, const std::vector<float>& x, const std::vector<float>& y,
                  int hq, int hk, int pq, int pk, bool adjacent_pairs) {
    auto project = [&](const std::vector<float>& w, const std::vector<float>& b, const std::vector<float>& in,
                       int head) {
        std::vector<double> out(kHd);
        for (int i = 0; i < kHd; ++i) {
            double s = b.empty() ? 0.0 : b[static_cast<size_t>(head * kHd + i)];
            for (int j = 0; j < kD; ++j)
                s += double(w[static_cast<size_t>((head * kHd + i) * kD + j)]) * in[j];
            out[static_cast<size_t>(i)] = s;
        }
        return out;
    };
    auto rotate = [&](std::vector<double> v, int pos) {
        for (int i = 0; i < kHd / 2; ++i) {
            const double theta = pos * std::pow(500000.0, -2.0 * i / kHd);
            const size_t a = adjacent_pairs ? 2 * i : i, b = adjacent_pairs ? 2 * i + 1 : i + kHd / 2;
            const double x0 = v[a], x1 = v[b];
            v[a] = x0 * std::cos(theta) - x1 * std::sin(theta);
            v[b] = x0 * std::sin(theta) + x1 * std::cos(theta);
        }
        return v;
    };
    const auto q = rotate(project(wq, bq, x, hq), pq), k = rotate(project(wk, bk, y, hk), pk);
    double s = 0;
    for (int i = 0; i < kHd; ++i) s += q[static_cast<size_t>(i)] * k[static_cast<size_t>(i)];
    return s;
}

void add_f32(TinyCheckpoint& ck, const std::string& name, std::vector<int64_t> shape, uint64_t seed) {
    TinyTensor t;
    t.type = DType::F32;
    t.shape = std::move(shape);
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    uint64_t s = seed;
    for (int64_t i = 0; i < n; ++i)
        t.values.push_back(static_cast<float>(splitmix64(s) % 1000) / 2000.0f - 0.25f);
    t.bytes.resize(t.values.size() * 4);
    std::memcpy(t.bytes.data(), t.values.data(), t.bytes.size());
    ck.tensors[name] = std::move(t);
}

TEST(ConvertDense, LlamaPermutationKeepsRopeScores) {
    ScratchDir scratch;
    TinyCheckpoint ck = make_tiny_checkpoint({.kind = TinyKind::Llama, .dtype = DType::F32});
    // With attention_bias the q/k biases are permuted like the weight rows.
    ck.config["attention_bias"] = true;
    for (int l = 0; l < 2; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".self_attn.";
        add_f32(ck, p + "q_proj.bias", {kH * kHd}, 11 + l);
        add_f32(ck, p + "k_proj.bias", {kHkv * kHd}, 21 + l);
        add_f32(ck, p + "v_proj.bias", {kHkv * kHd}, 31 + l);
        add_f32(ck, p + "o_proj.bias", {kD}, 41 + l);
    }
    const Converted c = write_and_convert(ck, scratch, "llama", {.type = "f32"});
    const gguf::File& f = *c.file;
    EXPECT_EQ(f.require_string("general.architecture"), "llama");
    EXPECT_EQ(f.require_int("llama.vocab_size"), kV);
    EXPECT_EQ(f.require_int("llama.rope.dimension_count"), kHd);
    EXPECT_EQ(f.require_int("llama.attention.head_count_kv"), kHkv);
    EXPECT_EQ(f.find("llama.rope.scaling.type"), nullptr);  // llama3 scaling lives in rope_freqs

    const std::string hf = "model.layers.1.self_attn.", gg = "blk.1.";
    const auto& hq = ck.at(hf + "q_proj.weight").values;
    const auto& hk = ck.at(hf + "k_proj.weight").values;
    const auto& hbq = ck.at(hf + "q_proj.bias").values;
    const auto& hbk = ck.at(hf + "k_proj.bias").values;
    const auto gq = gguf_f32(f, gg + "attn_q.weight"), gk = gguf_f32(f, gg + "attn_k.weight");
    const auto gbq = gguf_f32(f, gg + "attn_q.bias"), gbk = gguf_f32(f, gg + "attn_k.bias");

    // The layout llama.cpp's LlamaModel.permute produces: reshape(n_h, 2, hd/2, in).swapaxes(1, 2).
    for (int h = 0; h < kH; ++h)
        for (int half = 0; half < 2; ++half)
            for (int j = 0; j < kHd / 2; ++j) {
                const int src = h * kHd + half * (kHd / 2) + j, dst = h * kHd + 2 * j + half;
                EXPECT_EQ(gbq[dst], hbq[src]);
                for (int col = 0; col < kD; col += 7) EXPECT_EQ(gq[dst * kD + col], hq[src * kD + col]);
            }
    EXPECT_NE(gq, hq);  // really permuted

    // What the permutation is for: half-split RoPE on HF weights == adjacent-pair RoPE on GGUF weights.
    std::vector<float> x(kD), y(kD);
    for (int i = 0; i < kD; ++i) x[i] = std::sin(0.37f * i), y[i] = std::cos(0.11f * i + 1.0f);
    for (int head = 0; head < kH; ++head) {
        const int kv_head = head / (kH / kHkv);
        const double a = rope_score(hq, hk, hbq, hbk, x, y, head, kv_head, 7, 3, false);
        const double b = rope_score(gq, gk, gbq, gbk, x, y, head, kv_head, 7, 3, true);
        EXPECT_NEAR(a, b, 1e-9 * (1 + std::fabs(a))) << "head " << head;
    }
    // v and o (and o's bias) are not permuted.
    expect_same(gguf_f32(f, gg + "attn_v.weight"), ck.at(hf + "v_proj.weight").values, "attn_v");
    expect_same(gguf_f32(f, gg + "attn_output.bias"), ck.at(hf + "o_proj.bias").values, "attn_output.bias");

    // llama3 rope scaling: factors recomputed here in double (Meta's formula, spec §6.3).
    const auto freqs = gguf_f32(f, "rope_freqs.weight");
    ASSERT_EQ(freqs.size(), static_cast<size_t>(kHd / 2));
    for (int i = 0; i < kHd / 2; ++i) {
        const double wavelen = 2 * M_PI / std::pow(500000.0, -2.0 * i / kHd);
        double want;
        if (wavelen < 8192.0 / 4)
            want = 1;
        else if (wavelen > 8192.0 / 1)
            want = 8;
        else {
            const double s = (8192.0 / wavelen - 1) / (4 - 1);
            want = 1 / ((1 - s) / 8 + s);
        }
        EXPECT_NEAR(freqs[i], want, 1e-5 * want) << i;
    }
    EXPECT_EQ(gguf_tensor(f, "rope_freqs.weight").type, DType::F32);
}

// Every quantised tensor is exactly quantize_row(type, the f32 conversion); norms and biases stay F32.
TEST(ConvertDense, QuantisedTypesAreTheRecipesAndBytesExact) {
    ScratchDir scratch;
    const TinyCheckpoint ck = make_tiny_checkpoint({.kind = TinyKind::Qwen2});
    const Converted ref = write_and_convert(ck, scratch, "q-f32", {.type = "f32"});
    for (const char* type : {"q8_0", "bf16", "f16", "q4_k_m"}) {
        const Converted q = write_and_convert(ck, scratch, std::string("q-") + type, {.type = type});
        for (const TensorRef& t : q.file->tensors()) {
            const bool keep_f32 = t.shape.size() == 1;
            if (keep_f32) EXPECT_EQ(t.type, DType::F32) << type << " " << t.name;
            const auto want = gguf_f32(*ref.file, t.name);
            std::vector<uint8_t> bytes(t.nbytes);
            for (int64_t r = 0; r < t.rows(); ++r)
                quantize_row(t.type, want.data() + r * t.cols(), bytes.data() + r * t.row_stride(), t.cols());
            EXPECT_EQ(std::memcmp(bytes.data(), t.data, t.nbytes), 0) << type << " " << t.name;
        }
        const std::string what = type;
        if (what == "q8_0") {
            EXPECT_EQ(gguf_tensor(*q.file, "token_embd.weight").type, DType::Q8_0);
            EXPECT_EQ(gguf_tensor(*q.file, "blk.0.ffn_down.weight").type, DType::Q8_0);
            EXPECT_EQ(q.file->require_int("general.file_type"), 7);
        } else if (what == "bf16") {
            EXPECT_EQ(gguf_tensor(*q.file, "blk.0.attn_q.weight").type, DType::BF16);
            EXPECT_EQ(q.file->require_int("general.file_type"), 32);
        } else if (what == "q4_k_m") {
            // rows of 64 are not a multiple of 256: Q4_K falls back to Q5_0, output's Q6_K to Q8_0
            EXPECT_EQ(gguf_tensor(*q.file, "blk.0.attn_q.weight").type, DType::Q5_0);
            EXPECT_EQ(gguf_tensor(*q.file, "output.weight").type, DType::Q8_0);
            EXPECT_EQ(q.file->require_int("general.file_type"), 15);
        }
    }
}

TEST(ConvertDense, TiedEmbeddingsSkipLmHeadWithANote) {
    ScratchDir scratch;
    TinyCheckpoint ck = make_tiny_checkpoint({.kind = TinyKind::Qwen2});
    ck.config["tie_word_embeddings"] = true;
    const Converted c = write_and_convert(ck, scratch, "tied", {.type = "f32"});
    EXPECT_EQ(c.file->find_tensor("output.weight"), nullptr);
    ASSERT_FALSE(c.result.notes.empty());
    EXPECT_NE(c.result.notes[0].find("lm_head.weight not written"), std::string::npos);
    ck.tensors.erase("lm_head.weight");  // and a tied checkpoint without lm_head converts the same way
    EXPECT_EQ(write_and_convert(ck, scratch, "tied2", {.type = "f32"}).file->find_tensor("output.weight"),
              nullptr);
}

TEST(ConvertDense, RealDeepSeekV3TokenizerPadsToVocabSize) {
    const std::string assets = std::string(R1_ASSETS_DIR) + "/deepseek_v3";
    if (!std::filesystem::exists(assets + "/tokenizer.json"))
        GTEST_SKIP() << "no " << assets << "/tokenizer.json (run scripts/fetch-assets.sh)";
    ScratchDir scratch;
    TinyCheckpoint ck = make_tiny_checkpoint({.kind = TinyKind::Qwen2, .tokenizer = false});
    const int64_t V = 129280;  // DeepSeek-V3's embedding rows; the tokenizer has fewer tokens
    ck.config["vocab_size"] = V;
    for (const char* n : {"model.embed_tokens.weight", "lm_head.weight"}) {
        TinyTensor& t = ck.tensors[n];
        t.shape = {V, kD};
        t.bytes.assign(static_cast<size_t>(V * kD * 2), 0);
        t.values.assign(static_cast<size_t>(V * kD), 0.0f);
    }
    const std::string dir = scratch.file("real");
    ck.write(dir);
    for (const char* n : {"tokenizer.json", "tokenizer_config.json"})
        std::filesystem::copy_file(assets + "/" + n, dir + "/" + n);
    convert_hf_to_gguf(dir, scratch.file("real.gguf"), {.type = "bf16"});
    const auto f = gguf::File::open(scratch.file("real.gguf"));
    const auto tokens = f->get_string_array("tokenizer.ggml.tokens");
    ASSERT_EQ(tokens.size(), static_cast<size_t>(V));
    EXPECT_EQ(f->require_string("tokenizer.ggml.pre"), "deepseek-v3");
    EXPECT_EQ(tokens[static_cast<size_t>(f->require_int("tokenizer.ggml.bos_token_id"))],
              "<｜begin▁of▁sentence｜>");
    EXPECT_EQ(tokens[V - 1], "[PAD129279]");
    EXPECT_GT(f->get_string_array("tokenizer.ggml.merges").size(), 100000u);
}

}  // namespace
}  // namespace r1::test
