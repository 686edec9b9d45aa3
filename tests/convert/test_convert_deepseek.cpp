// r1 convert on DeepSeek checkpoints: V2-Lite-like (no q-LoRA, softmax, 2 shared experts), V3-like (q-LoRA,
// sigmoid + correction bias, groups, YaRN, an MTP layer, sharded), both attention layouts, FP8 with block
// scales (partial edge blocks), and quantised outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>

#include "base/float16.h"
#include "convert/convert_test_util.h"
#include "formats/safetensors.h"
#include "model/convert_plan.h"
#include "tensor/quant.h"

namespace r1::test {
namespace {

constexpr int64_t kD = 64, kFF = 128, kH = 4, kQl = 48, kKvl = 32, kNope = 16, kRope = 8, kVd = 16, kE = 8,
                  kFe = 32, kV = 272;

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

std::set<std::string> layer_names(int layer, bool moe, bool q_lora, bool mla, bool bias) {
    std::vector<std::string> n = {"attn_norm.weight", "attn_kv_a_mqa.weight", "attn_kv_a_norm.weight",
                                  "attn_output.weight", "ffn_norm.weight"};
    if (q_lora)
        n.insert(n.end(), {"attn_q_a.weight", "attn_q_a_norm.weight", "attn_q_b.weight"});
    else
        n.push_back("attn_q.weight");
    if (mla)
        n.insert(n.end(), {"attn_k_b.weight", "attn_v_b.weight"});
    else
        n.push_back("attn_kv_b.weight");
    if (moe) {
        n.insert(n.end(),
                 {"ffn_gate_inp.weight", "ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight",
                  "ffn_gate_shexp.weight", "ffn_up_shexp.weight", "ffn_down_shexp.weight"});
        if (bias) n.push_back("exp_probs_b.bias");
    } else {
        n.insert(n.end(), {"ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"});
    }
    std::set<std::string> out;
    for (const auto& s : n) out.insert("blk." + std::to_string(layer) + "." + s);
    return out;
}

// attn_k_b / attn_v_b against the rows of kv_b_proj, element by element and by what they are for.
void check_kv_b_split(const gguf::File& f, const std::vector<float>& kv_b, int layer) {
    const std::string p = "blk." + std::to_string(layer) + ".";
    EXPECT_EQ(gguf_tensor(f, p + "attn_k_b.weight").shape, (std::vector<int64_t>{kH, kKvl, kNope}));
    EXPECT_EQ(gguf_tensor(f, p + "attn_v_b.weight").shape, (std::vector<int64_t>{kH, kVd, kKvl}));
    const auto k_b = gguf_f32(f, p + "attn_k_b.weight"), v_b = gguf_f32(f, p + "attn_v_b.weight");
    const int64_t per_head = kNope + kVd;
    for (int64_t h = 0; h < kH; ++h) {
        for (int64_t c = 0; c < kKvl; ++c) {
            for (int64_t k = 0; k < kNope; ++k)
                ASSERT_EQ(k_b[(h * kKvl + c) * kNope + k], kv_b[(h * per_head + k) * kKvl + c])
                    << h << " " << c;
            for (int64_t j = 0; j < kVd; ++j)
                ASSERT_EQ(v_b[(h * kVd + j) * kKvl + c], kv_b[(h * per_head + kNope + j) * kKvl + c]) << h;
        }
        // Absorption identity: q · (W_UK c) == (W_UK^T q) · c, with attn_k_b[h] = W_UK^T as [kv_lora, nope].
        double naive = 0, absorbed = 0;
        for (int64_t k = 0; k < kNope; ++k) {
            double kc = 0;
            for (int64_t c = 0; c < kKvl; ++c)
                kc += double(kv_b[(h * per_head + k) * kKvl + c]) * std::cos(0.3 * c);
            naive += std::sin(0.7 * k + h) * kc;
        }
        for (int64_t c = 0; c < kKvl; ++c) {
            double qc = 0;
            for (int64_t k = 0; k < kNope; ++k)
                qc += double(k_b[(h * kKvl + c) * kNope + k]) * std::sin(0.7 * k + h);
            absorbed += qc * std::cos(0.3 * c);
        }
        EXPECT_NEAR(naive, absorbed, 1e-9 * (1 + std::fabs(naive)));
    }
}

void check_experts(const gguf::File& f, const TinyCheckpoint& ck, int layer) {
    const std::string p = "blk." + std::to_string(layer) + ".";
    const std::string hf = "model.layers." + std::to_string(layer) + ".mlp.experts.";
    for (const auto& [gg, h] : {std::pair{"ffn_gate_exps.weight", "gate_proj.weight"},
                                std::pair{"ffn_up_exps.weight", "up_proj.weight"},
                                std::pair{"ffn_down_exps.weight", "down_proj.weight"}}) {
        const auto all = gguf_f32(f, p + gg);
        const size_t per = all.size() / kE;
        for (int e = 0; e < kE; ++e)
            expect_same(std::vector<float>(all.begin() + e * per, all.begin() + (e + 1) * per),
                        ck.at(hf + std::to_string(e) + "." + h).values,
                        p + gg + " expert " + std::to_string(e));
    }
    const int64_t d = ck.config["hidden_size"];
    EXPECT_EQ(gguf_tensor(f, p + "ffn_gate_exps.weight").shape, (std::vector<int64_t>{kE, kFe, d}));
    EXPECT_EQ(gguf_tensor(f, p + "ffn_down_exps.weight").shape, (std::vector<int64_t>{kE, d, kFe}));
}

TEST(ConvertDeepSeek, V2LiteMlaLayout) {
    ScratchDir scratch;
    const TinyCheckpoint ck = make_tiny_checkpoint({.kind = TinyKind::DeepSeekV2Lite});
    const Converted c = write_and_convert(ck, scratch, "v2lite", {.type = "f32"});
    const gguf::File& f = *c.file;
    const std::string p = "deepseek2.";
    EXPECT_EQ(f.require_string("general.architecture"), "deepseek2");
    EXPECT_EQ(f.require_int(p + "block_count"), 2);
    EXPECT_EQ(f.require_int(p + "context_length"), 163840);
    EXPECT_EQ(f.require_int(p + "embedding_length"), kD);
    EXPECT_EQ(f.require_int(p + "feed_forward_length"), kFF);
    EXPECT_EQ(f.require_int(p + "attention.head_count"), kH);
    EXPECT_EQ(f.require_int(p + "attention.head_count_kv"), 1);
    EXPECT_EQ(f.find(p + "attention.q_lora_rank"), nullptr);  // null in config.json: key omitted
    EXPECT_EQ(f.require_int(p + "attention.kv_lora_rank"), kKvl);
    EXPECT_EQ(f.require_int(p + "attention.key_length"), kKvl + kRope);
    EXPECT_EQ(f.require_int(p + "attention.value_length"), kKvl);
    EXPECT_EQ(f.require_int(p + "attention.key_length_mla"), kNope + kRope);
    EXPECT_EQ(f.require_int(p + "attention.value_length_mla"), kVd);
    EXPECT_EQ(f.require_int(p + "leading_dense_block_count"), 1);
    EXPECT_EQ(f.require_int(p + "expert_count"), kE);
    EXPECT_EQ(f.require_int(p + "expert_used_count"), 2);
    EXPECT_EQ(f.require_int(p + "expert_shared_count"), 2);
    EXPECT_EQ(f.require_int(p + "expert_feed_forward_length"), kFe);
    EXPECT_EQ(f.require_int(p + "expert_group_count"), 1);
    EXPECT_EQ(f.require_int(p + "expert_group_used_count"), 1);
    EXPECT_EQ(f.require_int(p + "expert_gating_func"), 1);  // softmax
    EXPECT_FLOAT_EQ(f.require_float(p + "expert_weights_scale"), 1.0f);
    EXPECT_EQ(f.find(p + "expert_weights_norm"), nullptr);  // norm_topk_prob false: key omitted
    EXPECT_EQ(f.require_int(p + "vocab_size"), kV);
    EXPECT_EQ(f.require_int(p + "rope.dimension_count"), kRope);
    EXPECT_FLOAT_EQ(f.require_float(p + "rope.freq_base"), 10000.0f);
    EXPECT_EQ(f.require_string(p + "rope.scaling.type"), "yarn");
    EXPECT_FLOAT_EQ(f.require_float(p + "rope.scaling.factor"), 40.0f);
    EXPECT_EQ(f.require_int(p + "rope.scaling.original_context_length"), 4096);
    EXPECT_FLOAT_EQ(f.require_float(p + "rope.scaling.yarn_beta_fast"), 32.0f);
    EXPECT_FLOAT_EQ(f.require_float(p + "rope.scaling.yarn_beta_slow"), 1.0f);
    EXPECT_FLOAT_EQ(f.require_float(p + "rope.scaling.yarn_log_multiplier"), 0.0707f);
    EXPECT_FLOAT_EQ(f.require_float(p + "attention.layer_norm_rms_epsilon"), 1e-6f);
    EXPECT_EQ(f.find(p + "nextn_predict_layers"), nullptr);

    std::set<std::string> want = {"token_embd.weight", "output_norm.weight", "output.weight"};
    want.merge(layer_names(0, false, false, true, false));
    want.merge(layer_names(1, true, false, true, false));
    EXPECT_EQ(tensor_names(f), want);

    check_kv_b_split(f, ck.at("model.layers.1.self_attn.kv_b_proj.weight").values, 1);
    check_experts(f, ck, 1);
    expect_same(gguf_f32(f, "blk.1.attn_q.weight"), ck.at("model.layers.1.self_attn.q_proj.weight").values,
                "q");
    expect_same(gguf_f32(f, "blk.1.ffn_gate_inp.weight"), ck.at("model.layers.1.mlp.gate.weight").values,
                "router");
    expect_same(gguf_f32(f, "blk.1.ffn_down_shexp.weight"),
                ck.at("model.layers.1.mlp.shared_experts.down_proj.weight").values, "shexp");
    expect_same(gguf_f32(f, "blk.0.attn_kv_a_mqa.weight"),
                ck.at("model.layers.0.self_attn.kv_a_proj_with_mqa.weight").values, "kv_a");
    EXPECT_EQ(gguf_tensor(f, "blk.1.ffn_gate_shexp.weight").shape, (std::vector<int64_t>{2 * kFe, kD}));
}

TEST(ConvertDeepSeek, LegacyLayoutKeepsKvB) {
    ScratchDir scratch;
    const TinyCheckpoint ck = make_tiny_checkpoint({.kind = TinyKind::DeepSeekV2Lite});
    const Converted c =
        write_and_convert(ck, scratch, "legacy", {.type = "f32", .layout = MlaLayout::Legacy});
    const gguf::File& f = *c.file;
    EXPECT_EQ(f.require_int("deepseek2.attention.head_count_kv"), kH);
    EXPECT_EQ(f.require_int("deepseek2.attention.key_length"), kNope + kRope);
    EXPECT_EQ(f.require_int("deepseek2.attention.value_length"), kVd);
    EXPECT_EQ(f.find("deepseek2.attention.key_length_mla"), nullptr);
    EXPECT_EQ(f.find_tensor("blk.0.attn_k_b.weight"), nullptr);
    expect_same(gguf_f32(f, "blk.1.attn_kv_b.weight"),
                ck.at("model.layers.1.self_attn.kv_b_proj.weight").values, "kv_b");
    std::set<std::string> want = {"token_embd.weight", "output_norm.weight", "output.weight"};
    want.merge(layer_names(0, false, false, false, false));
    want.merge(layer_names(1, true, false, false, false));
    EXPECT_EQ(tensor_names(f), want);
}

TEST(ConvertDeepSeek, V3WithMtpLayerSharded) {
    ScratchDir scratch;
    const TinyCheckpoint ck = make_tiny_checkpoint({.kind = TinyKind::DeepSeekV3, .mtp = true, .shards = 3});
    const Converted c = write_and_convert(ck, scratch, "v3", {.type = "f32"});
    EXPECT_TRUE(std::filesystem::exists(scratch.file("v3/model.safetensors.index.json")));
    const gguf::File& f = *c.file;
    const std::string p = "deepseek2.";
    EXPECT_EQ(f.require_int(p + "block_count"), 3);  // 2 main layers + 1 MTP layer
    EXPECT_EQ(f.require_int(p + "nextn_predict_layers"), 1);
    EXPECT_EQ(f.require_int(p + "attention.q_lora_rank"), kQl);
    EXPECT_EQ(f.require_int(p + "expert_gating_func"), 2);  // sigmoid
    EXPECT_EQ(f.require_int(p + "expert_group_count"), 4);
    EXPECT_EQ(f.require_int(p + "expert_group_used_count"), 2);
    EXPECT_EQ(f.require_int(p + "expert_shared_count"), 1);
    EXPECT_EQ(f.get_bool(p + "expert_weights_norm"), true);
    EXPECT_FLOAT_EQ(f.require_float(p + "expert_weights_scale"), 2.5f);
    EXPECT_FLOAT_EQ(f.require_float(p + "rope.scaling.yarn_log_multiplier"), 0.1f);
    EXPECT_EQ(c.result.n_layer, 2);
    EXPECT_EQ(c.result.n_mtp_layers, 1);

    std::set<std::string> want = {"token_embd.weight", "output_norm.weight", "output.weight"};
    want.merge(layer_names(0, false, true, true, true));
    want.merge(layer_names(1, true, true, true, true));
    want.merge(layer_names(2, true, true, true, true));
    for (const char* n : {"enorm.weight", "hnorm.weight", "eh_proj.weight", "embed_tokens.weight",
                          "shared_head_norm.weight", "shared_head_head.weight"})
        want.insert(std::string("blk.2.nextn.") + n);
    EXPECT_EQ(tensor_names(f), want);

    const std::pair<const char*, const char*> same[] = {
        {"blk.1.exp_probs_b.bias", "model.layers.1.mlp.gate.e_score_correction_bias"},
        {"blk.1.attn_q_a.weight", "model.layers.1.self_attn.q_a_proj.weight"},
        {"blk.1.attn_q_a_norm.weight", "model.layers.1.self_attn.q_a_layernorm.weight"},
        {"blk.1.attn_q_b.weight", "model.layers.1.self_attn.q_b_proj.weight"},
        {"blk.2.nextn.eh_proj.weight", "model.layers.2.eh_proj.weight"},
        {"blk.2.nextn.enorm.weight", "model.layers.2.enorm.weight"},
        {"blk.2.nextn.hnorm.weight", "model.layers.2.hnorm.weight"},
        {"blk.2.nextn.shared_head_head.weight", "model.layers.2.shared_head.head.weight"},
        {"blk.2.nextn.shared_head_norm.weight", "model.layers.2.shared_head.norm.weight"},
        {"blk.2.nextn.embed_tokens.weight", "model.layers.2.embed_tokens.weight"},
        {"blk.2.attn_q_b.weight", "model.layers.2.self_attn.q_b_proj.weight"},
    };
    for (const auto& [g, h] : same) expect_same(gguf_f32(f, g), ck.at(h).values, g);
    EXPECT_EQ(gguf_tensor(f, "blk.2.nextn.eh_proj.weight").shape, (std::vector<int64_t>{kD, 2 * kD}));
    check_kv_b_split(f, ck.at("model.layers.2.self_attn.kv_b_proj.weight").values, 2);
    check_experts(f, ck, 2);

    // --no-mtp drops the MTP layer, and says so.
    ConvertOptions no_mtp{.type = "f32", .keep_mtp = false};
    const ConvertResult r = convert_hf_to_gguf(scratch.file("v3"), scratch.file("v3-no-mtp.gguf"), no_mtp);
    const auto g = gguf::File::open(scratch.file("v3-no-mtp.gguf"));
    EXPECT_EQ(g->require_int(p + "block_count"), 2);
    EXPECT_EQ(g->find(p + "nextn_predict_layers"), nullptr);
    EXPECT_EQ(g->find_tensor("blk.2.attn_norm.weight"), nullptr);
    bool noted = false;
    for (const auto& n : r.notes) noted |= n.find("MTP layer tensors dropped") != std::string::npos;
    EXPECT_TRUE(noted);
}

TEST(ConvertDeepSeek, MissingCorrectionBiasIsAllowedButSaid) {
    ScratchDir scratch;
    TinyCheckpoint ck = make_tiny_checkpoint({.kind = TinyKind::DeepSeekV3});
    ck.tensors.erase("model.layers.1.mlp.gate.e_score_correction_bias");  // optional for llama.cpp too
    const Converted c = write_and_convert(ck, scratch, "nobias", {.type = "f32"});
    EXPECT_EQ(c.file->find_tensor("blk.1.exp_probs_b.bias"), nullptr);
    bool warned = false;
    for (const auto& n : c.result.notes) warned |= n.find("no e_score_correction_bias") != std::string::npos;
    EXPECT_TRUE(warned);
}

// The same model from FP8 weights (block 128 over a hidden size of 160: partial edge blocks everywhere).
TEST(ConvertDeepSeek, Fp8BlockScalesDequantisedExactly) {
    ScratchDir scratch;
    const TinyCheckpoint ck = make_tiny_checkpoint({.kind = TinyKind::DeepSeekV3, .fp8 = true, .mtp = true});
    const Converted c = write_and_convert(ck, scratch, "fp8", {.type = "f32"});
    const gguf::File& f = *c.file;
    EXPECT_TRUE(c.result.fp8_source);
    for (const TensorRef& t : f.tensors()) EXPECT_EQ(t.name.find("scale"), std::string::npos) << t.name;

    // Recompute value = fp8(byte) * scale_inv[i / 128][j / 128] straight from the stored bytes.
    auto from_bytes = [&](const std::string& hf) {
        const TinyTensor& w = ck.at(hf);
        const TinyTensor& s = ck.at(hf + "_scale_inv");
        EXPECT_EQ(w.type, DType::F8_E4M3);
        const int64_t rows = w.shape[0], cols = w.shape[1], scols = s.shape[1];
        EXPECT_EQ(s.shape[0], (rows + 127) / 128);
        std::vector<float> out(static_cast<size_t>(rows * cols));
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < cols; ++j)
                out[i * cols + j] =
                    fp8_e4m3_to_f32(w.bytes[i * cols + j]) * s.values[(i / 128) * scols + j / 128];
        return out;
    };
    EXPECT_EQ(ck.at("model.layers.1.self_attn.o_proj.weight_scale_inv").shape, (std::vector<int64_t>{2, 1}));
    EXPECT_EQ(ck.at("model.layers.1.self_attn.q_a_proj.weight_scale_inv").shape,
              (std::vector<int64_t>{1, 2}));
    const std::pair<const char*, const char*> pairs[] = {
        {"blk.1.attn_q_a.weight", "model.layers.1.self_attn.q_a_proj.weight"},
        {"blk.1.attn_output.weight", "model.layers.1.self_attn.o_proj.weight"},
        {"blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight"},
        {"blk.0.ffn_gate.weight", "model.layers.0.mlp.gate_proj.weight"},
        {"blk.2.nextn.eh_proj.weight", "model.layers.2.eh_proj.weight"},
        {"blk.1.ffn_up_shexp.weight", "model.layers.1.mlp.shared_experts.up_proj.weight"},
    };
    for (const auto& [g, h] : pairs) expect_same(gguf_f32(f, g), from_bytes(h), g);
    // kv_b is FP8 too: the split reads dequantised rows.
    {
        const auto kv_b = from_bytes("model.layers.1.self_attn.kv_b_proj.weight");
        const auto k_b = gguf_f32(f, "blk.1.attn_k_b.weight");
        EXPECT_EQ(k_b[(1 * kKvl + 5) * kNope + 3], kv_b[(1 * (kNope + kVd) + 3) * kKvl + 5]);
    }
    const auto exps = gguf_f32(f, "blk.1.ffn_down_exps.weight");
    const auto e5 = from_bytes("model.layers.1.mlp.experts.5.down_proj.weight");
    expect_same(std::vector<float>(exps.begin() + 5 * e5.size(), exps.begin() + 6 * e5.size()), e5,
                "expert 5");
    // Routers, norms and embeddings were BF16 in the checkpoint and stay exact.
    expect_same(gguf_f32(f, "blk.1.ffn_gate_inp.weight"), ck.at("model.layers.1.mlp.gate.weight").values,
                "router");
}

TEST(ConvertDeepSeek, ReadSourceRowsFp8PartialBlocksAndBf16Scales) {
    // A [300, 260] FP8 matrix with 128x128 blocks: scales [3, 3], the last block row holds 44 rows and the
    // last block column 4 columns.
    const int64_t rows = 300, cols = 260;
    std::vector<uint8_t> q(static_cast<size_t>(rows * cols));
    for (size_t i = 0; i < q.size(); ++i) {
        q[i] = static_cast<uint8_t>((i * 37 + 11) % 256);
        if ((q[i] & 0x7F) == 0x7F) q[i] = 0x3C;  // no NaNs
    }
    const float scales[9] = {0.5f, 2.0f, 0.25f, 1.5f, 3.0f, 0.125f, 8.0f, 0.75f, 1.25f};
    std::vector<uint16_t> scales_bf16(9);
    for (int i = 0; i < 9; ++i) scales_bf16[i] = f32_to_bf16(scales[i]);  // all exact in bf16

    TensorRef w{"w", DType::F8_E4M3, {rows, cols}, q.data(), q.size()};
    for (DType st : {DType::F32, DType::BF16}) {
        TensorRef s{"w_scale_inv",
                    st,
                    {3, 3},
                    st == DType::F32 ? reinterpret_cast<const uint8_t*>(scales)
                                     : reinterpret_cast<const uint8_t*>(scales_bf16.data()),
                    st == DType::F32 ? 36u : 18u};
        HfSource src{&w, &s, 128, 128};
        std::vector<float> got(static_cast<size_t>(rows * cols));
        read_source_rows(src, 0, rows, got.data());
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < cols; ++j) {
                const float want = fp8_e4m3_to_f32(q[i * cols + j]) * scales[(i / 128) * 3 + j / 128];
                ASSERT_EQ(got[i * cols + j], want) << i << "," << j;
            }
        // A range that starts inside a block row.
        std::vector<float> part(static_cast<size_t>(10 * cols));
        read_source_rows(src, 250, 10, part.data());
        EXPECT_EQ(std::memcmp(part.data(), got.data() + 250 * cols, part.size() * 4), 0);
    }
    // The scale is a multiplier (spec §2.1): a byte 0x38 (= 1.0) times scale 2.0 is 2.0, not 0.5.
    EXPECT_EQ(fp8_e4m3_to_f32(0x38), 1.0f);
}

