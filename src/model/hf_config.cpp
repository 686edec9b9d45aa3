// Parsing and validation of a Hugging Face config.json (see hf_config.h).
#include "model/hf_config.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/mapped_file.h"

namespace r1 {
namespace {

using json = nlohmann::json;

// A short rendering of a JSON value for messages.
std::string shown(const json& v) {
    std::string s = v.dump();
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    return s;
}

// Typed field access with messages that name the file and the field.
class Fields {
  public:
    Fields(const json& obj, std::string src) : obj_(obj), src_(std::move(src)) {}

    // Present and not null.
    bool has(const char* key) const { return obj_.contains(key) && !obj_[key].is_null(); }
    const json& at(const char* key) const { return obj_[key]; }

    int64_t required_int(const char* key, int64_t min = 1) const {
        if (!has(key)) fail("%s: required field '%s' is missing", src_.c_str(), key);
        return checked_int(key, min);
    }
    std::optional<int64_t> optional_int(const char* key, int64_t min = 1) const {
        if (!has(key)) return std::nullopt;
        return checked_int(key, min);
    }
    int64_t int_or(const char* key, int64_t fallback, int64_t min = 1) const {
        return optional_int(key, min).value_or(fallback);
    }
    std::optional<double> optional_number(const char* key, bool positive = false) const {
        if (!has(key)) return std::nullopt;
        const json& v = obj_[key];
        if (!v.is_number()) fail("%s: '%s' must be a number, got %s", src_.c_str(), key, shown(v).c_str());
        const double d = v.get<double>();
        if (positive && !(d > 0))
            fail("%s: '%s' must be a positive number, got %s", src_.c_str(), key, shown(v).c_str());
        return d;
    }
    double number_or(const char* key, double fallback, bool positive = false) const {
        return optional_number(key, positive).value_or(fallback);
    }
    bool bool_or(const char* key, bool fallback) const {
        if (!has(key)) return fallback;
        const json& v = obj_[key];
        if (!v.is_boolean())
            fail("%s: '%s' must be true or false, got %s", src_.c_str(), key, shown(v).c_str());
        return v.get<bool>();
    }
    std::optional<std::string> optional_string(const char* key) const {
        if (!has(key)) return std::nullopt;
        const json& v = obj_[key];
        if (!v.is_string()) fail("%s: '%s' must be a string, got %s", src_.c_str(), key, shown(v).c_str());
        return v.get<std::string>();
    }

