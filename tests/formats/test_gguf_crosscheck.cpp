// Independent cross-check: GGUF files written by our writer are read by @huggingface/gguf (via
// scripts/gguf-crosscheck/dump.mjs under node) and by our reader, and both readings must agree on the
// version, every metadata key, type and value, every tensor's name, shape, ggml type and offset, and the data
// offset.
//
// Needs `node` on PATH and the package in <repo>/.cache/node (scripts/fetch-assets.sh); skipped otherwise.
// R1_GGUF_CROSSCHECK_FILES=a.gguf:b.gguf adds files written by others (e.g. llama.cpp) to the comparison.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

#include "formats/gguf.h"
#include "scratch.h"

namespace r1 {
namespace {

using gguf::Type;
using nlohmann::json;

const std::string kSourceDir = R1_SOURCE_DIR;

std::string node_dir() {
    const char* env = std::getenv("R1_NODE_DIR");
    return env ? env : kSourceDir + "/.cache/node";
}

std::string find_on_path(const std::string& exe) {
    const char* path = std::getenv("PATH");
    std::stringstream ss(path ? path : "");
    std::string dir;
    while (std::getline(ss, dir, ':')) {
        std::string p = (dir.empty() ? "." : dir) + "/" + exe;
        if (::access(p.c_str(), X_OK) == 0) return p;
    }
    return "";
}

bool exists(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0;
}

// Why the cross-check cannot run here, or "" if it can.
std::string missing_prerequisite() {
    if (find_on_path("node").empty()) return "node is not on PATH";
    if (!exists(node_dir() + "/node_modules/@huggingface/gguf/package.json"))
        return "@huggingface/gguf is not installed in " + node_dir() + " (run scripts/fetch-assets.sh)";
    return "";
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

json dump_with_node(const std::string& gguf_path, const std::string& err_path) {
    std::string cmd = "node " + shell_quote(kSourceDir + "/scripts/gguf-crosscheck/dump.mjs") + " " +
                      shell_quote(gguf_path) + " 2>" + shell_quote(err_path);
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("popen failed: " + cmd);
    std::string out;
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int rc = ::pclose(p);
    if (rc != 0) {
        auto err = test::read_bytes(err_path);
        throw std::runtime_error("dump.mjs failed on " + gguf_path + ": " +
                                 std::string(err.begin(), err.end()));
    }
    return json::parse(out);
}

// Our value in dump.mjs's JSON convention (64-bit integers as decimal strings, non-finite floats as strings).
json float_json(double x) {
    if (std::isnan(x)) return "NaN";
    if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
    return x;
}

json scalar_json(Type t, uint64_t u, int64_t i, double f) {
    switch (t) {
        case Type::U64:
            return std::to_string(u);
        case Type::I64:
            return std::to_string(i);
        case Type::BOOL:
            return u != 0;
        case Type::F32:
        case Type::F64:
            return float_json(f);
        default:
            return gguf::is_unsigned_type(t) ? json(u) : json(i);
    }
}

// The JS reader decodes strings with TextDecoder, which drops one leading byte-order mark (U+FEFF) as a BOM.
// Some real vocabularies have tokens that are U+FEFF; our reader keeps the bytes, so mirror the JS quirk
// here.
std::string as_js_decodes(std::string_view s) {
    if (s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);
    return std::string(s);
}

json value_json(const gguf::Value& v) {
    if (v.type == Type::STRING) return as_js_decodes(v.str);
    if (v.type != Type::ARRAY) return scalar_json(v.type, v.u, v.i, v.f);
    json a = json::array();
    for (uint64_t k = 0; k < v.count; k++) {
        if (v.elem_type == Type::STRING)
            a.push_back(as_js_decodes(v.strings[k]));
        else if (gguf::is_float_type(v.elem_type))
            a.push_back(float_json(gguf::array_float(v, k)));
        else
            a.push_back(scalar_json(v.elem_type, gguf::array_uint(v, k), gguf::array_int(v, k), 0));
    }
    return a;
}

std::string show(const json& j) {
    return j.dump(-1, ' ', true, json::error_handler_t::replace);
}

// The first differing array element, for the failure message.
std::string first_difference(const json& theirs, const json& mine) {
    if (!theirs.is_array() || !mine.is_array() || theirs.size() != mine.size())
        return "theirs " + show(theirs).substr(0, 200) + " vs ours " + show(mine).substr(0, 200);
    for (size_t k = 0; k < theirs.size(); k++)
        if (theirs[k] != mine[k])
            return "element " + std::to_string(k) + ": theirs " + show(theirs[k]) + " vs ours " +
                   show(mine[k]);
    return "";
}

// Compares our reading of `path` with @huggingface/gguf's; returns the number of values compared.
size_t compare_readers(const std::string& path, const std::string& err_path) {
    json theirs = dump_with_node(path, err_path);
    auto ours = gguf::File::open(path);
    size_t compared = 0;
    EXPECT_EQ(theirs["version"].get<uint32_t>(), ours->version());
    EXPECT_EQ(theirs["kv_count"], std::to_string(ours->kv().size()));
    EXPECT_EQ(theirs["tensor_count"], std::to_string(ours->tensors().size()));
    if (!ours->tensors().empty())
        EXPECT_EQ(theirs["tensor_data_offset"], std::to_string(ours->data_offset()));

    const json& md = theirs["metadata"];
    EXPECT_EQ(md.size(), ours->kv().size());
    for (size_t k = 0; k < std::min(md.size(), ours->kv().size()); k++) {
        const auto& [key, v] = ours->kv()[k];
        EXPECT_EQ(md[k]["key"], key);
        EXPECT_EQ(md[k]["type"].get<int>(), static_cast<int>(v.type)) << key;
        if (v.type == Type::ARRAY)
            EXPECT_EQ(md[k]["sub_type"].get<int>(), static_cast<int>(v.elem_type)) << key;
        const json mine = value_json(v);
        EXPECT_TRUE(md[k]["value"] == mine) << key << ": " << first_difference(md[k]["value"], mine);
        compared += v.type == Type::ARRAY ? v.count : 1;
    }

    const json& ts = theirs["tensors"];
    EXPECT_EQ(ts.size(), ours->tensors().size());
    for (size_t k = 0; k < std::min(ts.size(), ours->tensors().size()); k++) {
        const TensorRef& t = ours->tensors()[k];
        EXPECT_EQ(ts[k]["name"], t.name);
        EXPECT_EQ(ts[k]["ggml_type"].get<int>(), static_cast<int>(t.type)) << t.name;
        EXPECT_EQ(ts[k]["n_dims"].get<size_t>(), t.shape.size()) << t.name;
        json ne = json::array();
        for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) ne.push_back(std::to_string(*it));
        EXPECT_EQ(ts[k]["ne"], ne) << t.name;
        const size_t offset = static_cast<size_t>(t.data - ours->mapping().data()) - ours->data_offset();
        EXPECT_EQ(ts[k]["offset"], std::to_string(offset)) << t.name;
        compared++;
    }
    return compared;
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
    std::vector<uint8_t> b(n);
    for (size_t k = 0; k < n; k++) b[k] = static_cast<uint8_t>(seed + k * 31);
    return b;
}

// Every metadata type and a tensor of every dtype GGUF can hold, with shapes of 1 to 4 dims.
void write_rich_file(const std::string& path, uint32_t alignment, size_t n_tokens) {
    gguf::Writer w;
    w.set_string("general.architecture", "deepseek2");
    if (alignment) w.set_u32("general.alignment", alignment);
    w.set_u8("x.u8", 200);
    w.set_u32("x.u32", 4000000000u);
    w.set_i32("x.i32", -2000000000);
    w.set_u64("x.u64", 18446744073709551615ull);
    w.set_i64("x.i64", -9223372036854775807ll - 1);
    w.set_f32("x.f32", 0.1f);
    w.set_f64("x.f64", 1e300);
    w.set_bool("x.bool", true);
    w.set_string("x.string", "DeepSeek-R1 ✓ 深度求索 <｜Assistant｜>");
    gguf::Value v;
    v.type = Type::I8;
    v.i = -100;
    w.set_value("x.i8", v);
    v.type = Type::U16;
    v.u = 60000;
    w.set_value("x.u16", v);
    v.type = Type::I16;
    v.i = -30000;
    w.set_value("x.i16", v);
    std::vector<std::string> tokens;
    for (size_t k = 0; k < n_tokens; k++)
        tokens.push_back(k % 7 == 0 ? "Ġ" + std::to_string(k)
                                    : "tok_" + std::to_string(k * 2654435761u % 100000));
    tokens.push_back("");
    w.set_string_array("tokenizer.ggml.tokens", tokens);
    std::vector<float> scores;
    for (size_t k = 0; k < 100; k++) scores.push_back(-0.37f * static_cast<float>(k));
    w.set_f32_array("tokenizer.ggml.scores", scores);
    w.set_i32_array("tokenizer.ggml.token_type", {1, 2, 3, -4});
    const uint8_t u8s[] = {0, 255};
    w.set_array("x.u8s", Type::U8, u8s, 2);
    const int8_t i8s[] = {-128, 127};
    w.set_array("x.i8s", Type::I8, i8s, 2);
    const uint16_t u16s[] = {0, 65535};
    w.set_array("x.u16s", Type::U16, u16s, 2);
    const int16_t i16s[] = {-32768, 32767};
    w.set_array("x.i16s", Type::I16, i16s, 2);
    const uint32_t u32s[] = {0, 4294967295u};
    w.set_array("x.u32s", Type::U32, u32s, 2);
    const uint64_t u64s[] = {1, 18446744073709551615ull};
    w.set_array("x.u64s", Type::U64, u64s, 2);
    const int64_t i64s[] = {-1, 9223372036854775807ll};
    w.set_array("x.i64s", Type::I64, i64s, 2);
    const double f64s[] = {3.141592653589793, -1e-300};
    w.set_array("x.f64s", Type::F64, f64s, 2);
    const uint8_t bools[] = {0, 1, 1};
    w.set_array("x.bools", Type::BOOL, bools, 3);
    w.set_string_array("x.empty_strings", {});

    uint8_t seed = 1;
    for (int32_t id = 0; id < 64; id++) {
        const DTypeInfo* info = dtype_info_or_null(id);
        if (!info || !gguf::is_ggml_dtype(static_cast<DType>(id))) continue;
        const DType t = static_cast<DType>(id);
        const int64_t cols = info->block_size * 2;
        std::vector<std::vector<int64_t>> shapes = {{cols}, {3, cols}, {2, 1, cols}, {2, 2, 3, cols}};
        for (size_t s = 0; s < shapes.size(); s++) {
            std::string name = std::string("blk.") + std::to_string(s) + "." + info->name + ".weight";
            int64_t rows = 1;
            for (size_t d = 0; d + 1 < shapes[s].size(); d++) rows *= shapes[s][d];
            auto bytes = pattern(row_bytes(t, cols) * static_cast<size_t>(rows), seed++);
            w.add_tensor(name, t, shapes[s], bytes.data(), bytes.size());
        }
    }
    w.write(path);
}

TEST(GgufCrosscheck, OurFilesReadTheSameInHuggingFaceGguf) {
    std::string why = missing_prerequisite();
    if (!why.empty()) GTEST_SKIP() << "cross-check skipped: " << why;
    test::ScratchDir dir;
    struct Case {
        uint32_t alignment;
        size_t tokens;
    };
    // The 200k-token file has a ~2.5 MB header, so the JS reader has to fetch it in several chunks.
    for (Case c : {Case{0, 10}, Case{64, 1000}, Case{4096, 200000}}) {
        SCOPED_TRACE("alignment " + std::to_string(c.alignment) + ", " + std::to_string(c.tokens) +
                     " tokens");
        const std::string path = dir.file("rich.gguf");
        write_rich_file(path, c.alignment, c.tokens);
        size_t compared = compare_readers(path, dir.file("node.err"));
        EXPECT_GT(compared, c.tokens);
    }
}

TEST(GgufCrosscheck, ExtraFilesFromTheEnvironment) {
    const char* list = std::getenv("R1_GGUF_CROSSCHECK_FILES");
    if (!list || !*list) GTEST_SKIP() << "set R1_GGUF_CROSSCHECK_FILES=a.gguf:b.gguf to compare other files";
    std::string why = missing_prerequisite();
    if (!why.empty()) GTEST_SKIP() << "cross-check skipped: " << why;
    test::ScratchDir dir;
    std::stringstream ss(list);
    std::string path;
    while (std::getline(ss, path, ':')) {
        if (path.empty()) continue;
        SCOPED_TRACE(path);
        size_t compared = compare_readers(path, dir.file("node.err"));
        std::printf("compared %s: %zu metadata values and tensor infos%s\n", path.c_str(), compared,
                    ::testing::Test::HasFailure() ? " (with failures, see above)" : ", all equal");
    }
}

}  // namespace
}  // namespace r1
