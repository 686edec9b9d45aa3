// llamacpp-ref subcommands `logits`, `tokenize` and `info`: llama.cpp as an oracle for r1.cpp's forward pass
// and tokenizer. Output formats match r1's own `r1 logits` / `r1 tokenize` so files compare directly.
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <thread>

#include "ref_common.h"

namespace ref {

static_assert(sizeof(float) == 4, "logits are written as IEEE float32");
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "logits files are little-endian; this host is not");

static int default_threads() {
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(n);
}

static ggml_log_level log_level_from(Args& args) {
    return args.flag("-v") ? GGML_LOG_LEVEL_DEBUG : GGML_LOG_LEVEL_ERROR;
}

// ---- logits ----
// Evaluates the ids as positions 0..n-1 of one sequence (exactly the ids given: no BOS is added) with outputs
// at every position, and writes float32 little-endian [n_ids, n_vocab] row-major. Defaults favour accuracy
// over llama.cpp's speed defaults: an f32 KV cache and the plain (non-flash) attention path, all positions in
// one ubatch so the result does not depend on batch splitting.
int cmd_logits(Args& args) {
    set_log_level(log_level_from(args));
    const std::string model_path = args.required("-m");
    std::string ids_text = args.required("--ids");
    const std::string out_path = args.required("-o");
    const int n_threads = static_cast<int>(args.integer("-t", default_threads(), 1, 512));
    const ggml_type kv_type = parse_kv_type(args.str("--kv", "f32"));
    const llama_flash_attn_type flash_attn = parse_flash_attn(args.str("--fa", "off"));
    const int64_t ubatch_flag = args.integer("--ubatch", 0, 0, 1 << 20);
    args.finish();

    if (!ids_text.empty() && ids_text[0] == '@') ids_text = read_file(ids_text.substr(1));

    ModelHandle model(model_path);
    const int32_t n_vocab = model.n_vocab();
    const std::vector<llama_token> ids = parse_ids(ids_text, n_vocab);
    const uint32_t n_ids = static_cast<uint32_t>(ids.size());
    const int32_t n_ctx_train = llama_model_n_ctx_train(model.model);
    if (n_ctx_train > 0 && n_ids > static_cast<uint32_t>(n_ctx_train)) {
        std::fprintf(stderr, "llamacpp-ref logits: warning: %u ids exceed the model's training context %d\n",
                     n_ids, n_ctx_train);
    }

    ContextOptions options;
    options.n_ctx = n_ids;
    options.n_batch = n_ids;
    options.n_ubatch =
        ubatch_flag > 0 ? std::min<uint32_t>(n_ids, static_cast<uint32_t>(ubatch_flag)) : n_ids;
    options.n_threads = n_threads;
    options.kv_type = kv_type;
    options.flash_attn = flash_attn;
    ContextHandle context(model, options);

    decode_tokens(context.ctx, ids, 0, /*all_logits=*/true);

    std::FILE* out = std::fopen(out_path.c_str(), "wb");
    if (!out) throw Error(strfmt("cannot create '%s': %s", out_path.c_str(), std::strerror(errno)));
    size_t non_finite = 0;
    int32_t last_argmax = 0;
    for (uint32_t i = 0; i < n_ids; ++i) {
        const float* row = llama_get_logits_ith(context.ctx, static_cast<int32_t>(i));
        if (!row) {
            std::fclose(out);
            throw Error(strfmt("llama.cpp returned no logits for position %u", i));
        }
        for (int32_t v = 0; v < n_vocab; ++v) non_finite += std::isfinite(row[v]) ? 0 : 1;
        if (i + 1 == n_ids) last_argmax = static_cast<int32_t>(std::max_element(row, row + n_vocab) - row);
        if (std::fwrite(row, sizeof(float), static_cast<size_t>(n_vocab), out) !=
            static_cast<size_t>(n_vocab)) {
            std::fclose(out);
            throw Error(strfmt("write to '%s' failed: %s", out_path.c_str(), std::strerror(errno)));
        }
    }
    if (std::fclose(out) != 0)
        throw Error(strfmt("closing '%s' failed: %s", out_path.c_str(), std::strerror(errno)));

    const float* last = llama_get_logits_ith(context.ctx, static_cast<int32_t>(n_ids - 1));
    std::fprintf(stderr,
                 "llamacpp-ref logits: %u positions x %d vocab -> %s (%zu bytes); last argmax %d (%.6g); "
                 "threads %d, kv %s, flash-attn %s, ubatch %u, cpu %s\n",
                 n_ids, n_vocab, out_path.c_str(),
                 static_cast<size_t>(n_ids) * static_cast<size_t>(n_vocab) * 4, last_argmax,
                 static_cast<double>(last[last_argmax]), n_threads, kv_type_name(kv_type),
                 llama_flash_attn_type_name(flash_attn), options.n_ubatch, cpu_backend_description().c_str());
    if (non_finite > 0) {
        std::fprintf(stderr, "llamacpp-ref logits: warning: %zu non-finite logits\n", non_finite);
    }
    return 0;
}

