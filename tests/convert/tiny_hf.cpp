// Tiny HF checkpoints (see tiny_hf.h). Dimensions are small but keep every structural feature of the real
// configs: GQA + biases (qwen2), llama3 rope scaling (llama), no q-LoRA + softmax + 2 shared experts
// (V2-Lite), q-LoRA + sigmoid + correction bias + groups + MTP (V3), FP8 with partial edge blocks.
#include "convert/tiny_hf.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "base/float16.h"
#include "base/rng.h"
#include "formats/safetensors.h"

namespace r1::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// DeepSeek-V3's pre-tokenizer section of tokenizer.json (three Splits, then ByteLevel without its regex).
const char* const kDeepSeekPreTokenizer = R"js({"type": "Sequence", "pretokenizers": [
 {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}"}, "behavior": "Isolated", "invert": false},
 {"type": "Split", "pattern": {"Regex": "[一-龥぀-ゟ゠-ヿ]+"}, "behavior": "Isolated", "invert": false},
 {"type": "Split", "pattern": {"Regex": "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false},
 {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]})js";

std::string utf8(uint32_t cp) {
    std::string s;
    if (cp < 0x80) {
        s += static_cast<char>(cp);
    } else if (cp < 0x800) {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        s += static_cast<char>(0xE0 | (cp >> 12));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
}

// GPT-2 bytes_to_unicode: printable bytes map to themselves, the other 68 to 256 + n in byte order.
std::vector<std::string> byte_level_chars() {
    std::vector<std::string> out(256);
    uint32_t extra = 0;
    for (uint32_t b = 0; b < 256; ++b) {
        const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
        out[b] = utf8(printable ? b : 256 + extra++);
    }
    return out;
}

class Builder {
  public:
    explicit Builder(const TinyOptions& opt) : opt_(opt), rng_(opt.seed) {}

    TinyCheckpoint finish() { return std::move(ck_); }
    json& config() { return ck_.config; }

    // A weight of `type`, mean + N(0, std^2) values rounded to that type.
    void dense(const std::string& name, std::vector<int64_t> shape, float stddev, DType type,
               float mean = 0) {
        TinyTensor t;
        t.type = type;
        t.shape = std::move(shape);
        const size_t n = numel(t.shape);
        t.values.resize(n);
        t.bytes.resize(n * (type == DType::F32 ? 4 : 2));
        for (size_t i = 0; i < n; ++i) {
            const float x = mean + rng_.normal() * stddev;
            if (type == DType::F32) {
                t.values[i] = x;
                std::memcpy(t.bytes.data() + 4 * i, &x, 4);
            } else {
                const uint16_t h = type == DType::BF16 ? f32_to_bf16(x) : f32_to_f16(x);
                t.values[i] = type == DType::BF16 ? bf16_to_f32(h) : f16_to_f32(h);
                std::memcpy(t.bytes.data() + 2 * i, &h, 2);
            }
        }
        ck_.tensors[name] = std::move(t);
    }
    void weight(const std::string& name, std::vector<int64_t> shape, float stddev) {
        dense(name, std::move(shape), stddev, opt_.dtype);
    }
    // A projection matrix: FP8 with block scales when opt.fp8, else like weight().
    void proj(const std::string& name, std::vector<int64_t> shape, float stddev) {
        if (!opt_.fp8) return weight(name, std::move(shape), stddev);
        const int64_t rows = shape[0], cols = shape[1], b = opt_.fp8_block;
        const int64_t srows = (rows + b - 1) / b, scols = (cols + b - 1) / b;
        TinyTensor scale;
        scale.type = DType::F32;
        scale.shape = {srows, scols};
        scale.values.resize(static_cast<size_t>(srows * scols));
        // Each block gets its own scale so that a wrong block index shows up in the values.
        for (float& s : scale.values) s = stddev / 64.0f * (0.5f + rng_.uniform());
        scale.bytes.resize(scale.values.size() * 4);
        std::memcpy(scale.bytes.data(), scale.values.data(), scale.bytes.size());
        TinyTensor w;
        w.type = DType::F8_E4M3;
        w.shape = shape;
        w.bytes.resize(static_cast<size_t>(rows * cols));
        w.values.resize(w.bytes.size());
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < cols; ++j) {
                const float s = scale.values[static_cast<size_t>((i / b) * scols + j / b)];
                const uint8_t q = fp8_e4m3_nearest(rng_.normal() * stddev / s);
                w.bytes[static_cast<size_t>(i * cols + j)] = q;
                w.values[static_cast<size_t>(i * cols + j)] = fp8_e4m3_to_f32(q) * s;
            }
        ck_.tensors[name] = std::move(w);
        ck_.tensors[name + "_scale_inv"] = std::move(scale);
    }
    void norm(const std::string& name, int64_t n) { dense(name, {n}, 0.1f, opt_.dtype, 1.0f); }

  private:
    static size_t numel(const std::vector<int64_t>& s) {
        size_t n = 1;
        for (int64_t d : s) n *= static_cast<size_t>(d);
        return n;
    }
    TinyOptions opt_;
    Rng rng_;
    TinyCheckpoint ck_;
};

