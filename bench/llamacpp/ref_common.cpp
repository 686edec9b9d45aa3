// Shared pieces of the llamacpp-ref harness: flags, errors, llama.cpp logging, backend loading and the RAII
// owners declared in ref_common.h.
#include "ref_common.h"

#include <dlfcn.h>
#include <link.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

namespace ref {

std::string strfmt(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    const int n = std::vsnprintf(nullptr, 0, fmt, ap);
    va_end(ap);
    std::string out(n > 0 ? static_cast<size_t>(n) : 0, '\0');
    if (n > 0) std::vsnprintf(out.data(), out.size() + 1, fmt, ap2);
    va_end(ap2);
    return out;
}

// ---- flags ----

static bool looks_like_flag(const char* s) {
    // "-5" is a value (a negative number), "-m" / "--ids" are flags.
    return s[0] == '-' && s[1] != '\0' && !(s[1] >= '0' && s[1] <= '9');
}

Args::Args(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
        if (!looks_like_flag(argv[i])) {
            throw Error(
                strfmt("unexpected argument '%s' (every value needs a flag, e.g. -m MODEL.gguf)", argv[i]));
        }
        Item item{argv[i], "", false, false};
        if (i + 1 < argc && !looks_like_flag(argv[i + 1])) {
            item.value = argv[++i];
            item.has_value = true;
        }
        items_.push_back(std::move(item));
    }
}

Args::Item* Args::find(const std::string& name) {
    Item* found = nullptr;
    for (Item& item : items_) {
        if (item.name != name) continue;
        if (found) throw Error(strfmt("flag %s given twice", name.c_str()));
        found = &item;
    }
    if (found) found->used = true;
    return found;
}

bool Args::has(const std::string& name) {
    return find(name) != nullptr;
}

std::string Args::str(const std::string& name, const std::string& fallback) {
    Item* item = find(name);
    if (!item) return fallback;
    if (!item->has_value) throw Error(strfmt("flag %s needs a value", name.c_str()));
    return item->value;
}

std::string Args::required(const std::string& name) {
    Item* item = find(name);
    if (!item) throw Error(strfmt("missing required flag %s", name.c_str()));
    if (!item->has_value) throw Error(strfmt("flag %s needs a value", name.c_str()));
    return item->value;
}

int64_t Args::integer(const std::string& name, int64_t fallback, int64_t min_value, int64_t max_value) {
    Item* item = find(name);
    if (!item) return fallback;
    if (!item->has_value) throw Error(strfmt("flag %s needs an integer value", name.c_str()));
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(item->value.c_str(), &end, 10);
    if (errno != 0 || end == item->value.c_str() || *end != '\0') {
        throw Error(strfmt("flag %s: '%s' is not an integer", name.c_str(), item->value.c_str()));
    }
    if (v < min_value || v > max_value) {
        throw Error(strfmt("flag %s: %lld is out of range [%lld, %lld]", name.c_str(), v,
                           static_cast<long long>(min_value), static_cast<long long>(max_value)));
    }
    return v;
}

bool Args::flag(const std::string& name) {
    Item* item = find(name);
    if (!item) return false;
    if (item->has_value) {
        throw Error(strfmt("flag %s takes no value (got '%s')", name.c_str(), item->value.c_str()));
    }
    return true;
}

void Args::finish() const {
    for (const Item& item : items_) {
        if (!item.used) throw Error(strfmt("unknown flag %s for this command", item.name.c_str()));
    }
}

// ---- llama.cpp logging ----
// llama.cpp and ggml log through one callback, sometimes in pieces (GGML_LOG_LEVEL_CONT continues the
// previous line). We print what passes the level filter and keep whole lines for parsing (e.g. the KV-cache
// size line).

namespace {
struct LogState {
    std::mutex mutex;
    ggml_log_level min_level = GGML_LOG_LEVEL_WARN;
    ggml_log_level last_level = GGML_LOG_LEVEL_INFO;
    std::string partial;
    std::vector<std::string> lines;
};
LogState& log_state() {
    static LogState state;
    return state;
}

void log_callback(ggml_log_level level, const char* text, void* /*user_data*/) {
    LogState& s = log_state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (level == GGML_LOG_LEVEL_CONT) {
        level = s.last_level;
    } else {
        s.last_level = level;
    }
    if (level >= s.min_level) std::fputs(text, stderr);
    s.partial += text;
    size_t newline;
    while ((newline = s.partial.find('\n')) != std::string::npos) {
        if (s.lines.size() < 100000) s.lines.push_back(s.partial.substr(0, newline));
        s.partial.erase(0, newline + 1);
    }
}
}  // namespace

