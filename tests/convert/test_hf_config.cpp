// HfConfig: parsing of real-shaped config.json files and the messages for bad ones.
#include <gtest/gtest.h>

#include "convert/convert_test_util.h"
#include "model/hf_config.h"

namespace r1::test {
namespace {

// The fields of deepseek-ai/DeepSeek-V3's config.json that matter here (values as published).
const char* const kV3Config = R"js({
  "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
  "vocab_size": 129280, "hidden_size": 7168, "intermediate_size": 18432, "moe_intermediate_size": 2048,
  "num_hidden_layers": 61, "num_nextn_predict_layers": 1, "num_attention_heads": 128, "num_key_value_heads": 128,
  "n_shared_experts": 1, "n_routed_experts": 256, "routed_scaling_factor": 2.5, "kv_lora_rank": 512,
  "q_lora_rank": 1536, "qk_rope_head_dim": 64, "v_head_dim": 128, "qk_nope_head_dim": 128,
  "topk_method": "noaux_tc", "n_group": 8, "topk_group": 4, "num_experts_per_tok": 8, "moe_layer_freq": 1,
  "first_k_dense_replace": 3, "norm_topk_prob": true, "scoring_func": "sigmoid", "hidden_act": "silu",
  "max_position_embeddings": 163840, "rms_norm_eps": 1e-06, "rope_theta": 10000,
  "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0, "mscale_all_dim": 1.0,
                   "original_max_position_embeddings": 4096, "type": "yarn"},
  "tie_word_embeddings": false,
  "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                          "weight_block_size": [128, 128]}})js";

// deepseek-ai/DeepSeek-V2-Lite-Chat's config.json (relevant fields).
const char* const kV2LiteConfig = R"js({
  "model_type": "deepseek_v2", "vocab_size": 102400, "hidden_size": 2048, "intermediate_size": 10944,
  "moe_intermediate_size": 1408, "num_hidden_layers": 27, "num_attention_heads": 16, "num_key_value_heads": 16,
  "n_shared_experts": 2, "n_routed_experts": 64, "routed_scaling_factor": 1.0, "kv_lora_rank": 512,
  "q_lora_rank": null, "qk_rope_head_dim": 64, "v_head_dim": 128, "qk_nope_head_dim": 128,
  "topk_method": "greedy", "n_group": 1, "topk_group": 1, "num_experts_per_tok": 6, "first_k_dense_replace": 1,
  "norm_topk_prob": false, "scoring_func": "softmax", "max_position_embeddings": 163840, "rms_norm_eps": 1e-06,
  "rope_theta": 10000, "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 0.707,
  "mscale_all_dim": 0.707, "original_max_position_embeddings": 4096, "type": "yarn"},
  "tie_word_embeddings": false})js";

TEST(HfConfig, DeepSeekV3) {
    const HfConfig c = HfConfig::parse(kV3Config, "v3/config.json");
    EXPECT_TRUE(c.is_deepseek());
    EXPECT_STREQ(c.gguf_arch(), "deepseek2");
    EXPECT_EQ(c.q_lora_rank, 1536);
    EXPECT_EQ(c.kv_lora_rank, 512);
    EXPECT_EQ(*c.n_routed_experts, 256);
    EXPECT_EQ(*c.n_group, 8);
    EXPECT_EQ(*c.topk_group, 4);
    EXPECT_EQ(*c.scoring_func, "sigmoid");
    EXPECT_TRUE(c.norm_topk_prob);
    EXPECT_DOUBLE_EQ(*c.routed_scaling_factor, 2.5);
    EXPECT_EQ(c.num_nextn_predict_layers, 1);
    EXPECT_EQ(c.rope_scaling.type, "yarn");
    EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 40.0);
    EXPECT_EQ(c.rope_scaling.original_context, 4096);
    EXPECT_DOUBLE_EQ(*c.rope_scaling.mscale_all_dim, 1.0);
    EXPECT_TRUE(c.fp8);
    EXPECT_EQ(c.fp8_block_rows, 128);
    EXPECT_FALSE(c.is_moe_layer(2));
    EXPECT_TRUE(c.is_moe_layer(3));
    EXPECT_TRUE(c.is_moe_layer(61));  // the MTP layer is MoE too
}