  private:
    int64_t checked_int(const char* key, int64_t min) const {
        const json& v = obj_[key];
        const char* what = min >= 1 ? "a positive integer" : "a non-negative integer";
        if (!v.is_number_integer())
            fail("%s: '%s' must be %s, got %s", src_.c_str(), key, what, shown(v).c_str());
        const int64_t i = v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)
                              ? -1
                              : v.get<int64_t>();
        if (i < min) fail("%s: '%s' must be %s, got %s", src_.c_str(), key, what, shown(v).c_str());
        return i;
    }
    const json& obj_;
    std::string src_;
};

HfRopeScaling parse_rope_scaling(const json& rs, const std::string& src) {
    HfRopeScaling out;
    if (rs.is_null()) return out;
    const std::string where = src + " rope_scaling";
    if (!rs.is_object())
        fail("%s: 'rope_scaling' must be an object or null, got %s", src.c_str(), shown(rs).c_str());
    Fields f(rs, where);
    out.type = f.optional_string("rope_type").value_or(f.optional_string("type").value_or(""));
    if (out.type == "default") out.type.clear();
    if (out.type.empty()) return out;
    if (out.type == "yarn") {
        if (!f.has("factor")) fail("%s: yarn scaling needs 'factor'", where.c_str());
        out.factor = *f.optional_number("factor", true);
        out.original_context = f.required_int("original_max_position_embeddings");
        out.beta_fast = f.optional_number("beta_fast");
        out.beta_slow = f.optional_number("beta_slow");
        out.mscale = f.optional_number("mscale");
        out.mscale_all_dim = f.optional_number("mscale_all_dim");
        out.extrapolation_factor = f.optional_number("extrapolation_factor");
        out.attention_factor = f.has("attention_factor") ? f.optional_number("attention_factor")
                                                         : f.optional_number("attn_factor");
    } else if (out.type == "linear") {
        out.factor = f.number_or("factor", 1.0, true);
    } else if (out.type == "llama3") {
        out.factor = f.number_or("factor", 8.0, true);
        out.low_freq_factor = f.number_or("low_freq_factor", 1.0, true);
        out.high_freq_factor = f.number_or("high_freq_factor", 4.0, true);
        out.original_context = f.int_or("original_max_position_embeddings", 8192);
        if (out.high_freq_factor <= out.low_freq_factor)
            fail("%s: llama3 'high_freq_factor' (%g) must be larger than 'low_freq_factor' (%g)",
                 where.c_str(), out.high_freq_factor, out.low_freq_factor);
    } else {
        fail("%s: rope scaling type '%s' is not supported (supported: yarn, linear, llama3)", where.c_str(),
             out.type.c_str());
    }
    return out;
}

void parse_deepseek(const Fields& f, HfConfig& c) {
    c.q_lora_rank = f.int_or("q_lora_rank", 0);  // null (V2-Lite) means no query compression
    c.kv_lora_rank = f.required_int("kv_lora_rank");
    c.qk_nope_head_dim = f.required_int("qk_nope_head_dim");
    c.qk_rope_head_dim = f.required_int("qk_rope_head_dim");
    c.v_head_dim = f.required_int("v_head_dim");
    c.n_routed_experts = f.optional_int("n_routed_experts");
    c.n_shared_experts = f.int_or("n_shared_experts", 0, 0);
    c.first_k_dense_replace = f.int_or("first_k_dense_replace", 0, 0);
    c.moe_layer_freq = f.int_or("moe_layer_freq", 1);
    if (c.n_routed_experts) {
        c.moe_intermediate_size = f.required_int("moe_intermediate_size");
        c.num_experts_per_tok = f.required_int("num_experts_per_tok");
    } else {
        c.moe_intermediate_size = f.int_or("moe_intermediate_size", c.intermediate_size);
        c.num_experts_per_tok = f.int_or("num_experts_per_tok", 0, 0);
    }
    c.n_group = f.optional_int("n_group");
    c.topk_group = f.optional_int("topk_group");
    c.scoring_func = f.optional_string("scoring_func");
    c.topk_method = f.optional_string("topk_method").value_or("");
    c.norm_topk_prob = f.bool_or("norm_topk_prob", false);
    c.routed_scaling_factor = f.optional_number("routed_scaling_factor", true);
    c.num_nextn_predict_layers = f.int_or("num_nextn_predict_layers", 0, 0);
}

void parse_quantization(const json& q, const std::string& src, HfConfig& c) {
    if (q.is_null()) return;
    if (!q.is_object())
        fail("%s: 'quantization_config' must be an object, got %s", src.c_str(), shown(q).c_str());
    const std::string where = src + " quantization_config";
    Fields f(q, where);
    const std::string method = f.optional_string("quant_method").value_or("");
    if (method != "fp8")
        fail("%s: quant_method '%s' is not supported (r1 converts fp8 block-quantised checkpoints)",
             where.c_str(), method.c_str());
    if (auto fmt = f.optional_string("fmt"); fmt && *fmt != "e4m3")
        fail("%s: fp8 format '%s' is not supported (expected e4m3)", where.c_str(), fmt->c_str());
    c.fp8 = true;
    if (f.has("weight_block_size")) {
        const json& b = f.at("weight_block_size");
        if (!b.is_array() || b.size() != 2 || !b[0].is_number_integer() || !b[1].is_number_integer() ||
            b[0].get<int64_t>() <= 0 || b[1].get<int64_t>() <= 0)
            fail("%s: 'weight_block_size' must be two positive integers [rows, cols], got %s", where.c_str(),
                 shown(b).c_str());
        c.fp8_block_rows = b[0].get<int64_t>();
        c.fp8_block_cols = b[1].get<int64_t>();
    }
}

}  // namespace