// ---- tokenize ----
// llama.cpp's ids for the bytes of a file, comma-separated on one line (the format of `r1 tokenize`). No BOS
// unless --bos; special-token text becomes special tokens unless --no-special.
int cmd_tokenize(Args& args) {
    set_log_level(log_level_from(args));
    const std::string model_path = args.required("-m");
    const std::string text_path = args.required("-f");
    const bool parse_special = !args.flag("--no-special");
    const bool add_bos = args.flag("--bos");
    const bool show_pieces = args.flag("--pieces");
    args.finish();

    const std::string text = read_file(text_path);
    if (text.size() > static_cast<size_t>(INT32_MAX / 2)) throw Error("input file is too large to tokenize");

    load_backends();
    llama_model_params params = llama_model_default_params();
    params.vocab_only = true;  // no weights needed
    llama_model* model = llama_model_load_from_file(model_path.c_str(), params);
    if (!model) throw Error(strfmt("llama.cpp could not load the vocabulary of '%s'", model_path.c_str()));
    const llama_vocab* vocab = llama_model_get_vocab(model);

    const int32_t text_len = static_cast<int32_t>(text.size());
    std::vector<llama_token> ids(static_cast<size_t>(text_len) + 8);
    int32_t n = llama_tokenize(vocab, text.data(), text_len, ids.data(), static_cast<int32_t>(ids.size()),
                               add_bos, parse_special);
    if (n < 0 && n != INT32_MIN) {
        ids.resize(static_cast<size_t>(-n));
        n = llama_tokenize(vocab, text.data(), text_len, ids.data(), static_cast<int32_t>(ids.size()),
                           add_bos, parse_special);
    }
    if (n < 0) {
        llama_model_free(model);
        throw Error(strfmt("llama_tokenize failed (%d)", n));
    }
    ids.resize(static_cast<size_t>(n));

    std::string line;
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i) line += ',';
        line += std::to_string(ids[i]);
    }
    std::printf("%s\n", line.c_str());
    if (show_pieces) {
        for (llama_token id : ids) {
            char piece[256];
            const int32_t len = llama_token_to_piece(vocab, id, piece, sizeof(piece), 0, true);
            std::fprintf(stderr, "%8d  '%.*s'\n", id, std::max(len, 0), piece);
        }
    }
    llama_model_free(model);
    return 0;
}

// ---- info ----

// KV-cache bytes per token as llama.cpp stores them, from its state API: the serialized state of sequence 0
// after 1 and after 1 + kExtra tokens differs by kExtra x (K and V rows of every layer + 12 bytes of per-cell
// metadata: position, seq-id count, one seq id). Models with extended cells (M-RoPE) add a few bytes more.
struct KvMeasurement {
    double bytes_per_token = 0;  // K+V payload
    std::string log_line;        // llama.cpp's "llama_kv_cache: size = ..." line, if it logged one
};