void set_log_level(ggml_log_level min_level) {
    log_state().min_level = min_level;
    llama_log_set(log_callback, nullptr);
    ggml_log_set(log_callback, nullptr);
}

std::vector<std::string> take_log_lines() {
    LogState& s = log_state();
    std::lock_guard<std::mutex> lock(s.mutex);
    std::vector<std::string> out;
    out.swap(s.lines);
    return out;
}

// ---- backends ----

// Directory holding libllama.so (the CPU variants sit beside it in the npm package).
static std::string llama_library_dir() {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&llama_model_default_params), &info) == 0 || !info.dli_fname) {
        throw Error("cannot locate libllama.so on disk (dladdr failed)");
    }
    std::string path = info.dli_fname;
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

void load_backends() {
    static bool loaded = false;
    if (loaded) return;
    const char* override_dir = std::getenv("LLAMACPP_REF_LIB_DIR");
    const std::string dir = override_dir ? override_dir : llama_library_dir();
    ggml_backend_load_all_from_path(dir.c_str());
    if (!ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU)) {
        throw Error(strfmt("no ggml CPU backend could be loaded from %s (expected libggml-cpu-*.so there)",
                           dir.c_str()));
    }
    llama_backend_init();
    loaded = true;
}

static int collect_cpu_variant(dl_phdr_info* info, size_t /*size*/, void* data) {
    const char* name = info->dlpi_name;
    if (name && std::strstr(name, "libggml-cpu")) {
        const char* base = std::strrchr(name, '/');
        *static_cast<std::string*>(data) = base ? base + 1 : name;
    }
    return 0;
}

std::string cpu_backend_description() {
    std::string library;
    dl_iterate_phdr(collect_cpu_variant, &library);
    std::string variant = library;
    if (variant.rfind("libggml-cpu-", 0) == 0) variant = variant.substr(12);
    if (const size_t dot = variant.find(".so"); dot != std::string::npos) variant = variant.substr(0, dot);
    std::string out = variant.empty() ? std::string("unknown") : variant;
    out += " (" + (library.empty() ? std::string("no libggml-cpu-*.so loaded") : library) + ")";

    ggml_backend_reg_t reg = ggml_backend_reg_by_name("CPU");
    if (reg) {
        auto get_features = reinterpret_cast<ggml_backend_get_features_t>(
            ggml_backend_reg_get_proc_address(reg, "ggml_backend_get_features"));
        if (get_features) {
            for (ggml_backend_feature* f = get_features(reg); f && f->name; ++f) {
                if (std::strcmp(f->value, "1") == 0) {
                    out += std::string(" ") + f->name;
                } else if (std::strcmp(f->name, "CPU_VARIANT") != 0) {
                    out += std::string(" ") + f->name + "=" + f->value;
                }
            }
        }
    }
    return out;
}

ggml_type parse_kv_type(const std::string& name) {
    if (name == "f32") return GGML_TYPE_F32;
    if (name == "f16") return GGML_TYPE_F16;
    if (name == "bf16") return GGML_TYPE_BF16;
    if (name == "q8_0") return GGML_TYPE_Q8_0;
    throw Error(strfmt("unknown KV-cache type '%s' (expected f32, f16, bf16 or q8_0)", name.c_str()));
}

const char* kv_type_name(ggml_type type) {
    return ggml_type_name(type);
}

llama_flash_attn_type parse_flash_attn(const std::string& name) {
    if (name == "on") return LLAMA_FLASH_ATTN_TYPE_ENABLED;
    if (name == "off") return LLAMA_FLASH_ATTN_TYPE_DISABLED;
    if (name == "auto") return LLAMA_FLASH_ATTN_TYPE_AUTO;
    throw Error(strfmt("unknown flash-attention mode '%s' (expected on, off or auto)", name.c_str()));
}

// ---- model / context ----

ModelHandle::ModelHandle(const std::string& path) {
    load_backends();
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        std::fclose(f);
    } else {
        throw Error(strfmt("cannot open model file '%s': %s", path.c_str(), std::strerror(errno)));
    }
    llama_model_params params = llama_model_default_params();
    params.n_gpu_layers = 0;  // CPU only (no GPU backend ships in the package anyway)
    model = llama_model_load_from_file(path.c_str(), params);
    if (!model) {
        throw Error(strfmt("llama.cpp could not load '%s' (run with -v for its log)", path.c_str()));
    }
}

ModelHandle::~ModelHandle() {
    if (model) llama_model_free(model);
}

