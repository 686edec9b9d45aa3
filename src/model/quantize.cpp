#include "model/quantize.h"

#include <cstdio>
#include <memory>

#include "base/error.h"
#include "base/log.h"
#include "base/parallel.h"
#include "base/progress.h"
#include "formats/gguf.h"
#include "tensor/quant.h"

namespace r1 {
namespace {

struct RecipeEntry {
    const char* name;
    DType base;
    int32_t file_type;
};

constexpr RecipeEntry kRecipes[] = {
    {"f32", DType::F32, 0},     {"f16", DType::F16, 1},     {"bf16", DType::BF16, 32},
    {"q8_0", DType::Q8_0, 7},   {"q4_0", DType::Q4_0, 2},   {"q5_0", DType::Q5_0, 8},
    {"q4_k_m", DType::Q4_K, 15}, {"q5_k_m", DType::Q5_K, 17}, {"q6_k", DType::Q6_K, 18},
};

bool is_quantized(DType t) { return dtype_info(t).block_size > 1; }

bool ends_with(const std::string& s, const char* suffix) {
    const size_t n = std::char_traits<char>::length(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

int layer_of(const std::string& name) {
    int layer = -1;
    if (std::sscanf(name.c_str(), "blk.%d.", &layer) != 1) return -1;
    return layer;
}

// llama.cpp's "more bits" layers: the first and last eighth, and every third one in between.
bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// A smaller-block type when the row length is not a multiple of the block.
DType fallback(DType t, int64_t cols) {
    if (cols % dtype_info(t).block_size == 0) return t;
    DType f = DType::F16;
    switch (t) {
        case DType::Q4_K: f = DType::Q5_0; break;
        case DType::Q5_K: f = DType::Q5_1; break;
        case DType::Q6_K: f = DType::Q8_0; break;
        case DType::Q2_K:
        case DType::Q3_K: f = DType::Q4_0; break;
        default: f = DType::F16; break;
    }
    if (cols % dtype_info(f).block_size != 0) f = DType::F16;
    return f;
}

}  // namespace

QuantRecipe quant_recipe(const std::string& name) {
    std::string lower;
    for (char ch : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (const auto& e : kRecipes)
        if (lower == e.name) return {e.name, e.base, e.file_type};
    std::string known;
    for (const auto& e : kRecipes) known += std::string(known.empty() ? "" : ", ") + e.name;
    fail("unknown quantisation type '%s' (known: %s)", name.c_str(), known.c_str());
}

std::vector<std::string> quant_recipe_names() {
    std::vector<std::string> out;
    for (const auto& e : kRecipes) out.emplace_back(e.name);
    return out;
}

QuantPlanner::QuantPlanner(const QuantRecipe& r, int64_t n_layer, int64_t n_attn_v, bool tied)
    : r_(r), n_layer_(n_layer), n_attn_v_(n_attn_v), tied_(tied) {}

DType QuantPlanner::choose(const std::string& name, const std::vector<int64_t>& shape, DType current) {
    // Only 2-D/3-D weights; never norms, the MoE router, or the rope factors.
    if (shape.size() < 2 || !ends_with(name, "weight") || name.find("_norm.weight") != std::string::npos ||
        name.find("ffn_gate_inp.weight") != std::string::npos)
        return current;
    const int64_t cols = shape.back();
    if (!is_quantized(r_.base)) return r_.base;  // f32 / f16 / bf16: every matrix in that type

    DType t = r_.base;
    const bool is_output = name == "output.weight" || (tied_ && name == "token_embd.weight");
    if (is_output) {
        if (cols % 256 != 0 || r_.base == DType::Q8_0)
            t = DType::Q8_0;
        else
            t = DType::Q6_K;
        return fallback(t, cols);
    }
    const bool k_mix = r_.name == "q4_k_m" || r_.name == "q5_k_m";
    if (name.find("attn_v.weight") != std::string::npos) {
        if (k_mix && use_more_bits(i_attn_v_, n_attn_v_)) t = DType::Q6_K;
        i_attn_v_++;
    } else if (name.find("ffn_down") != std::string::npos && k_mix) {
        int layer = layer_of(name);
        if (layer >= 0 && use_more_bits(layer, n_layer_)) t = DType::Q6_K;
    }
    return fallback(t, cols);
}

void quantize_model_file(const std::string& in_path, const std::string& out_path, const std::string& recipe_name,
                         bool progress) {
    const QuantRecipe recipe = quant_recipe(recipe_name);
    auto in = gguf::File::open(in_path);
    const std::string arch = in->require_string("general.architecture");
    const int64_t n_layer = in->require_int(arch + ".block_count");
    int64_t n_attn_v = 0;
    for (const auto& t : in->tensors())
        if (t.name.find("attn_v.weight") != std::string::npos) n_attn_v++;
    const bool tied = in->find_tensor("output.weight") == nullptr;
    QuantPlanner planner(recipe, n_layer, n_attn_v, tied);

    gguf::Writer w;
    for (const auto& [key, value] : in->kv()) w.set_value(key, value);
    w.set_u32("general.file_type", static_cast<uint32_t>(recipe.file_type));
    w.set_u32("general.quantization_version", 2);

    int64_t total = 0;
    for (const auto& t : in->tensors()) total += static_cast<int64_t>(t.nbytes);
    ProgressBar bar("quantizing", total >> 20, "MiB");
    int64_t done = 0;
    for (const auto& t : in->tensors()) {
        const DType to = planner.choose(t.name, t.shape, t.type);
        if (to == t.type) {
            w.add_tensor_view(t.name, t.type, t.shape, t.data, t.nbytes);
        } else {
            if (!dtype_info(t.type).has_dequant)
                fail("%s: tensor '%s' has type %s, which cannot be converted", in_path.c_str(), t.name.c_str(),
                     dtype_name(t.type));
            if (!can_quantize(to)) fail("cannot quantize to %s", dtype_name(to));
            const int64_t rows = t.rows(), cols = t.cols();
            std::vector<uint8_t> out(static_cast<size_t>(rows) * row_bytes(to, cols));
            const size_t src_stride = row_bytes(t.type, cols), dst_stride = row_bytes(to, cols);
            parallel_for(rows, [&](int64_t r0, int64_t r1) {
                std::vector<float> tmp(static_cast<size_t>(cols));
                for (int64_t r = r0; r < r1; r++) {
                    dequantize_row(t.type, t.data + static_cast<size_t>(r) * src_stride, tmp.data(), cols);
                    quantize_row(to, tmp.data(), out.data() + static_cast<size_t>(r) * dst_stride, cols);
                }
            });
            w.add_tensor(t.name, to, t.shape, out.data(), out.size());
            R1_LOG_DEBUG("%-32s %-6s -> %s", t.name.c_str(), dtype_name(t.type), dtype_name(to));
        }
        done += static_cast<int64_t>(t.nbytes);
        if (progress) bar.update(done >> 20);
    }
    if (progress) bar.finish();
    w.write(out_path);
}

}  // namespace r1