TEST(ConvertDeepSeek, QuantisedOutputKeepsRouterAndBiasF32) {
    ScratchDir scratch;
    const TinyCheckpoint ck = make_tiny_checkpoint({.kind = TinyKind::DeepSeekV3, .mtp = true});
    const Converted ref = write_and_convert(ck, scratch, "v3-f32", {.type = "f32"});
    const Converted q = write_and_convert(ck, scratch, "v3-q8", {.type = "q8_0"});
    const gguf::File& f = *q.file;
    EXPECT_EQ(gguf_tensor(f, "blk.1.ffn_gate_inp.weight").type, DType::F32);
    EXPECT_EQ(gguf_tensor(f, "blk.1.exp_probs_b.bias").type, DType::F32);
    EXPECT_EQ(gguf_tensor(f, "blk.1.attn_kv_a_norm.weight").type, DType::F32);
    EXPECT_EQ(gguf_tensor(f, "blk.2.nextn.enorm.weight").type, DType::F32);
    EXPECT_EQ(gguf_tensor(f, "blk.1.ffn_gate_exps.weight").type, DType::Q8_0);
    EXPECT_EQ(gguf_tensor(f, "blk.1.attn_v_b.weight").type, DType::Q8_0);
    EXPECT_EQ(gguf_tensor(f, "blk.1.attn_k_b.weight").type, DType::F16);  // rows of 16 < the 32-block
    EXPECT_EQ(gguf_tensor(f, "token_embd.weight").type, DType::Q8_0);
    for (const TensorRef& t : f.tensors()) {
        const auto want = gguf_f32(*ref.file, t.name);
        std::vector<uint8_t> bytes(t.nbytes);
        for (int64_t r = 0; r < t.rows(); ++r)
            quantize_row(t.type, want.data() + r * t.cols(), bytes.data() + r * t.row_stride(), t.cols());
        EXPECT_EQ(std::memcmp(bytes.data(), t.data, t.nbytes), 0) << t.name;
    }
    const Converted k = write_and_convert(ck, scratch, "v3-q4km", {.type = "q4_k_m"});
    EXPECT_EQ(k.file->require_int("general.file_type"), 15);
    EXPECT_EQ(gguf_tensor(*k.file, "blk.1.ffn_gate_inp.weight").type, DType::F32);
}

}  // namespace
}  // namespace r1::test