HfConfig HfConfig::parse(const std::string& text, const std::string& source) {
    json root;
    try {
        root = json::parse(text);
    } catch (const json::exception& e) {
        fail("%s: not valid JSON: %s", source.c_str(), e.what());
    }
    if (!root.is_object()) fail("%s: expected a JSON object at the top level", source.c_str());
    Fields f(root, source);
    HfConfig c;
    c.path = source;
    c.model_type = f.optional_string("model_type").value_or("");
    if (c.model_type == "llama")
        c.family = HfFamily::Llama;
    else if (c.model_type == "qwen2")
        c.family = HfFamily::Qwen2;
    else if (c.model_type == "deepseek_v2" || c.model_type == "deepseek_v3")
        c.family = HfFamily::DeepSeek;
    else if (c.model_type.empty())
        fail("%s: required field 'model_type' is missing", source.c_str());
    else
        fail("%s: model_type '%s' is not supported (supported: llama, qwen2, deepseek_v2, deepseek_v3)",
             source.c_str(), c.model_type.c_str());
    c.name = f.optional_string("_name_or_path").value_or("");

    c.vocab_size = f.required_int("vocab_size");
    c.hidden_size = f.required_int("hidden_size");
    c.intermediate_size = f.required_int("intermediate_size");
    c.num_hidden_layers = f.required_int("num_hidden_layers");
    c.num_attention_heads = f.required_int("num_attention_heads");
    c.num_key_value_heads = f.int_or("num_key_value_heads", c.num_attention_heads);
    c.head_dim_given = f.has("head_dim");
    c.head_dim = f.int_or("head_dim", 0);
    c.max_position_embeddings = f.int_or("max_position_embeddings", 0);
    c.rms_norm_eps = f.number_or("rms_norm_eps", 1e-6, true);
    c.tie_word_embeddings = f.bool_or("tie_word_embeddings", false);
    c.attention_bias = f.bool_or("attention_bias", false);
    if (auto act = f.optional_string("hidden_act"); act && *act != "silu")
        fail("%s: 'hidden_act' is '%s'; r1 supports silu (SwiGLU) only", source.c_str(), act->c_str());
    if (f.bool_or("mlp_bias", false))
        fail("%s: 'mlp_bias' is true; FFN biases are not supported", source.c_str());

    // Newer transformers write "rope_parameters" (with rope_theta inside) instead of rope_scaling.
    const json* rope = nullptr;
    if (f.has("rope_scaling"))
        rope = &f.at("rope_scaling");
    else if (f.has("rope_parameters"))
        rope = &f.at("rope_parameters");
    c.rope_theta = f.number_or("rope_theta", 10000.0, true);
    if (rope) {
        c.rope_scaling = parse_rope_scaling(*rope, source);
        if (!f.has("rope_theta") && rope->is_object() && rope->contains("rope_theta"))
            c.rope_theta = Fields(*rope, source + " rope_parameters").number_or("rope_theta", 10000.0, true);
    }

    if (c.is_deepseek()) parse_deepseek(f, c);
    if (f.has("quantization_config")) parse_quantization(f.at("quantization_config"), source, c);
    if (c.head_dim == 0 && !c.is_deepseek()) {
        if (c.hidden_size % c.num_attention_heads != 0)
            fail(
                "%s: 'hidden_size' (%lld) is not divisible by 'num_attention_heads' (%lld) and no 'head_dim' "
                "is "
                "given",
                source.c_str(), static_cast<long long>(c.hidden_size),
                static_cast<long long>(c.num_attention_heads));
        c.head_dim = c.hidden_size / c.num_attention_heads;
    }
    c.validate();
    return c;
}

