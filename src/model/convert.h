// `r1 convert`: a Hugging Face checkpoint directory (config.json + *.safetensors, sharded or not, BF16 / F16
// / F32 or FP8 E4M3 with 128x128 block scales, + tokenizer.json) -> one GGUF file that llama.cpp and r1 load.
//
// Supported model_type: llama, qwen2 (R1-Distill), deepseek_v2, deepseek_v3 (GGUF architecture deepseek2).
// The output is streamed tensor by tensor (the checkpoint is memory-mapped; each tensor is dequantised,
// reshaped and requantised in chunks while the file is written), written atomically, with gguf::Writer's
// progress bar (outputs of 64 MiB or more).
// Metadata keys, tensor names, shapes and per-tensor types follow llama.cpp's convert_hf_to_gguf.py; the
// details and the choices that differ are in docs/convert.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/convert_plan.h"
#include "model/hf_config.h"

namespace r1 {
namespace gguf {
class Writer;
}

struct ConvertOptions {
    std::string type = "bf16";  // a quantisation recipe: f32 f16 bf16 q8_0 q4_k_m ... (model/quantize.h)
    MlaLayout layout = MlaLayout::Mla;  // DeepSeek only
    bool keep_mtp = true;  // DeepSeek MTP layers -> blk.{n_layer+k}.nextn.* + the layer's tensors
    bool vocab = true;     // false: no tokenizer.json needed; writes tokenizer.ggml.model = "none"
                           // (logits from token ids only; for checkpoints without a tokenizer)
    std::string name;      // general.name; default: config "_name_or_path", else the directory name
};

struct ConvertResult {
    std::string arch;                       // "deepseek2", "qwen2", "llama"
    int64_t n_layer = 0, n_mtp_layers = 0;  // GGUF block_count = n_layer + n_mtp_layers
    int64_t n_tensors = 0;
    uint64_t data_bytes = 0;               // tensor bytes written
    bool fp8_source = false;               // some weights were FP8 (dequantised with their block scales)
    std::map<std::string, int64_t> types;  // GGUF tensor type name -> count
    std::vector<std::string> notes;        // what was deliberately not written, and warnings
};

// Converts `hf_dir` to `out_path`. Throws r1::Error (naming the file, tensor or config field) before anything
// is written when the checkpoint does not match its config; the destination is never left half-written.
ConvertResult convert_hf_to_gguf(const std::string& hf_dir, const std::string& out_path,
                                 const ConvertOptions& options = {});

// The general.* and {arch}.* hyper-parameter keys llama.cpp's converter writes for this config (no tokenizer,
// no tensors). n_mtp_layers > 0 adds them to block_count and writes nextn_predict_layers. Returns warnings
// (e.g. routing a GGUF cannot express).
std::vector<std::string> write_hparams_gguf(const HfConfig& c, gguf::Writer& w, MlaLayout layout,
                                            int64_t n_mtp_layers, int32_t file_type, const std::string& name);

}  // namespace r1
