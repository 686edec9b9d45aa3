// HF checkpoint -> GGUF: metadata keys (as llama.cpp's convert_hf_to_gguf.py writes them), the tokenizer, and
// the tensors of the plan streamed through gguf::Writer producers (see convert.h).
#include "model/convert.h"

#include <algorithm>
#include <filesystem>

#include "base/error.h"
#include "base/log.h"
#include "base/parallel.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "model/quantize.h"
#include "tensor/quant.h"
#include "tokenizer/gguf_export.h"
#include "tokenizer/tokenizer.h"

namespace r1 {
namespace {

namespace fs = std::filesystem;

uint32_t u32(int64_t v) {
    return static_cast<uint32_t>(v);
}

// Generic keys of TextModel.set_gguf_parameters (llama.cpp), for the fields the config has.
void write_common_keys(const HfConfig& c, gguf::Writer& w, const std::string& p, int64_t n_mtp_layers) {
    w.set_u32(p + "block_count", u32(c.num_hidden_layers + n_mtp_layers));
    if (c.max_position_embeddings > 0) w.set_u32(p + "context_length", u32(c.max_position_embeddings));
    w.set_u32(p + "embedding_length", u32(c.hidden_size));
    w.set_u32(p + "feed_forward_length", u32(c.intermediate_size));
    w.set_u32(p + "attention.head_count", u32(c.num_attention_heads));
    const HfRopeScaling& rs = c.rope_scaling;
    if (rs.type == "linear") {
        w.set_string(p + "rope.scaling.type", "linear");
        w.set_f32(p + "rope.scaling.factor", static_cast<float>(rs.factor));
    } else if (rs.type == "yarn") {
        w.set_string(p + "rope.scaling.type", "yarn");
        w.set_f32(p + "rope.scaling.factor", static_cast<float>(rs.factor));
        w.set_u32(p + "rope.scaling.original_context_length", u32(rs.original_context));
        if (rs.extrapolation_factor)
            w.set_f32(p + "rope.scaling.yarn_ext_factor", static_cast<float>(*rs.extrapolation_factor));
        if (rs.attention_factor)
            w.set_f32(p + "rope.scaling.yarn_attn_factor", static_cast<float>(*rs.attention_factor));
        if (rs.beta_fast) w.set_f32(p + "rope.scaling.yarn_beta_fast", static_cast<float>(*rs.beta_fast));
        if (rs.beta_slow) w.set_f32(p + "rope.scaling.yarn_beta_slow", static_cast<float>(*rs.beta_slow));
    }
    w.set_f32(p + "rope.freq_base", static_cast<float>(c.rope_theta));
    w.set_f32(p + "attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps));
}

void write_deepseek_keys(const HfConfig& c, gguf::Writer& w, const std::string& p, MlaLayout layout,
                         int64_t n_mtp_layers) {
    const bool mla = layout == MlaLayout::Mla;
    // MLA runs as MQA over the 576-wide latent (one KV head); the legacy layout decompresses to H heads.
    w.set_u32(p + "attention.head_count_kv", u32(mla ? 1 : c.num_attention_heads));
    if (c.n_routed_experts) {
        w.set_u32(p + "expert_count", u32(*c.n_routed_experts));
        w.set_u32(p + "expert_used_count", u32(c.num_experts_per_tok));
    }
    if (c.n_group) w.set_u32(p + "expert_group_count", u32(*c.n_group));
    if (c.topk_group) w.set_u32(p + "expert_group_used_count", u32(*c.topk_group));
    if (c.scoring_func) w.set_u32(p + "expert_gating_func", *c.scoring_func == "sigmoid" ? 2u : 1u);
    w.set_u32(p + "leading_dense_block_count", u32(c.first_k_dense_replace));
    w.set_u32(p + "vocab_size", u32(c.vocab_size));
    if (c.q_lora_rank > 0) w.set_u32(p + "attention.q_lora_rank", u32(c.q_lora_rank));
    w.set_u32(p + "attention.kv_lora_rank", u32(c.kv_lora_rank));
    if (mla) {
        w.set_u32(p + "attention.key_length", u32(c.kv_lora_rank + c.qk_rope_head_dim));
        w.set_u32(p + "attention.value_length", u32(c.kv_lora_rank));
        w.set_u32(p + "attention.key_length_mla", u32(c.qk_nope_head_dim + c.qk_rope_head_dim));
        w.set_u32(p + "attention.value_length_mla", u32(c.v_head_dim));
    } else {
        w.set_u32(p + "attention.key_length", u32(c.qk_nope_head_dim + c.qk_rope_head_dim));
        w.set_u32(p + "attention.value_length", u32(c.v_head_dim));
    }
    w.set_u32(p + "expert_feed_forward_length", u32(c.moe_intermediate_size));
    w.set_u32(p + "expert_shared_count", u32(c.n_shared_experts));
    if (c.routed_scaling_factor)
        w.set_f32(p + "expert_weights_scale", static_cast<float>(*c.routed_scaling_factor));
    if (c.norm_topk_prob) w.set_bool(p + "expert_weights_norm", true);
    w.set_u32(p + "rope.dimension_count", u32(c.qk_rope_head_dim));
    // llama.cpp divides this by 0.1 again on load ([TAG_DEEPSEEK2_YARN_LOG_MUL_FIX] in its converter).
    if (c.rope_scaling.mscale_all_dim)
        w.set_f32(p + "rope.scaling.yarn_log_multiplier",
                  static_cast<float>(0.1 * *c.rope_scaling.mscale_all_dim));
    if (n_mtp_layers > 0) w.set_u32(p + "nextn_predict_layers", u32(n_mtp_layers));
}

// Computes a planned tensor chunk by chunk (~16 MB of f32 at a time), converts it to `type`, and passes the
// bytes on. Rows of a chunk are split among the threads.
void stream_tensor(const PlannedTensor& t, DType type, const gguf::Writer::ByteSink& sink) {
    const int64_t cols = t.cols(), rows = t.rows();
    const size_t out_row = row_bytes(type, cols);
    const int64_t chunk =
        std::clamp<int64_t>((int64_t{16} << 20) / (cols * 4), 1, std::max<int64_t>(rows, 1));
    std::vector<float> f(static_cast<size_t>(chunk * cols));
    std::vector<uint8_t> q(static_cast<size_t>(chunk) * out_row);
    for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
        const int64_t n = std::min(chunk, rows - r0);
        parallel_for(n, [&](int64_t a, int64_t b) {
            read_planned_rows(t, r0 + a, b - a, f.data() + a * cols);
            for (int64_t r = a; r < b; ++r)
                quantize_row(type, f.data() + r * cols, q.data() + static_cast<size_t>(r) * out_row, cols);
        });
        sink(q.data(), static_cast<size_t>(n) * out_row);
    }
}

std::string default_name(const HfConfig& c, const std::string& dir) {
    if (!c.name.empty()) return fs::path(c.name).filename().string();
    fs::path p = fs::absolute(dir).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    return p.filename().string();
}

}  // namespace

std::vector<std::string> write_hparams_gguf(const HfConfig& c, gguf::Writer& w, MlaLayout layout,
                                            int64_t n_mtp_layers, int32_t file_type,
                                            const std::string& name) {
    std::vector<std::string> warnings;
    const std::string arch = c.gguf_arch(), p = arch + ".";
    w.set_string("general.architecture", arch);
    w.set_string("general.type", "model");
    if (!name.empty()) w.set_string("general.name", name);
    write_common_keys(c, w, p, c.is_deepseek() ? n_mtp_layers : 0);
    if (c.is_deepseek()) {
        write_deepseek_keys(c, w, p, layout, n_mtp_layers);
        if (c.topk_method == "group_limited_greedy" && c.n_group.value_or(1) > 1)
            warnings.push_back(
                "topk_method group_limited_greedy (DeepSeek-V2) ranks expert groups by their best score; "
                "llama.cpp "
                "ranks them by the sum of the top two, which GGUF cannot tell apart: routing there will "
                "differ");
    } else {
        w.set_u32(p + "attention.head_count_kv", u32(c.num_key_value_heads));
        if (c.head_dim_given) {
            w.set_u32(p + "attention.key_length", u32(c.head_dim));
            w.set_u32(p + "attention.value_length", u32(c.head_dim));
        }
        if (c.family == HfFamily::Llama) {
            w.set_u32(p + "vocab_size", u32(c.vocab_size));
            w.set_u32(p + "rope.dimension_count", u32(c.head_dim));
        }
    }
    w.set_u32("general.file_type", static_cast<uint32_t>(file_type));
    w.set_u32("general.quantization_version", 2);
    return warnings;
}

ConvertResult convert_hf_to_gguf(const std::string& hf_dir, const std::string& out_path,
                                 const ConvertOptions& opt) {
    if (!fs::is_directory(hf_dir))
        fail("%s: not a directory (expected a Hugging Face checkpoint)", hf_dir.c_str());
    const HfConfig config = HfConfig::from_file(hf_dir);
    const QuantRecipe recipe = quant_recipe(opt.type);
    const auto ckpt = safetensors::Checkpoint::open(hf_dir);
    const MlaLayout layout = config.is_deepseek() ? opt.layout : MlaLayout::Mla;
    const ConvertPlan plan = plan_conversion(config, *ckpt, layout, opt.keep_mtp);

    std::unique_ptr<Tokenizer> tok;
    if (opt.vocab) {
        const std::string tok_path = (fs::path(hf_dir) / "tokenizer.json").string();
        if (!fs::exists(tok_path))
            fail(
                "%s: not found; r1 convert writes the vocabulary into the GGUF and needs the checkpoint's "
                "tokenizer.json (and tokenizer_config.json) beside config.json (--no-vocab skips it)",
                tok_path.c_str());
        tok = Tokenizer::from_hf_json(tok_path);
        if (tok->n_vocab() > config.vocab_size)
            fail("%s has %d tokens but %s says vocab_size = %lld (the embedding has too few rows)",
                 tok_path.c_str(), tok->n_vocab(), config.path.c_str(),
                 static_cast<long long>(config.vocab_size));
    }

    ConvertResult res;
    res.arch = config.gguf_arch();
    res.n_layer = plan.n_layer;
    res.n_mtp_layers = plan.n_mtp_layers;
    res.fp8_source = plan.fp8;
    res.notes = plan.notes;

    gguf::Writer w;
    const std::string name = opt.name.empty() ? default_name(config, hf_dir) : opt.name;
    for (std::string& warning :
         write_hparams_gguf(config, w, layout, plan.n_mtp_layers, recipe.file_type, name))
        res.notes.push_back("warning: " + warning);
    if (tok)
        write_tokenizer_gguf(*tok, w, static_cast<int32_t>(config.vocab_size));
    else
        w.set_string("tokenizer.ggml.model", "none");  // llama.cpp's LLAMA_VOCAB_TYPE_NONE

    int64_t n_attn_v = 0;
    for (const PlannedTensor& t : plan.tensors)
        if (t.name.find("attn_v.weight") != std::string::npos) n_attn_v++;
    QuantPlanner planner(recipe, plan.n_layer + plan.n_mtp_layers, n_attn_v, !plan.has_output);
    for (const PlannedTensor& t : plan.tensors) {
        const DType type = t.keep_f32 ? DType::F32 : planner.choose(t.name, t.shape, DType::F32);
        if (!can_quantize(type)) fail("cannot write tensor '%s' as %s", t.name.c_str(), dtype_name(type));
        const size_t nbytes = static_cast<size_t>(t.rows()) * row_bytes(type, t.cols());
        w.add_tensor_producer(t.name, type, t.shape, nbytes, [&t, type](const gguf::Writer::ByteSink& sink) {
            stream_tensor(t, type, sink);
        });
        R1_LOG_DEBUG("%-44s %-24s -> %s", t.name.c_str(), shape_str(t.shape).c_str(), dtype_name(type));
        res.types[dtype_name(type)]++;
        res.n_tensors++;
        res.data_bytes += nbytes;
    }
    if (plan.n_mtp_layers > 0)
        res.notes.push_back(strfmt(
            "kept %lld MTP layer(s) from blk.%lld on: blk.N.nextn.* plus the layer's attention and MoE "
            "tensors; block_count %lld includes them, %s.nextn_predict_layers = %lld",
            static_cast<long long>(plan.n_mtp_layers), static_cast<long long>(plan.n_layer),
            static_cast<long long>(plan.n_layer + plan.n_mtp_layers), res.arch.c_str(),
            static_cast<long long>(plan.n_mtp_layers)));
    w.write(out_path);
    return res;
}

}  // namespace r1