static KvMeasurement measure_kv(const ModelHandle& model, ggml_type kv_type, int n_threads) {
    constexpr int kExtra = 64;
    constexpr double kCellMetaBytes = 12;
    take_log_lines();
    ContextOptions options;
    options.n_ctx = 256;
    options.n_batch = 256;
    options.n_ubatch = 256;
    options.n_threads = n_threads;
    options.kv_type = kv_type;
    options.flash_attn = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    ContextHandle context(model, options);
    KvMeasurement m;
    for (const std::string& line : take_log_lines()) {
        if (line.find("llama_kv_cache: size =") != std::string::npos) m.log_line = line;
    }
    const int32_t n_vocab = model.n_vocab();
    std::vector<llama_token> first = {0};
    std::vector<llama_token> more(kExtra);
    for (int i = 0; i < kExtra; ++i)
        more[static_cast<size_t>(i)] = static_cast<llama_token>((i * 7919) % n_vocab);
    decode_tokens(context.ctx, first, 0, false);
    const size_t s1 = llama_state_seq_get_size(context.ctx, 0);
    decode_tokens(context.ctx, more, 1, false);
    const size_t s2 = llama_state_seq_get_size(context.ctx, 0);
    m.bytes_per_token = static_cast<double>(s2 - s1) / kExtra - kCellMetaBytes;
    return m;
}

int cmd_info(Args& args) {
    set_log_level(log_level_from(args));
    const std::string model_path = args.required("-m");
    const ggml_type kv_type = parse_kv_type(args.str("--kv", "f16"));
    const int n_threads = static_cast<int>(args.integer("-t", default_threads(), 1, 512));
    const bool json = args.flag("--json");
    args.finish();

    ModelHandle model(model_path);
    const llama_model* m = model.model;
    const llama_vocab* vocab = model.vocab();
    char desc[256];
    llama_model_desc(m, desc, sizeof(desc));
    const KvMeasurement kv = measure_kv(model, kv_type, n_threads);

    struct Field {
        const char* key;
        std::string value;
        bool quoted;
    };
    const std::vector<Field> fields = {
        {"file", file_basename(model_path), true},
        {"architecture", model_meta(m, "general.architecture"), true},
        {"description", desc, true},
        {"ftype", llama_ftype_name(llama_model_ftype(m)), true},
        {"size_bytes", std::to_string(llama_model_size(m)), false},
        {"n_params", std::to_string(llama_model_n_params(m)), false},
        {"n_vocab", std::to_string(llama_vocab_n_tokens(vocab)), false},
        {"n_ctx_train", std::to_string(llama_model_n_ctx_train(m)), false},
        {"n_embd", std::to_string(llama_model_n_embd(m)), false},
        {"n_layer", std::to_string(llama_model_n_layer(m)), false},
        {"n_head", std::to_string(llama_model_n_head(m)), false},
        {"n_head_kv", std::to_string(llama_model_n_head_kv(m)), false},
        {"bos", std::to_string(llama_vocab_bos(vocab)), false},
        {"eos", std::to_string(llama_vocab_eos(vocab)), false},
        {"add_bos", llama_vocab_get_add_bos(vocab) ? "true" : "false", false},
        {"kv_type", kv_type_name(kv_type), true},
        {"kv_bytes_per_token", strfmt("%.0f", kv.bytes_per_token), false},
        {"kv_log", kv.log_line, true},
        {"cpu_backend", cpu_backend_description(), true},
        {"llama_cpp_system_info", llama_print_system_info(), true},
    };
    if (json) {
        std::printf("{");
        for (size_t i = 0; i < fields.size(); ++i) {
            std::string v;
            for (char c : fields[i].value) {
                if (c == '"' || c == '\\') v += '\\';
                if (static_cast<unsigned char>(c) >= 0x20) v += c;
            }
            std::printf("%s\"%s\":%s%s%s", i ? "," : "", fields[i].key, fields[i].quoted ? "\"" : "",
                        v.c_str(), fields[i].quoted ? "\"" : "");
        }
        std::printf("}\n");
    } else {
        for (const Field& f : fields) std::printf("%-22s %s\n", f.key, f.value.c_str());
    }
    return 0;
}

}  // namespace ref
