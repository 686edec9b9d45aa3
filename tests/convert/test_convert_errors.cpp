// r1 convert on broken checkpoints: each problem is an r1::Error naming the tensor, field or file, raised
// before anything is written (the destination never appears).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "convert/convert_test_util.h"

namespace r1::test {
namespace {

// Writes `ck`, converts it, and expects an error containing every needle; the output must not exist after.
void expect_convert_error(const TinyCheckpoint& ck, const std::vector<std::string>& needles,
                          ConvertOptions opt = {.type = "f32"}) {
    ScratchDir scratch;
    const std::string dir = scratch.file("hf"), out = scratch.file("out.gguf");
    ck.write(dir);
    expect_error([&] { convert_hf_to_gguf(dir, out, opt); }, needles);
    EXPECT_FALSE(std::filesystem::exists(out));
}

TinyCheckpoint v3() {
    return make_tiny_checkpoint({.kind = TinyKind::DeepSeekV3, .mtp = true});
}

TEST(ConvertErrors, MissingTensorsAreListed) {
    TinyCheckpoint ck = v3();
    ck.tensors.erase("model.layers.1.mlp.experts.3.up_proj.weight");
    ck.tensors.erase("model.layers.0.self_attn.kv_a_layernorm.weight");
    expect_convert_error(ck,
                         {"2 tensor(s)", "missing", "model.layers.1.mlp.experts.3.up_proj.weight [32, 64]",
                          "model.layers.0.self_attn.kv_a_layernorm.weight [32]"});
}

TEST(ConvertErrors, WrongShapeNamesTensorAndConfig) {
    TinyCheckpoint ck = make_tiny_checkpoint({.kind = TinyKind::Qwen2});
    TinyTensor& t = ck.tensors["model.layers.1.self_attn.k_proj.weight"];
    t.shape = {64, 32};  // transposed
    expect_convert_error(
        ck, {"model.layers.1.self_attn.k_proj.weight", "[64, 32]", "expected [32, 64]", "config.json"});
}

TEST(ConvertErrors, UnknownTensorsAreAnErrorNotDropped) {
    TinyCheckpoint ck = make_tiny_checkpoint({.kind = TinyKind::Qwen2});
    ck.tensors["model.layers.0.self_attn.q_norm.weight"] = ck.at("model.norm.weight");
    ck.tensors["vision_tower.proj.weight"] = ck.at("model.norm.weight");
    expect_convert_error(ck, {"2 tensor(s) not recognised", "model.layers.0.self_attn.q_norm.weight",
                              "vision_tower.proj.weight"});
}

TEST(ConvertErrors, LayersBeyondTheConfigAreRejected) {
    TinyCheckpoint ck = v3();
    ck.config["num_nextn_predict_layers"] = 0;  // the checkpoint still has model.layers.2
    expect_convert_error(ck, {"model.layers.2", "num_nextn_predict_layers = 0"});
    TinyCheckpoint dense = make_tiny_checkpoint({.kind = TinyKind::Llama});
    dense.config["num_hidden_layers"] = 1;
    expect_convert_error(dense, {"not recognised", "model.layers.1.mlp.up_proj.weight"});
}

TEST(ConvertErrors, UnsupportedDtype) {
    TinyCheckpoint ck = make_tiny_checkpoint({.kind = TinyKind::Qwen2});
    TinyTensor& t = ck.tensors["model.layers.0.mlp.up_proj.weight"];
    t.type = DType::I16;  // same byte count as BF16
    expect_convert_error(ck, {"model.layers.0.mlp.up_proj.weight", "dtype i16", "F8_E4M3"});
}

TEST(ConvertErrors, Fp8WithoutOrWithBadScale) {
    TinyCheckpoint ck = make_tiny_checkpoint({.kind = TinyKind::DeepSeekV3, .fp8 = true});
    TinyCheckpoint no_scale = ck;
    no_scale.tensors.erase("model.layers.0.self_attn.q_a_proj.weight_scale_inv");
    expect_convert_error(no_scale, {"model.layers.0.self_attn.q_a_proj.weight", "F8_E4M3",
                                    "model.layers.0.self_attn.q_a_proj.weight_scale_inv", "missing"});
    TinyCheckpoint bad = ck;
    TinyTensor& s = bad.tensors["model.layers.0.self_attn.o_proj.weight_scale_inv"];
    s.shape = {1, 2};  // [2, 1] expected for [160, 64]
    expect_convert_error(bad, {"block scale", "o_proj.weight_scale_inv", "[1, 2]", "expected [2, 1]"});
    TinyCheckpoint stray = make_tiny_checkpoint({.kind = TinyKind::DeepSeekV3});
    stray.tensors["model.layers.0.self_attn.q_a_proj.weight_scale_inv"] =
        ck.at("model.layers.0.self_attn.q_a_proj.weight_scale_inv");
    expect_convert_error(stray, {"q_a_proj.weight", "has a block scale"});
}

TEST(ConvertErrors, ConfigProblemsNameTheField) {
    TinyCheckpoint ck = v3();
    ck.config["kv_lora_rank"] = -4;
    expect_convert_error(ck, {"config.json", "'kv_lora_rank' must be a positive integer, got -4"});
    TinyCheckpoint dense = make_tiny_checkpoint({.kind = TinyKind::Llama});
    dense.config["num_attention_heads"] = 5;
    expect_convert_error(dense, {"'hidden_size' (64) is not divisible by 'num_attention_heads' (5)"});
    TinyCheckpoint gqa = make_tiny_checkpoint({.kind = TinyKind::Qwen2});
    gqa.config["num_key_value_heads"] = 3;
    expect_convert_error(gqa, {"'num_attention_heads' (4) must be a multiple of 'num_key_value_heads' (3)"});
}

TEST(ConvertErrors, TokenizerMissingOrTooLarge) {
    expect_convert_error(make_tiny_checkpoint({.kind = TinyKind::Qwen2, .tokenizer = false}),
                         {"tokenizer.json", "not found"});
    TinyCheckpoint small = make_tiny_checkpoint({.kind = TinyKind::Qwen2});
    small.config["vocab_size"] = 200;  // the tokenizer has 262 tokens
    for (const char* n : {"model.embed_tokens.weight", "lm_head.weight"}) {
        TinyTensor& t = small.tensors[n];
        t.shape = {200, 64};
        t.bytes.resize(200 * 64 * 2);
    }
    expect_convert_error(small, {"262 tokens", "vocab_size = 200"});
}

TEST(ConvertErrors, BadOptionsAndPaths) {
    expect_convert_error(make_tiny_checkpoint({.kind = TinyKind::Qwen2}),
                         {"unknown quantisation type 'q3_xyz'"}, {.type = "q3_xyz"});
    expect_error([] { convert_hf_to_gguf("/nonexistent/hf", "/tmp/x.gguf"); },
                 {"/nonexistent/hf", "not a directory"});
    ScratchDir scratch;
    std::filesystem::create_directories(scratch.file("empty"));
    expect_error([&] { convert_hf_to_gguf(scratch.file("empty"), scratch.file("o.gguf")); }, {"config.json"});
}

TEST(ConvertErrors, ShardIndexNamingAMissingFile) {
    ScratchDir scratch;
    const std::string dir = scratch.file("hf");
    make_tiny_checkpoint({.kind = TinyKind::Qwen2, .shards = 2}).write(dir);
    std::filesystem::remove(dir + "/model-00002-of-00002.safetensors");
    expect_error([&] { convert_hf_to_gguf(dir, scratch.file("o.gguf"), {}); },
                 {"model-00002-of-00002.safetensors"});
    EXPECT_FALSE(std::filesystem::exists(scratch.file("o.gguf")));
}

}  // namespace
}  // namespace r1::test

namespace r1::test {
namespace {

// The gguf::Writer producer hook the converter streams through: a producer must give exactly its bytes.
TEST(ConvertErrors, WriterProducerByteCountIsChecked) {
    ScratchDir scratch;
    const float v[4] = {1, 2, 3, 4};
    for (size_t give : {size_t{8}, size_t{16}, size_t{20}}) {
        gguf::Writer w;
        w.set_string("general.architecture", "llama");
        w.add_tensor_producer("t", DType::F32, {4}, 16, [&](const gguf::Writer::ByteSink& sink) {
            for (size_t at = 0; at < give; at += 4) sink(&v[(at / 4) % 4], 4);
        });
        const std::string out = scratch.file("p" + std::to_string(give) + ".gguf");
        if (give == 16) {
            w.write(out);
            const auto f = gguf::File::open(out);
            EXPECT_EQ(std::memcmp(f->find_tensor("t")->data, v, 16), 0);
        } else {
            expect_error([&] { w.write(out); }, {"producer of tensor 't'"});
            EXPECT_FALSE(std::filesystem::exists(out));
        }
    }
}

}  // namespace
}  // namespace r1::test