ThreadPool::ThreadPool(int n_threads, uint32_t poll) {
    ggml_backend_reg_t reg = ggml_backend_reg_by_name("CPU");
    if (!reg) throw Error("ggml CPU backend is not registered");
    // The thread-pool functions live in the CPU variant library that the loader picked, hence the lookup.
    using NewFn = ggml_threadpool* (*)(ggml_threadpool_params*);
    auto new_fn = reinterpret_cast<NewFn>(ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_new"));
    if (!new_fn) throw Error("ggml CPU backend does not export ggml_threadpool_new");
    ggml_threadpool_params params = ggml_threadpool_params_default(n_threads);
    params.poll = poll;
    pool = new_fn(&params);
    if (!pool) throw Error(strfmt("could not create a ggml thread pool of %d threads", n_threads));
}

ThreadPool::~ThreadPool() {
    if (!pool) return;
    using FreeFn = void (*)(ggml_threadpool*);
    ggml_backend_reg_t reg = ggml_backend_reg_by_name("CPU");
    auto free_fn =
        reg ? reinterpret_cast<FreeFn>(ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_free"))
            : nullptr;
    if (free_fn) free_fn(pool);
}

ContextHandle::ContextHandle(const ModelHandle& model, const ContextOptions& o) : pool_(o.n_threads, o.poll) {
    llama_context_params params = llama_context_default_params();
    params.n_ctx = o.n_ctx;
    params.n_batch = o.n_batch;
    params.n_ubatch = o.n_ubatch;
    params.n_seq_max = 1;
    params.n_threads = o.n_threads;
    params.n_threads_batch = o.n_threads;
    params.type_k = o.kv_type;
    params.type_v = o.kv_type;
    params.flash_attn_type = o.flash_attn;
    params.no_perf = true;
    ctx = llama_init_from_model(model.model, params);
    if (!ctx) {
        throw Error(
            strfmt("llama.cpp could not create a context (n_ctx %u, n_ubatch %u, kv %s, flash-attn %s); "
                   "run with -v for its log",
                   o.n_ctx, o.n_ubatch, kv_type_name(o.kv_type), llama_flash_attn_type_name(o.flash_attn)));
    }
    llama_attach_threadpool(ctx, pool_.pool, nullptr);
}

ContextHandle::~ContextHandle() {
    if (ctx) {
        llama_detach_threadpool(ctx);
        llama_free(ctx);
    }
}

// ---- small helpers ----

std::vector<llama_token> parse_ids(const std::string& text, int32_t n_vocab) {
    std::vector<llama_token> ids;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t comma = text.find(',', pos);
        if (comma == std::string::npos) comma = text.size();
        std::string item = text.substr(pos, comma - pos);
        const size_t b = item.find_first_not_of(" \t\r\n");
        const size_t e = item.find_last_not_of(" \t\r\n");
        item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
        if (item.empty()) {
            if (comma == text.size() && pos == text.size() && !ids.empty()) break;  // trailing comma
            throw Error(strfmt("--ids: empty id at character %zu of '%s'", pos, text.c_str()));
        }
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(item.c_str(), &end, 10);
        if (errno != 0 || *end != '\0') throw Error(strfmt("--ids: '%s' is not an integer", item.c_str()));
        if (v < 0 || v >= n_vocab) {
            throw Error(strfmt("--ids: token id %lld is outside the vocabulary [0, %d)", v, n_vocab));
        }
        ids.push_back(static_cast<llama_token>(v));
        pos = comma + 1;
    }
    if (ids.empty()) throw Error("--ids: no token ids given");
    return ids;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(strfmt("cannot open '%s': %s", path.c_str(), std::strerror(errno)));
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string file_basename(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string model_meta(const llama_model* model, const char* key) {
    char buf[512];
    const int32_t n = llama_model_meta_val_str(model, key, buf, sizeof(buf));
    if (n < 0) return "";
    if (static_cast<size_t>(n) < sizeof(buf)) return std::string(buf, static_cast<size_t>(n));
    std::string big(static_cast<size_t>(n) + 1, '\0');
    llama_model_meta_val_str(model, key, big.data(), big.size());
    big.resize(static_cast<size_t>(n));
    return big;
}

void decode_tokens(llama_context* ctx, const std::vector<llama_token>& tokens, int32_t pos0,
                   bool all_logits) {
    const int32_t n = static_cast<int32_t>(tokens.size());
    llama_batch batch = llama_batch_init(n, 0, 1);
    batch.n_tokens = n;
    for (int32_t i = 0; i < n; ++i) {
        batch.token[i] = tokens[static_cast<size_t>(i)];
        batch.pos[i] = pos0 + i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = (all_logits || i == n - 1) ? 1 : 0;
    }
    const int32_t rc = llama_decode(ctx, batch);
    llama_batch_free(batch);
    if (rc != 0) {
        throw Error(strfmt("llama_decode of %d tokens at position %d failed with code %d%s", n, pos0, rc,
                           rc == 1 ? " (no KV slot: context too small)" : ""));
    }
}

}  // namespace ref