constexpr int64_t kVocab = 272;  // tokenizer has 262: ids 262..271 become [PAD{i}]

void make_dense(const TinyOptions& opt, Builder& b) {
    const bool qwen = opt.kind == TinyKind::Qwen2;
    const int64_t d = 64, ff = 128, H = 4, Hkv = 2, hd = 16, L = opt.n_layers;
    json& c = b.config();
    c = {{"architectures", {qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM"}},
         {"model_type", qwen ? "qwen2" : "llama"},
         {"vocab_size", kVocab},
         {"hidden_size", d},
         {"intermediate_size", ff},
         {"num_hidden_layers", L},
         {"num_attention_heads", H},
         {"num_key_value_heads", Hkv},
         {"max_position_embeddings", 2048},
         {"rms_norm_eps", 1e-6},
         {"hidden_act", "silu"},
         {"tie_word_embeddings", false},
         {"bos_token_id", 0},
         {"eos_token_id", 1},
         {"torch_dtype", "bfloat16"}};
    if (qwen) {
        c["rope_theta"] = 10000.0;
        c["use_sliding_window"] = false;
    } else {
        c["rope_theta"] = 500000.0;
        c["rope_scaling"] = {{"factor", 8.0},
                             {"low_freq_factor", 1.0},
                             {"high_freq_factor", 4.0},
                             {"original_max_position_embeddings", 8192},
                             {"rope_type", "llama3"}};
        c["attention_bias"] = false;
    }
    const float s_in = 1.0f / std::sqrt(static_cast<float>(d));
    b.weight("model.embed_tokens.weight", {kVocab, d}, 1.0f);
    for (int64_t l = 0; l < L; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        b.norm(p + "input_layernorm.weight", d);
        b.weight(p + "self_attn.q_proj.weight", {H * hd, d}, s_in);
        b.weight(p + "self_attn.k_proj.weight", {Hkv * hd, d}, s_in);
        b.weight(p + "self_attn.v_proj.weight", {Hkv * hd, d}, s_in);
        if (qwen) {
            b.weight(p + "self_attn.q_proj.bias", {H * hd}, 0.1f);
            b.weight(p + "self_attn.k_proj.bias", {Hkv * hd}, 0.1f);
            b.weight(p + "self_attn.v_proj.bias", {Hkv * hd}, 0.1f);
        }
        b.weight(p + "self_attn.o_proj.weight", {d, H * hd}, 0.3f * s_in);
        b.norm(p + "post_attention_layernorm.weight", d);
        b.weight(p + "mlp.gate_proj.weight", {ff, d}, s_in);
        b.weight(p + "mlp.up_proj.weight", {ff, d}, s_in);
        b.weight(p + "mlp.down_proj.weight", {d, ff}, 0.3f / std::sqrt(static_cast<float>(ff)));
    }
    b.norm("model.norm.weight", d);
    b.weight("lm_head.weight", {kVocab, d}, s_in);
}

void make_deepseek(const TinyOptions& opt, Builder& b) {
    const bool v3 = opt.kind == TinyKind::DeepSeekV3;
    // FP8 variant: a hidden size above one 128 block and not a multiple of it, so edge blocks are partial.
    const int64_t d = opt.fp8 ? 160 : 64, ff = 128, H = 4, ql = v3 ? 48 : 0, kvl = 32, nope = 16, rope = 8,
                  vd = 16, E = 8, fe = 32, n_shared = v3 ? 1 : 2, L = opt.n_layers;
    json& c = b.config();
    c = {{"architectures", {v3 ? "DeepseekV3ForCausalLM" : "DeepseekV2ForCausalLM"}},
         {"model_type", v3 ? "deepseek_v3" : "deepseek_v2"},
         {"vocab_size", kVocab},
         {"hidden_size", d},
         {"intermediate_size", ff},
         {"moe_intermediate_size", fe},
         {"num_hidden_layers", L},
         {"num_attention_heads", H},
         {"num_key_value_heads", H},
         {"q_lora_rank", v3 ? json(ql) : json(nullptr)},
         {"kv_lora_rank", kvl},
         {"qk_nope_head_dim", nope},
         {"qk_rope_head_dim", rope},
         {"v_head_dim", vd},
         {"n_routed_experts", E},
         {"n_shared_experts", n_shared},
         {"num_experts_per_tok", 2},
         {"first_k_dense_replace", 1},
         {"moe_layer_freq", 1},
         {"n_group", v3 ? 4 : 1},
         {"topk_group", v3 ? 2 : 1},
         {"scoring_func", v3 ? "sigmoid" : "softmax"},
         {"topk_method", v3 ? "noaux_tc" : "greedy"},
         {"norm_topk_prob", v3},
         {"routed_scaling_factor", v3 ? 2.5 : 1.0},
         {"max_position_embeddings", 163840},
         {"rms_norm_eps", 1e-6},
         {"rope_theta", 10000.0},
         {"rope_scaling",
          {{"type", "yarn"},
           {"factor", 40.0},
           {"original_max_position_embeddings", 4096},
           {"beta_fast", 32},
           {"beta_slow", 1},
           {"mscale", v3 ? 1.0 : 0.707},
           {"mscale_all_dim", v3 ? 1.0 : 0.707}}},
         {"hidden_act", "silu"},
         {"tie_word_embeddings", false},
         {"bos_token_id", 0},
         {"eos_token_id", 1}};
    if (v3) c["num_nextn_predict_layers"] = opt.mtp ? 1 : 0;
    if (opt.fp8)
        c["quantization_config"] = {{"quant_method", "fp8"},
                                    {"fmt", "e4m3"},
                                    {"activation_scheme", "dynamic"},
                                    {"weight_block_size", {opt.fp8_block, opt.fp8_block}}};
    const float s_in = 1.0f / std::sqrt(static_cast<float>(d));
    b.weight("model.embed_tokens.weight", {kVocab, d}, 1.0f);
    const int64_t n_all = L + (v3 && opt.mtp ? 1 : 0);
    for (int64_t l = 0; l < n_all; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        b.norm(p + "input_layernorm.weight", d);
        if (ql > 0) {
            b.proj(p + "self_attn.q_a_proj.weight", {ql, d}, s_in);
            b.norm(p + "self_attn.q_a_layernorm.weight", ql);
            b.proj(p + "self_attn.q_b_proj.weight", {H * (nope + rope), ql}, 1.0f / std::sqrt(float(ql)));
        } else {
            b.proj(p + "self_attn.q_proj.weight", {H * (nope + rope), d}, s_in);
        }
        b.proj(p + "self_attn.kv_a_proj_with_mqa.weight", {kvl + rope, d}, s_in);
        b.norm(p + "self_attn.kv_a_layernorm.weight", kvl);
        b.proj(p + "self_attn.kv_b_proj.weight", {H * (nope + vd), kvl}, 1.0f / std::sqrt(float(kvl)));
        b.proj(p + "self_attn.o_proj.weight", {d, H * vd}, 0.3f / std::sqrt(float(H * vd)));
        b.norm(p + "post_attention_layernorm.weight", d);
        if (l < 1) {
            b.proj(p + "mlp.gate_proj.weight", {ff, d}, s_in);
            b.proj(p + "mlp.up_proj.weight", {ff, d}, s_in);
            b.proj(p + "mlp.down_proj.weight", {d, ff}, 0.3f / std::sqrt(float(ff)));
        } else {
            b.weight(p + "mlp.gate.weight", {E, d}, 2.0f * s_in);
            if (v3) b.dense(p + "mlp.gate.e_score_correction_bias", {E}, 0.1f, DType::F32);
            for (int64_t e = 0; e < E; ++e) {
                const std::string x = p + "mlp.experts." + std::to_string(e) + ".";
                b.proj(x + "gate_proj.weight", {fe, d}, s_in);
                b.proj(x + "up_proj.weight", {fe, d}, s_in);
                b.proj(x + "down_proj.weight", {d, fe}, 0.3f / std::sqrt(float(fe)));
            }
            b.proj(p + "mlp.shared_experts.gate_proj.weight", {fe * n_shared, d}, s_in);
            b.proj(p + "mlp.shared_experts.up_proj.weight", {fe * n_shared, d}, s_in);
            b.proj(p + "mlp.shared_experts.down_proj.weight", {d, fe * n_shared},
                   0.3f / std::sqrt(float(fe)));
        }
        if (l >= L) {  // the MTP module's own tensors
            b.norm(p + "enorm.weight", d);
            b.norm(p + "hnorm.weight", d);
            b.proj(p + "eh_proj.weight", {d, 2 * d}, 1.0f / std::sqrt(float(2 * d)));
            b.weight(p + "embed_tokens.weight", {kVocab, d}, 1.0f);
            b.norm(p + "shared_head.norm.weight", d);
            b.weight(p + "shared_head.head.weight", {kVocab, d}, s_in);
        }
    }
    b.norm("model.norm.weight", d);
    b.weight("lm_head.weight", {kVocab, d}, s_in);
}

void write_json(const std::string& path, const json& j) {
    std::ofstream f(path, std::ios::trunc);
    f << j.dump(2) << "\n";
    if (!f.good()) throw std::runtime_error("cannot write " + path);
}

}  // namespace

uint8_t fp8_e4m3_nearest(float x) {
    // Codes 0x00..0x7E are the non-negative finite values in increasing order; the sign is bit 7.
    const float a = std::fabs(x);
    int lo = 0, hi = 0x7E;
    if (a >= fp8_e4m3_to_f32(0x7E)) {
        lo = 0x7E;
    } else {
        while (hi - lo > 1) {  // invariant: value(lo) <= a < value(hi)
            const int mid = (lo + hi) / 2;
            (fp8_e4m3_to_f32(static_cast<uint8_t>(mid)) <= a ? lo : hi) = mid;
        }
        const float dlo = a - fp8_e4m3_to_f32(static_cast<uint8_t>(lo)),
                    dhi = fp8_e4m3_to_f32(static_cast<uint8_t>(hi)) - a;
        if (dhi < dlo || (dhi == dlo && (hi & 1) == 0)) lo = hi;
    }
    return static_cast<uint8_t>(lo | (x < 0 ? 0x80 : 0));
}

const TinyTensor& TinyCheckpoint::at(const std::string& name) const {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw std::runtime_error("tiny checkpoint has no tensor " + name);
    return it->second;
}

void write_tiny_tokenizer(const std::string& dir) {
    const std::vector<std::string> bytes = byte_level_chars();
    json vocab = json::object();
    for (int b = 0; b < 256; ++b) vocab[bytes[static_cast<size_t>(b)]] = 3 + b;
    const std::string G = utf8(0x120);  // "Ġ", the byte-level space
    vocab[G + "t"] = 259;
    vocab["he"] = 260;
    vocab[G + "the"] = 261;
    json added = json::array();
    const char* specials[] = {"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>"};
    for (int i = 0; i < 3; ++i)
        added.push_back({{"id", i},
                         {"content", specials[i]},
                         {"single_word", false},
                         {"lstrip", false},
                         {"rstrip", false},
                         {"normalized", false},
                         {"special", true}});
    const json byte_level = {
        {"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
    const json tok = {{"version", "1.0"},
                      {"truncation", nullptr},
                      {"padding", nullptr},
                      {"added_tokens", added},
                      {"normalizer", {{"type", "Sequence"}, {"normalizers", json::array()}}},
                      {"pre_tokenizer", json::parse(kDeepSeekPreTokenizer)},
                      {"post_processor", byte_level},
                      {"decoder", byte_level},
                      {"model",
                       {{"type", "BPE"},
                        {"dropout", nullptr},
                        {"unk_token", nullptr},
                        {"continuing_subword_prefix", nullptr},
                        {"end_of_word_suffix", nullptr},
                        {"fuse_unk", false},
                        {"byte_fallback", false},
                        {"vocab", vocab},
                        {"merges", {G + " t", "h e", G + "t he"}}}}};
    write_json((fs::path(dir) / "tokenizer.json").string(), tok);
    const json config = {{"add_bos_token", true},    {"add_eos_token", false},
                         {"bos_token", specials[0]}, {"eos_token", specials[1]},
                         {"pad_token", specials[2]}, {"tokenizer_class", "LlamaTokenizerFast"},
                         {"model_max_length", 16384}};
    write_json((fs::path(dir) / "tokenizer_config.json").string(), config);
}

TinyCheckpoint make_tiny_checkpoint(const TinyOptions& opt) {
    Builder b(opt);
    if (opt.kind == TinyKind::Qwen2 || opt.kind == TinyKind::Llama)
        make_dense(opt, b);
    else
        make_deepseek(opt, b);
    TinyCheckpoint ck = b.finish();
    ck.shards = opt.shards;
    ck.tokenizer = opt.tokenizer;
    return ck;
}

void TinyCheckpoint::write(const std::string& dir) const {
    fs::create_directories(dir);
    write_json((fs::path(dir) / "config.json").string(), config);
    if (tokenizer) write_tiny_tokenizer(dir);
    std::vector<safetensors::Writer> writers(static_cast<size_t>(std::max(shards, 1)));
    json weight_map = json::object();
    size_t total = 0;
    auto shard_name = [&](size_t k) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", k + 1, writers.size());
        return writers.size() == 1 ? std::string("model.safetensors") : std::string(buf);
    };
    for (const auto& [name, t] : tensors) {
        // Scales go to the shard of their weight, like real checkpoints (any shard would do for the index).
        std::string owner = name;
        if (owner.size() > 10 && owner.compare(owner.size() - 10, 10, "_scale_inv") == 0)
            owner = owner.substr(0, owner.size() - 10);
        uint32_t h = 2166136261u;  // FNV-1a: the same shard layout on every platform
        for (unsigned char ch : owner) h = (h ^ ch) * 16777619u;
        const size_t k = h % writers.size();
        writers[k].add_tensor_view(name, t.type, t.shape, t.bytes.data(), t.bytes.size());
        weight_map[name] = shard_name(k);
        total += t.bytes.size();
    }
    for (size_t k = 0; k < writers.size(); ++k) writers[k].write((fs::path(dir) / shard_name(k)).string());
    if (writers.size() > 1)
        write_json((fs::path(dir) / "model.safetensors.index.json").string(),
                   {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}});
}

}  // namespace r1::test