HfConfig HfConfig::from_file(const std::string& path) {
    std::string file = path;
    if (std::filesystem::is_directory(path)) file = (std::filesystem::path(path) / "config.json").string();
    if (!std::filesystem::exists(file))
        fail("%s: not found (a Hugging Face checkpoint directory needs a config.json)", file.c_str());
    const MappedFile map(file);
    return parse(std::string(reinterpret_cast<const char*>(map.data()), map.size()), file);
}

void HfConfig::validate() const {
    const char* src = path.c_str();
    auto ll = [](int64_t v) { return static_cast<long long>(v); };
    if (num_attention_heads % num_key_value_heads != 0 && !is_deepseek())
        fail("%s: 'num_attention_heads' (%lld) must be a multiple of 'num_key_value_heads' (%lld)", src,
             ll(num_attention_heads), ll(num_key_value_heads));
    if (!is_deepseek()) {
        if (head_dim % 2 != 0) fail("%s: the head size %lld must be even for RoPE", src, ll(head_dim));
        if (rope_scaling.type == "llama3" && family != HfFamily::Llama)
            fail("%s: llama3 rope scaling is only supported for model_type llama", src);
        return;
    }
    if (qk_rope_head_dim % 2 != 0)
        fail("%s: 'qk_rope_head_dim' must be even for RoPE, got %lld", src, ll(qk_rope_head_dim));
    if (rope_scaling.type == "llama3" || rope_scaling.type == "linear")
        fail("%s: rope scaling '%s' is not supported for %s (expected yarn or none)", src,
             rope_scaling.type.c_str(), model_type.c_str());
    if (first_k_dense_replace > num_hidden_layers)
        fail("%s: 'first_k_dense_replace' (%lld) exceeds 'num_hidden_layers' (%lld)", src,
             ll(first_k_dense_replace), ll(num_hidden_layers));
    if (moe_layer_freq != 1)
        fail(
            "%s: 'moe_layer_freq' %lld is not supported (GGUF deepseek2 assumes every layer after "
            "first_k_dense_replace is MoE)",
            src, ll(moe_layer_freq));
    if (scoring_func && *scoring_func != "softmax" && *scoring_func != "sigmoid")
        fail("%s: 'scoring_func' must be \"softmax\" or \"sigmoid\", got \"%s\"", src, scoring_func->c_str());
    if (!topk_method.empty() && topk_method != "greedy" && topk_method != "group_limited_greedy" &&
        topk_method != "noaux_tc")
        fail("%s: 'topk_method' must be greedy, group_limited_greedy or noaux_tc, got \"%s\"", src,
             topk_method.c_str());
    if (n_routed_experts) {
        const int64_t e = *n_routed_experts;
        if (num_experts_per_tok > e)
            fail("%s: 'num_experts_per_tok' (%lld) exceeds 'n_routed_experts' (%lld)", src,
                 ll(num_experts_per_tok), ll(e));
        if (n_group && e % *n_group != 0)
            fail("%s: 'n_routed_experts' (%lld) must be divisible by 'n_group' (%lld)", src, ll(e),
                 ll(*n_group));
        if (topk_group && n_group && *topk_group > *n_group)
            fail("%s: 'topk_group' (%lld) exceeds 'n_group' (%lld)", src, ll(*topk_group), ll(*n_group));
    }
}

bool HfConfig::is_moe_layer(int64_t layer) const {
    return is_deepseek() && n_routed_experts.has_value() && layer >= first_k_dense_replace &&
           layer % moe_layer_freq == 0;
}

const char* HfConfig::gguf_arch() const {
    switch (family) {
        case HfFamily::Llama:
            return "llama";
        case HfFamily::Qwen2:
            return "qwen2";
        case HfFamily::DeepSeek:
            return "deepseek2";
    }
    return "?";
}

}  // namespace r1
