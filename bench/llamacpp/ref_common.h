// llamacpp-ref: our reference harness around the prebuilt llama.cpp C API (llama.h), used as a correctness
// oracle (logits, tokenization) and a speed baseline (bench) for r1.cpp. This header holds what the
// subcommands share: argument parsing, error reporting, backend loading, and RAII owners for the model,
// context and CPU thread pool.
//
// Not part of the r1 libraries and not built by CMake: scripts/llamacpp-ref.sh compiles bench/llamacpp/*.cpp
// against the headers and shared libraries it fetches from npm into .cache/llamacpp/. Keep it free of r1
// includes so it builds on its own.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "llama.h"

namespace ref {

// Every user-facing failure (bad flag, unreadable file, failed decode) is thrown as this and printed by
// main() as "llamacpp-ref <cmd>: error: <message>".
struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string strfmt(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Flags of one subcommand: "-m x", "--ids 1,2" or "--json" (a flag followed by another flag, or last, is
// boolean). Each getter marks its flag as used; finish() rejects any flag nobody asked for, so typos fail
// loudly.
class Args {
  public:
    Args(int argc, char** argv, int first);
    bool has(const std::string& name);
    std::string str(const std::string& name, const std::string& fallback = "");
    std::string required(const std::string& name);
    int64_t integer(const std::string& name, int64_t fallback, int64_t min_value, int64_t max_value);
    bool flag(const std::string& name);
    void finish() const;

  private:
    struct Item {
        std::string name;
        std::string value;
        bool has_value = false;
        bool used = false;
    };
    Item* find(const std::string& name);
    std::vector<Item> items_;
};

// Log verbosity: llama.cpp's own log lines at or above this level reach stderr (default: errors only; -v:
// all).
void set_log_level(ggml_log_level min_level);
// The lines llama.cpp logged since the last call (all levels, also the silenced ones), for parsing.
std::vector<std::string> take_log_lines();

// Loads every ggml backend found next to libllama (the loader picks the best CPU variant for this machine,
// e.g. libggml-cpu-zen4.so on Zen 4). Idempotent. Throws if no CPU backend could be loaded.
void load_backends();
// "zen4 (libggml-cpu-zen4.so) AVX512 AVX512_VNNI ..." : the CPU variant the loader chose and its features.
std::string cpu_backend_description();

// KV-cache element type from a flag value: "f32", "f16", "bf16", "q8_0".
ggml_type parse_kv_type(const std::string& name);
const char* kv_type_name(ggml_type type);
// "on" | "off" | "auto".
llama_flash_attn_type parse_flash_attn(const std::string& name);

struct ModelHandle {
    llama_model* model = nullptr;
    explicit ModelHandle(const std::string& path);
    ~ModelHandle();
    ModelHandle(const ModelHandle&) = delete;
    ModelHandle& operator=(const ModelHandle&) = delete;
    const llama_vocab* vocab() const { return llama_model_get_vocab(model); }
    int32_t n_vocab() const { return llama_vocab_n_tokens(vocab()); }
};

// A ggml CPU thread pool attached to a context, as llama-bench does: without one, each graph evaluation
// starts its own threads, which costs time per generated token.
struct ThreadPool {
    ggml_threadpool* pool = nullptr;
    // poll: how long idle workers spin before sleeping, 0 (sleep at once) .. 100; ggml's default is 50.
    ThreadPool(int n_threads, uint32_t poll);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;
};

struct ContextOptions {
    uint32_t n_ctx = 0;     // cells in the KV cache
    uint32_t n_batch = 0;   // tokens one llama_decode call may take
    uint32_t n_ubatch = 0;  // tokens per graph evaluation
    int n_threads = 1;
    uint32_t poll = 50;  // thread-pool polling level (see ThreadPool)
    ggml_type kv_type = GGML_TYPE_F16;
    llama_flash_attn_type flash_attn = LLAMA_FLASH_ATTN_TYPE_AUTO;
};

struct ContextHandle {
    llama_context* ctx = nullptr;
    ContextHandle(const ModelHandle& model, const ContextOptions& options);
    ~ContextHandle();
    ContextHandle(const ContextHandle&) = delete;
    ContextHandle& operator=(const ContextHandle&) = delete;

  private:
    ThreadPool pool_;
};

// "1,2, 3" -> {1,2,3}; every id must be in [0, n_vocab).
std::vector<llama_token> parse_ids(const std::string& text, int32_t n_vocab);
std::string read_file(const std::string& path);
std::string file_basename(const std::string& path);
// llama_model_meta_val_str as a std::string ("" if the key is absent).
std::string model_meta(const llama_model* model, const char* key);

// Decodes `tokens` as positions [pos0, pos0 + n) of sequence 0 in one llama_decode call; `all_logits` asks
// for logits at every position, otherwise only at the last one.
void decode_tokens(llama_context* ctx, const std::vector<llama_token>& tokens, int32_t pos0, bool all_logits);

// Subcommands (each returns the process exit code).
int cmd_logits(Args& args);
int cmd_tokenize(Args& args);
int cmd_info(Args& args);
int cmd_bench(Args& args);

}  // namespace ref
