// r1 inspect: what is inside a model file: a GGUF file, a safetensors file, or a safetensors checkpoint
// directory (sharded with model.safetensors.index.json, plus config.json when present).
//
// Two levels, printed one after the other by run_inspect():
//   format level (print_format_level, here): container facts, metadata, the tensor table, bytes per type;
//   model level (architecture, parameter counts, KV-cache bytes per token): to be added after it, reusing the
//   already opened InspectedFile.
// Text goes to stdout; with --json both levels add their parts to one JSON object printed at the end.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/mapped_file.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "model/model.h"

namespace r1::cli {
namespace {

using Json = nlohmann::ordered_json;
namespace fs = std::filesystem;

struct InspectOptions {
    std::string path;
    bool tensors = true;  // print the tensor table
    bool json = false;
    bool full = false;  // every array element, whole strings
};

// The opened input: exactly one of `gguf` and `checkpoint` is set.
struct InspectedFile {
    std::string path;
    std::unique_ptr<gguf::File> gguf;
    std::unique_ptr<safetensors::Checkpoint> checkpoint;
    Json config;  // config.json beside a checkpoint (null when absent)
};

bool starts_with_gguf_magic(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    char magic[4] = {};
    size_t n = std::fread(magic, 1, 4, f);
    std::fclose(f);
    return n == 4 && std::memcmp(magic, "GGUF", 4) == 0;
}

bool looks_like_safetensors(const std::string& path) {
    auto ends = [&](const char* s) {
        size_t n = std::strlen(s);
        return path.size() >= n && path.compare(path.size() - n, n, s) == 0;
    };
    if (ends(".safetensors") || ends(".index.json")) return true;
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    unsigned char head[9] = {};
    size_t n = std::fread(head, 1, 9, f);
    std::fclose(f);
    return n == 9 && head[8] == '{';  // u64 header length, then the JSON object
}

InspectedFile open_for_inspect(const std::string& path) {
    InspectedFile f;
    f.path = path;
    std::error_code ec;
    if (!fs::exists(path, ec)) fail("'%s' does not exist", path.c_str());
    if (!fs::is_directory(path, ec) && starts_with_gguf_magic(path)) {
        f.gguf = gguf::File::open(path);
        return f;
    }
    if (!fs::is_directory(path, ec) && !looks_like_safetensors(path))
        fail(
            "'%s' is neither a GGUF file (magic 'GGUF') nor safetensors (a u64 header length, then a JSON "
            "object), nor a checkpoint directory",
            path.c_str());
    f.checkpoint = safetensors::Checkpoint::open(path);
    const std::string config = (fs::path(f.checkpoint->dir()) / "config.json").string();
    if (fs::is_regular_file(config, ec)) {
        f.config = Json::parse(read_file(config), nullptr, /*allow_exceptions=*/false);
        if (f.config.is_discarded()) fail("%s: not valid JSON", config.c_str());
    }
    return f;
}

std::string dump(const Json& j, int indent = -1) {
    return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

// ---- shared: tensor table and bytes per type
// -------------------------------------------------------------------

struct Row {
    const TensorRef* t;
    uint64_t offset;    // within the data section (GGUF blob / safetensors buffer)
    std::string shard;  // safetensors checkpoints with several shards; else empty
};

void print_table(const std::vector<Row>& rows) {
    size_t wname = 4, wtype = 4, wshape = 5, wshard = 0;
    for (const Row& r : rows) {
        wname = std::max(wname, r.t->name.size());
        wtype = std::max(wtype, std::strlen(dtype_name(r.t->type)));
        wshape = std::max(wshape, shape_str(r.t->shape).size());
        wshard = std::max(wshard, r.shard.size());
    }
    std::printf("\ntensors:\n  %-*s  %-*s  %-*s  %14s  %14s%s%s\n", static_cast<int>(wname), "name",
                static_cast<int>(wtype), "type", static_cast<int>(wshape), "shape", "bytes", "offset",
                wshard ? "  " : "", wshard ? "shard" : "");
    for (const Row& r : rows)
        std::printf("  %-*s  %-*s  %-*s  %14zu  %14llu%s%s\n", static_cast<int>(wname), r.t->name.c_str(),
                    static_cast<int>(wtype), dtype_name(r.t->type), static_cast<int>(wshape),
                    shape_str(r.t->shape).c_str(), r.t->nbytes, static_cast<unsigned long long>(r.offset),
                    wshard ? "  " : "", r.shard.c_str());
}

Json table_json(const std::vector<Row>& rows) {
    Json out = Json::array();
    for (const Row& r : rows) {
        Json t = {{"name", r.t->name},
                  {"type", dtype_name(r.t->type)},
                  {"shape", r.t->shape},
                  {"bytes", r.t->nbytes},
                  {"offset", r.offset}};
        if (!r.shard.empty()) t["shard"] = r.shard;
        out.push_back(std::move(t));
    }
    return out;
}

// Bytes and tensor counts per type, largest first.
void per_type_summary(const std::vector<Row>& rows, Json* json) {
    std::map<DType, std::pair<size_t, uint64_t>> by_type;
    uint64_t total = 0;
    for (const Row& r : rows) {
        auto& e = by_type[r.t->type];
        e.first++;
        e.second += r.t->nbytes;
        total += r.t->nbytes;
    }
    std::vector<std::pair<DType, std::pair<size_t, uint64_t>>> sorted(by_type.begin(), by_type.end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
    if (json) {
        Json out = Json::object();
        for (const auto& [type, e] : sorted)
            out[dtype_name(type)] = {{"tensors", e.first}, {"bytes", e.second}};
        (*json)["bytes_per_type"] = std::move(out);
        (*json)["tensor_bytes"] = total;
        return;
    }
    std::printf("\nbytes per type:\n");
    for (const auto& [type, e] : sorted)
        std::printf("  %-8s %7zu tensors  %12s  %5.1f%%\n", dtype_name(type), e.first,
                    human_bytes(e.second).c_str(),
                    total ? 100.0 * static_cast<double>(e.second) / static_cast<double>(total) : 0.0);
    std::printf("  %-8s %7zu tensors  %12s\n", "total", rows.size(), human_bytes(total).c_str());
}

// ---- GGUF
// ------------------------------------------------------------------------------------------------------

constexpr uint64_t kJsonArrayHead = 64;  // elements kept in JSON arrays without --full

Json value_json(const gguf::Value& v, bool full) {
    using gguf::Type;
    switch (v.type) {
        case Type::STRING:
            return std::string(v.str);
        case Type::BOOL:
            return v.u != 0;
        case Type::F32:
        case Type::F64:
            return v.f;
        case Type::ARRAY:
            break;
        default:
            return gguf::is_unsigned_type(v.type) ? Json(v.u) : Json(v.i);
    }
    Json a = Json::array();
    const uint64_t n = full ? v.count : std::min(v.count, kJsonArrayHead);
    for (uint64_t k = 0; k < n; k++) {
        if (v.elem_type == Type::STRING)
            a.push_back(std::string(v.strings[k]));
        else if (v.elem_type == Type::BOOL)
            a.push_back(gguf::array_int(v, k) != 0);
        else if (gguf::is_float_type(v.elem_type))
            a.push_back(gguf::array_float(v, k));
        else if (v.elem_type == Type::U64)
            a.push_back(gguf::array_uint(v, k));
        else
            a.push_back(gguf::array_int(v, k));
    }
    return a;
}

void print_gguf(const gguf::File& f, const InspectOptions& o, Json* json) {
    std::vector<Row> rows;
    for (const TensorRef& t : f.tensors())
        rows.push_back({&t, static_cast<uint64_t>(t.data - f.mapping().data()) - f.data_offset(), ""});

    if (json) {
        Json& j = *json;
        j["format"] = "gguf";
        j["path"] = f.path();
        j["version"] = f.version();
        j["alignment"] = f.alignment();
        j["file_size"] = f.file_size();
        j["data_offset"] = f.data_offset();
        j["data_size"] = f.data_size();
        j["tensor_count"] = f.tensors().size();
        Json md = Json::array();
        for (const auto& [key, v] : f.kv()) {
            Json e = {{"key", key}, {"type", gguf::type_name(v.type)}};
            if (v.type == gguf::Type::ARRAY) {
                e["elem_type"] = gguf::type_name(v.elem_type);
                e["count"] = v.count;
                if (!o.full && v.count > kJsonArrayHead) e["truncated"] = true;
            }
            e["value"] = value_json(v, o.full);
            md.push_back(std::move(e));
        }
        j["metadata"] = std::move(md);
        if (o.tensors) j["tensors"] = table_json(rows);
        per_type_summary(rows, json);
        return;
    }

    std::printf("file       %s\n", f.path().c_str());
    std::printf("format     GGUF v%u, alignment %zu\n", f.version(), f.alignment());
    std::printf("size       %s (%llu bytes)\n", human_bytes(static_cast<double>(f.file_size())).c_str(),
                static_cast<unsigned long long>(f.file_size()));
    std::printf("data       %s at offset %zu\n", human_bytes(static_cast<double>(f.data_size())).c_str(),
                f.data_offset());
    std::printf("tensors    %zu\n", f.tensors().size());
    std::printf("metadata   %zu keys\n\nmetadata:\n", f.kv().size());
    size_t wkey = 0, wtype = 0;
    std::vector<std::string> types;
    for (const auto& [key, v] : f.kv()) {
        wkey = std::max(wkey, key.size());
        types.push_back(v.type == gguf::Type::ARRAY ? std::string("[") + gguf::type_name(v.elem_type) + "]"
                                                    : gguf::type_name(v.type));
        wtype = std::max(wtype, types.back().size());
    }
    for (size_t k = 0; k < f.kv().size(); k++) {
        const auto& [key, v] = f.kv()[k];
        std::string text = o.full ? gguf::value_to_string(v, SIZE_MAX) : gguf::value_to_string(v, 8, 160);
        std::printf("  %-*s  %-*s  %s\n", static_cast<int>(wkey), key.c_str(), static_cast<int>(wtype),
                    types[k].c_str(), text.c_str());
    }
    if (o.tensors) print_table(rows);
    per_type_summary(rows, nullptr);
}

// ---- safetensors
// -----------------------------------------------------------------------------------------------

void print_checkpoint(const InspectedFile& in, const InspectOptions& o, Json* json) {
    const safetensors::Checkpoint& ck = *in.checkpoint;
    const bool sharded = ck.shards().size() > 1;
    std::vector<Row> rows;
    for (const TensorRef* t : ck.tensors()) {
        const safetensors::File& shard = ck.shard_of(t);
        rows.push_back({t, static_cast<uint64_t>(t->data - shard.mapping().data()) - shard.data_offset(),
                        sharded ? fs::path(shard.path()).filename().string() : ""});
    }
    // __metadata__ per shard; printed once when every shard has the same.
    bool same_metadata = true;
    for (const auto& s : ck.shards()) same_metadata &= s->metadata() == ck.shards()[0]->metadata();

    if (json) {
        Json& j = *json;
        j["format"] = "safetensors";
        j["path"] = in.path;
        j["dir"] = ck.dir();
        if (!ck.index_path().empty()) j["index"] = ck.index_path();
        Json shards = Json::array();
        for (const auto& s : ck.shards())
            shards.push_back({{"path", s->path()},
                              {"file_size", s->mapping().size()},
                              {"header_bytes", s->data_offset()},
                              {"tensor_count", s->tensors().size()},
                              {"metadata", s->metadata()}});
        j["shards"] = std::move(shards);
        j["tensor_count"] = rows.size();
        if (!in.config.is_null()) j["config"] = in.config;
        if (o.tensors) j["tensors"] = table_json(rows);
        per_type_summary(rows, json);
        return;
    }

    uint64_t total = 0;
    for (const auto& s : ck.shards()) total += s->mapping().size();
    std::printf("path       %s\n", in.path.c_str());
    if (ck.index_path().empty())
        std::printf("format     safetensors, 1 file\n");
    else
        std::printf("format     safetensors checkpoint, %zu shards (index %s)\n", ck.shards().size(),
                    fs::path(ck.index_path()).filename().string().c_str());
    std::printf("size       %s (%llu bytes)\n", human_bytes(static_cast<double>(total)).c_str(),
                static_cast<unsigned long long>(total));
    std::printf("tensors    %zu\n", rows.size());
    if (sharded) {
        std::printf("\nshards:\n");
        for (const auto& s : ck.shards())
            std::printf("  %s  %zu tensors  %s\n", fs::path(s->path()).filename().string().c_str(),
                        s->tensors().size(), human_bytes(static_cast<double>(s->mapping().size())).c_str());
    }
    for (size_t k = 0; k < ck.shards().size(); k++) {
        const auto& s = ck.shards()[k];
        if (s->metadata().empty() || (same_metadata && k > 0)) continue;
        std::printf(
            "\n__metadata__%s:\n",
            sharded && !same_metadata ? (" (" + fs::path(s->path()).filename().string() + ")").c_str() : "");
        for (const auto& [key, value] : s->metadata()) {
            std::string shown = value.size() > 160 && !o.full ? value.substr(0, 160) + "..." : value;
            std::printf("  %s = %s\n", key.c_str(), shown.c_str());
        }
    }
    if (!in.config.is_null()) std::printf("\nconfig.json:\n%s\n", dump(in.config, 2).c_str());
    if (o.tensors) print_table(rows);
    per_type_summary(rows, nullptr);
}

// Format level: everything the container itself says. Text to stdout, or into `json` when it is not null.
void print_format_level(const InspectedFile& f, const InspectOptions& o, Json* json) {
    if (f.gguf)
        print_gguf(*f.gguf, o, json);
    else
        print_checkpoint(f, o, json);
}

// Model level: what the engine makes of a GGUF file (architecture, layout, KV-cache bytes per token,
// routing), or why it cannot load it. Loading maps the file and checks every tensor; no weights are read.
void print_model_level(const InspectOptions& o, Json* json) {
    std::vector<std::string> lines;
    std::string problem;
    try {
        auto m = Model::load(o.path, {.prefault = false, .progress = false});
        lines = m->describe();
        if (json) {
            const ModelConfig& c = m->config();
            (*json)["model"] = {{"architecture", arch_name(c.arch)},
                                {"summary", lines},
                                {"kv_cache_bytes_per_token", kv_cache_bytes_per_token(c, CacheType::BF16)},
                                {"kv_cache_bytes_per_token_f32", kv_cache_bytes_per_token(c, CacheType::F32)},
                                {"weight_bytes", m->weight_bytes()}};
        }
    } catch (const Error& e) {
        problem = e.what();
        if (json) (*json)["model"] = {{"error", problem}};
    }
    if (json) return;
    std::printf("\nmodel:\n");
    if (!problem.empty()) {
        std::printf("  cannot be run: %s\n", problem.c_str());
        return;
    }
    for (const auto& l : lines) std::printf("  %s\n", l.c_str());
}

void run_inspect(const InspectOptions& o) {
    InspectedFile f = open_for_inspect(o.path);
    Json json = Json::object();
    print_format_level(f, o, o.json ? &json : nullptr);
    if (f.gguf) print_model_level(o, o.json ? &json : nullptr);
    if (o.json) std::printf("%s\n", dump(json, 2).c_str());
}

}  // namespace

void add_inspect(CLI::App& app) {
    auto o = std::make_shared<InspectOptions>();
    auto* cmd = app.add_subcommand("inspect", "Show what is inside a GGUF or safetensors model file");
    cmd->footer(
        "FILE is a .gguf file, a .safetensors file, or a checkpoint directory (model.safetensors.index.json\n"
        "and its shards, or a single .safetensors; config.json is shown when present).\n"
        "GGUF: version, alignment, sizes, every metadata key with its type (long arrays abbreviated with "
        "their\n"
        "count), the tensor table and bytes per type. Shapes are outermost-first ([rows, cols]); offsets "
        "are\n"
        "relative to the data section (GGUF tensor blob / safetensors byte buffer).\n"
        "Examples:\n"
        "  r1 inspect model.gguf --no-tensors\n"
        "  r1 inspect ./DeepSeek-R1-Distill-Qwen-1.5B --json | jq '.bytes_per_type'");
    cmd->add_option("FILE", o->path, "GGUF file, safetensors file or checkpoint directory")->required();
    cmd->add_flag(
        "--no-tensors", [o](int64_t) { o->tensors = false; }, "leave out the tensor table");
    cmd->add_flag("--json", o->json,
                  "print one JSON object instead of text (arrays cut to 64 elements unless --full)");
    cmd->add_flag("--full", o->full, "print every array element and whole strings");
    cmd->callback([o] { run_inspect(*o); });
}

}  // namespace r1::cli
