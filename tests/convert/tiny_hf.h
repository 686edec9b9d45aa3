// Tiny Hugging Face checkpoints for the converter tests and the llama.cpp cross-check: config.json, one or
// more safetensors shards (+ model.safetensors.index.json), and a small byte-level BPE tokenizer.json with
// the DeepSeek-V3 pre-tokenizer, all written with our own writers from a seed. Every tensor keeps the exact
// f32 values its stored bytes decode to (`values`), so tests can say what each GGUF tensor must contain.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tensor/dtype.h"

namespace r1::test {

enum class TinyKind { Qwen2, Llama, DeepSeekV2Lite, DeepSeekV3 };

struct TinyOptions {
    TinyKind kind = TinyKind::Qwen2;
    int64_t n_layers = 2;       // main layers (V2-Lite needs 27 for llama.cpp's is_lite rule)
    DType dtype = DType::BF16;  // storage of weights (F32, F16 or BF16)
    bool fp8 = false;           // DeepSeek: projection matrices as F8_E4M3 + weight_scale_inv
    int64_t fp8_block = 128;    // weight_block_size (both dimensions)
    bool mtp = false;           // DeepSeek-V3: one MTP layer model.layers.{n_layers}
    int shards = 1;             // > 1: model-0000k-of-0000N.safetensors + index.json
    bool tokenizer = true;      // write tokenizer.json + tokenizer_config.json
    uint64_t seed = 1;
};

struct TinyTensor {
    DType type = DType::F32;
    std::vector<int64_t> shape;  // outermost-first
    std::vector<uint8_t> bytes;  // as stored
    std::vector<float> values;   // what the bytes mean (FP8: fp8 x block scale)
};

struct TinyCheckpoint {
    nlohmann::json config;
    std::map<std::string, TinyTensor> tensors;  // includes *_scale_inv for FP8 weights
    int shards = 1;
    bool tokenizer = true;

    const TinyTensor& at(const std::string& name) const;
    // Writes config.json, the shards (+ index) and the tokenizer files into `dir` (created if needed).
    void write(const std::string& dir) const;
};

TinyCheckpoint make_tiny_checkpoint(const TinyOptions& opt);

// The synthetic tokenizer: 3 specials (BOS 0, EOS 1, pad 2), 256 byte tokens, 3 merges = 262 tokens.
constexpr int32_t kTinyTokenizerSize = 262;
void write_tiny_tokenizer(const std::string& dir);

// Nearest F8_E4M3 byte to x (ties to the even code); |x| beyond 448 saturates.
uint8_t fp8_e4m3_nearest(float x);

}  // namespace r1::test