TEST(HfConfig, DeepSeekV2LiteHasNoQueryCompression) {
    const HfConfig c = HfConfig::parse(kV2LiteConfig, "v2lite/config.json");
    EXPECT_EQ(c.q_lora_rank, 0);
    EXPECT_EQ(*c.scoring_func, "softmax");
    EXPECT_FALSE(c.norm_topk_prob);
    EXPECT_DOUBLE_EQ(*c.rope_scaling.mscale_all_dim, 0.707);
    EXPECT_FALSE(c.fp8);
    EXPECT_EQ(c.num_nextn_predict_layers, 0);
}

TEST(HfConfig, DenseDefaults) {
    const HfConfig c = HfConfig::parse(
        R"({"model_type": "qwen2", "vocab_size": 151936, "hidden_size": 1536, "intermediate_size": 8960,
            "num_hidden_layers": 28, "num_attention_heads": 12, "num_key_value_heads": 2, "rope_theta": 10000,
            "rms_norm_eps": 1e-6, "max_position_embeddings": 131072, "rope_scaling": null})",
        "q/config.json");
    EXPECT_EQ(c.family, HfFamily::Qwen2);
    EXPECT_EQ(c.head_dim, 128);
    EXPECT_FALSE(c.head_dim_given);
    EXPECT_TRUE(c.rope_scaling.type.empty());
    EXPECT_STREQ(c.gguf_arch(), "qwen2");
}

TEST(HfConfig, Llama3RopeScaling) {
    const HfConfig c = HfConfig::parse(
        R"({"model_type": "llama", "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336,
            "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "rope_theta": 500000.0,
            "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                             "original_max_position_embeddings": 8192, "rope_type": "llama3"}})",
        "l/config.json");
    EXPECT_EQ(c.rope_scaling.type, "llama3");
    EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 8.0);
    EXPECT_EQ(c.rope_scaling.original_context, 8192);
}

std::string with(const char* base, const std::string& key, const std::string& value) {
    nlohmann::json j = nlohmann::json::parse(base);
    j[key] = nlohmann::json::parse(value);
    return j.dump();
}

TEST(HfConfig, ErrorsNameTheField) {
    expect_error([] { HfConfig::parse(with(kV3Config, "kv_lora_rank", "-1"), "x/config.json"); },
                 {"x/config.json", "'kv_lora_rank' must be a positive integer, got -1"});
    expect_error([] { HfConfig::parse(with(kV3Config, "kv_lora_rank", "\"512\""), "config.json"); },
                 {"'kv_lora_rank' must be a positive integer, got \"512\""});
    expect_error([] { HfConfig::parse(with(kV3Config, "model_type", "\"mixtral\""), "config.json"); },
                 {"model_type 'mixtral' is not supported"});
    expect_error([] { HfConfig::parse(with(kV3Config, "n_group", "7"), "config.json"); },
                 {"'n_routed_experts' (256) must be divisible by 'n_group' (7)"});
    expect_error([] { HfConfig::parse(with(kV3Config, "scoring_func", "\"relu\""), "config.json"); },
                 {"'scoring_func'", "relu"});
    expect_error([] { HfConfig::parse(with(kV3Config, "moe_layer_freq", "2"), "config.json"); },
                 {"'moe_layer_freq' 2 is not supported"});
    expect_error(
        [] { HfConfig::parse(with(kV3Config, "quantization_config", R"({"quant_method": "gptq"})"), "c"); },
        {"quant_method 'gptq' is not supported"});
    expect_error([] { HfConfig::parse(with(kV3Config, "rope_scaling", R"({"type": "yarn"})"), "c"); },
                 {"yarn scaling needs 'factor'"});
    expect_error(
        [] {
            HfConfig::parse(
                R"({"model_type": "llama", "vocab_size": 10, "hidden_size": 10, "intermediate_size": 8,
                                "num_hidden_layers": 1, "num_attention_heads": 3})",
                "c");
        },
        {"'hidden_size' (10) is not divisible by 'num_attention_heads' (3)"});
    expect_error([] { HfConfig::parse(R"({"model_type": "llama"})", "c"); }, {"'vocab_size' is missing"});
    expect_error([] { HfConfig::parse("{not json", "c"); }, {"not valid JSON"});
    expect_error([] { HfConfig::from_file("/nonexistent/dir"); }, {"config.json", "not found"});
}

}  // namespace
}  // namespace r1::test
