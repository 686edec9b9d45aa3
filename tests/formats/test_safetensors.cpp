// safetensors: writer -> reader round trips for every dtype, sharded checkpoints with an index, and hand-made
// broken files that must fail with a clear r1::Error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "formats/safetensors.h"
#include "scratch.h"

namespace r1 {
namespace {

using test::ScratchDir;

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
    std::vector<uint8_t> b(n);
    for (size_t k = 0; k < n; k++) b[k] = static_cast<uint8_t>(seed * 17 + k * 13);
    return b;
}

struct Spec {
    std::string name;
    DType type;
    std::vector<int64_t> shape;
};

const std::vector<Spec> kSpecs = {
    {"model.embed_tokens.weight", DType::BF16, {5, 3}},
    {"model.layers.0.self_attn.q_proj.weight", DType::F8_E4M3, {3, 7}},
    {"model.layers.0.self_attn.q_proj.weight_scale_inv", DType::F32, {1, 1}},
    {"model.norm.weight", DType::F16, {3}},
    {"i8", DType::I8, {5}},
    {"i16", DType::I16, {3}},
    {"i32", DType::I32, {2, 2}},
    {"i64", DType::I64, {3}},
    {"f64", DType::F64, {1, 2, 1}},
    {"scalar", DType::F32, {}},
    {"empty", DType::F32, {0, 4}},
};

size_t bytes_of(const Spec& s) {
    size_t n = dtype_info(s.type).block_bytes;
    for (int64_t d : s.shape) n *= static_cast<size_t>(d);
    return n;
}

void open_file(const std::string& p) {
    safetensors::File::open(p);
}
void open_checkpoint(const std::string& p) {
    safetensors::Checkpoint::open(p);
}

std::map<std::string, std::vector<uint8_t>> write_specs(const std::string& path,
                                                        const std::vector<Spec>& specs, uint8_t seed = 1) {
    safetensors::Writer w;
    w.set_metadata("format", "pt");
    w.set_metadata("note", "ünïcode \"quoted\"");
    std::map<std::string, std::vector<uint8_t>> contents;
    for (const auto& s : specs) {
        auto b = pattern(bytes_of(s), seed++);
        w.add_tensor(s.name, s.type, s.shape, b.data(), b.size());
        contents[s.name] = std::move(b);
    }
    w.write(path);
    return contents;
}

TEST(Safetensors, RoundTripsEveryDtype) {
    ScratchDir dir;
    const std::string path = dir.file("model.safetensors");
    auto contents = write_specs(path, kSpecs);
    auto f = safetensors::File::open(path);
    EXPECT_EQ(f->metadata().at("format"), "pt");
    EXPECT_EQ(f->metadata().at("note"), "ünïcode \"quoted\"");
    EXPECT_EQ(f->data_offset() % 8, 0u);
    ASSERT_EQ(f->tensors().size(), kSpecs.size());
    for (size_t k = 0; k < kSpecs.size(); k++) {
        const TensorRef& t = f->tensors()[k];
        EXPECT_EQ(t.name, kSpecs[k].name);  // header order kept
        EXPECT_EQ(t.type, kSpecs[k].type) << t.name;
        EXPECT_EQ(t.shape, kSpecs[k].shape) << t.name;
        ASSERT_EQ(t.nbytes, contents[t.name].size()) << t.name;
        EXPECT_TRUE(test::same_bytes(t.data, contents[t.name].data(), t.nbytes)) << t.name;
        // Our writer orders data by element size, so each tensor is aligned to its element size.
        EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % dtype_info(t.type).block_bytes, 0u) << t.name;
        EXPECT_EQ(f->find_tensor(t.name), &t);
    }
    EXPECT_EQ(f->find_tensor("nope"), nullptr);
}

TEST(Safetensors, WritesTheExactBytesOfTheLayout) {
    ScratchDir dir;
    safetensors::Writer w;
    const uint16_t h[2] = {0x3c00, 0xc000};
    const float x = 1.5f;
    w.add_tensor("h", DType::F16, {2}, h, sizeof h);
    w.add_tensor("x", DType::F32, {1}, &x, sizeof x);
    w.write(dir.file("a.safetensors"));
    // f32 data first (larger elements), then f16; header padded with spaces to 8 bytes.
    std::string header =
        "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[4,8]},"
        "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    header.append((8 - header.size() % 8) % 8, ' ');
    test::Bytes e;
    e.u64(header.size()).raw(header).put(x).put(h[0]).put(h[1]);
    EXPECT_EQ(test::read_bytes(dir.file("a.safetensors")), e.b);
}

TEST(Safetensors, DtypeNames) {
    for (const char* n : {"F32", "F16", "BF16", "F8_E4M3", "I8", "I16", "I32", "I64", "F64"}) {
        DType t;
        ASSERT_TRUE(safetensors::dtype_from_safetensors(n, &t)) << n;
        EXPECT_STREQ(safetensors::dtype_to_safetensors(t), n);
    }
    DType t;
    EXPECT_FALSE(safetensors::dtype_from_safetensors("F8_E5M2", &t));
    EXPECT_FALSE(safetensors::dtype_from_safetensors("f32", &t));
    EXPECT_EQ(safetensors::dtype_to_safetensors(DType::Q4_K), nullptr);
}

TEST(Safetensors, WriterRejectsBadInput) {
    safetensors::Writer w;
    float x[4] = {};
    auto expect_msg = [](auto fn, const std::string& needle) {
        try {
            fn();
            ADD_FAILURE() << "expected r1::Error";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    w.add_tensor("a", DType::F32, {4}, x, sizeof x);
    expect_msg([&] { w.add_tensor("a", DType::F32, {4}, x, sizeof x); }, "duplicate tensor name 'a'");
    expect_msg([&] { w.add_tensor("b", DType::F32, {3}, x, sizeof x); }, "needs 12 bytes but 16");
    expect_msg([&] { w.add_tensor("c", DType::Q8_0, {32}, x, 34); }, "safetensors cannot store");
    expect_msg([&] { w.add_tensor("__metadata__", DType::F32, {4}, x, sizeof x); }, "reserved");
    expect_msg([&] { w.add_tensor("", DType::F32, {4}, x, sizeof x); }, "must not be empty");
    expect_msg([&] { w.add_tensor("d", DType::F32, {-1}, x, sizeof x); }, "negative");
    safetensors::Writer bad_utf8;
    bad_utf8.add_tensor("\xff\xfe", DType::F32, {4}, x, sizeof x);
    ScratchDir dir;
    expect_msg([&] { bad_utf8.write(dir.file("x.safetensors")); }, "not valid UTF-8");
    EXPECT_FALSE(std::filesystem::exists(dir.file("x.safetensors")));
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));  // no temporary file left behind
}

// ---- checkpoints
// -----------------------------------------------------------------------------------------------

void write_index(const std::string& path, const std::string& weight_map_json) {
    std::string s = "{\"metadata\": {\"total_size\": 0}, \"weight_map\": " + weight_map_json + "}";
    test::write_bytes(path, s.data(), s.size());
}

TEST(Safetensors, CheckpointFromSingleFileAndDirectory) {
    ScratchDir dir;
    write_specs(dir.file("model.safetensors"), kSpecs);
    for (const std::string& p : {dir.file("model.safetensors"), dir.path().string()}) {
        auto ck = safetensors::Checkpoint::open(p);
        EXPECT_EQ(ck->shards().size(), 1u);
        EXPECT_EQ(ck->tensors().size(), kSpecs.size());
        EXPECT_EQ(ck->dir(), dir.path().string());
        EXPECT_TRUE(ck->index_path().empty());
        const TensorRef* t = ck->find_tensor("model.norm.weight");
        ASSERT_NE(t, nullptr);
        EXPECT_EQ(&ck->shard_of(t), ck->shards()[0].get());
        auto all = ck->tensors();
        EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                                   [](const TensorRef* a, const TensorRef* b) { return a->name < b->name; }));
    }
}

TEST(Safetensors, ShardedCheckpointWithIndex) {
    ScratchDir dir;
    std::vector<Spec> a(kSpecs.begin(), kSpecs.begin() + 5), b(kSpecs.begin() + 5, kSpecs.end());
    auto ca = write_specs(dir.file("model-00001-of-00002.safetensors"), a, 1);
    auto cb = write_specs(dir.file("model-00002-of-00002.safetensors"), b, 50);
    std::string map = "{";
    for (const auto& s : a) map += "\"" + s.name + "\": \"model-00001-of-00002.safetensors\",";
    for (const auto& s : b) map += "\"" + s.name + "\": \"model-00002-of-00002.safetensors\",";
    map.back() = '}';
    write_index(dir.file("model.safetensors.index.json"), map);

    for (const std::string& p : {dir.path().string(), dir.file("model.safetensors.index.json")}) {
        auto ck = safetensors::Checkpoint::open(p);
        EXPECT_EQ(ck->shards().size(), 2u);
        EXPECT_EQ(ck->tensors().size(), kSpecs.size());
        EXPECT_EQ(ck->index_path(), dir.file("model.safetensors.index.json"));
        for (const auto& s : kSpecs) {
            const TensorRef* t = ck->find_tensor(s.name);
            ASSERT_NE(t, nullptr) << s.name;
            const auto& expected = ca.count(s.name) ? ca[s.name] : cb[s.name];
            ASSERT_EQ(t->nbytes, expected.size());
            EXPECT_TRUE(test::same_bytes(t->data, expected.data(), t->nbytes)) << s.name;
            std::string shard = std::filesystem::path(ck->shard_of(t).path()).filename().string();
            EXPECT_EQ(shard, ca.count(s.name) ? "model-00001-of-00002.safetensors"
                                              : "model-00002-of-00002.safetensors");
        }
    }
}

TEST(Safetensors, BrokenCheckpoints) {
    ScratchDir dir;
    write_specs(dir.file("a.safetensors"), {kSpecs[3]});
    write_specs(dir.file("b.safetensors"), {kSpecs[4]});
    const std::string root = dir.path().string();
    test::expect_open_error(open_checkpoint, root,
                            {"has 2 .safetensors files but no model.safetensors.index.json"});

    const std::string index = dir.file("model.safetensors.index.json");
    write_index(index, "{\"model.norm.weight\": \"b.safetensors\"}");
    test::expect_open_error(
        open_checkpoint, root,
        {"tensor 'model.norm.weight' should be in shard 'b.safetensors'", "no such tensor"});
    write_index(index, "{\"model.norm.weight\": \"../a.safetensors\"}");
    test::expect_open_error(open_checkpoint, root, {"outside the checkpoint directory"});
    write_index(index, "{\"model.norm.weight\": \"/etc/passwd\"}");
    test::expect_open_error(open_checkpoint, root, {"outside the checkpoint directory"});
    write_index(index, "{\"model.norm.weight\": \"c.safetensors\"}");
    test::expect_open_error(open_checkpoint, root, {"shard 'c.safetensors'", "does not exist"});
    write_index(index, "{\"model.norm.weight\": 3}");
    test::expect_open_error(open_checkpoint, root, {"expected a shard file name"});
    write_index(index, "[]");
    test::expect_open_error(open_checkpoint, root, {"\"weight_map\""});
    test::write_bytes(index, std::vector<uint8_t>{'{', 'x'});
    test::expect_open_error(open_checkpoint, root, {"not valid JSON"});
    write_index(index, "{\"model.norm.weight\": \"a.safetensors\"}");
    EXPECT_EQ(safetensors::Checkpoint::open(root)->tensors().size(), 1u);

    ScratchDir empty;  // a second scratch dir: no safetensors at all
    std::filesystem::create_directories(empty.path() / "sub");
    test::expect_open_error(open_checkpoint, (empty.path() / "sub").string(), {"has no .safetensors file"});
    test::expect_open_error(open_checkpoint, root + "/missing.safetensors",
                            {"cannot open", "missing.safetensors"});
}

// ---- broken files
// ----------------------------------------------------------------------------------------------

class SafetensorsBroken : public ::testing::Test {
  protected:
    // A file whose header is `json` followed by `data_bytes` zero bytes.
    void write_header(const std::string& json, size_t data_bytes) {
        test::Bytes b;
        b.u64(json.size()).raw(json).zeros(data_bytes);
        test::write_bytes(path_, b.b);
    }
    void expect_error(const std::string& json, size_t data_bytes, std::vector<std::string> needles) {
        write_header(json, data_bytes);
        needles.push_back("bad.safetensors");
        test::expect_open_error(open_file, path_, needles);
    }
    ScratchDir dir_;
    std::string path_ = dir_.file("bad.safetensors");
};

TEST_F(SafetensorsBroken, HeaderLength) {
    test::Bytes b;
    b.u64(1000).raw("{}");
    test::write_bytes(path_, b.b);
    test::expect_open_error(open_file, path_, {"header length 1000 is past the end of the file (10 bytes"});
    test::write_bytes(path_, std::vector<uint8_t>{1, 2, 3});
    test::expect_open_error(open_file, path_, {"too short"});
    test::Bytes huge;
    huge.u64(~uint64_t(0)).raw("{}");
    test::write_bytes(path_, huge.b);
    test::expect_open_error(open_file, path_, {"header length 18446744073709551615 is past the end"});
    // Over the 100 MB limit but inside the file (sparse, so this costs no disk space).
    test::Bytes big;
    big.u64(100'000'001).raw("{}");
    test::write_bytes(path_, big.b);
    ASSERT_EQ(::truncate(path_.c_str(), 100'000'100), 0);
    test::expect_open_error(open_file, path_, {"larger than the 100000000-byte limit"});
}

TEST_F(SafetensorsBroken, InvalidJson) {
    expect_error("{\"a\": {", 0, {"not valid JSON"});
    expect_error("", 0, {"not valid JSON"});
    expect_error("{\"\xff\": 1}", 0, {"not valid JSON"});  // invalid UTF-8
    expect_error("[1, 2]", 0, {"is JSON array, expected an object"});
    expect_error("\"str\"", 0, {"is JSON string, expected an object"});
    expect_error(std::string(100000, '['), 0,
                 {"not valid JSON"});  // deep nesting fails without a stack overflow
}

TEST_F(SafetensorsBroken, EmptyHeaderAndPaddingAreValid) {
    write_header("{}      ", 0);
    EXPECT_TRUE(safetensors::File::open(path_)->tensors().empty());
}

TEST_F(SafetensorsBroken, BadEntries) {
    expect_error("{\"w\": 5}", 0, {"tensor 'w': entry is JSON number, expected an object"});
    expect_error("{\"w\": {\"shape\": [2], \"data_offsets\": [0, 8]}}", 8, {"tensor 'w': missing \"dtype\""});
    expect_error("{\"w\": {\"dtype\": \"Q4\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8,
                 {"tensor 'w' has unknown dtype 'Q4'", "supported: F32, F16, BF16, F8_E4M3"});
    expect_error("{\"w\": {\"dtype\": \"F8_E5M2\", \"shape\": [2], \"data_offsets\": [0, 2]}}", 2,
                 {"tensor 'w' has dtype F8_E5M2, which r1.cpp does not support"});
    expect_error("{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 8]}}", 8,
                 {"tensor 'w': missing \"shape\""});
    expect_error("{\"w\": {\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0, 8]}}", 8,
                 {"tensor 'w': \"shape\" contains -2"});
    expect_error("{\"w\": {\"dtype\": \"F32\", \"shape\": [2.5], \"data_offsets\": [0, 8]}}", 8,
                 {"\"shape\" contains 2.5"});
    expect_error("{\"w\": {\"dtype\": \"F32\", \"shape\": [2]}}", 8,
                 {"tensor 'w': missing \"data_offsets\""});
    expect_error("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0]}}", 8,
                 {"\"data_offsets\""});
    expect_error(
        "{\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 8]}}", 8,
        {"tensor 'w': shape [4294967296, 4294967296] is too large"});
}

TEST_F(SafetensorsBroken, SizeMismatch) {
    expect_error("{\"w\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 20]}}", 24,
                 {"tensor 'w': F32 [2, 3] needs 24 bytes but data_offsets [0, 20) holds 20"});
    expect_error("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 4]}}", 8,
                 {"begin > end"});
}

TEST_F(SafetensorsBroken, OffsetsOutOfRange) {
    expect_error("{\"w\": {\"dtype\": \"BF16\", \"shape\": [4], \"data_offsets\": [4, 12]}}", 10,
                 {"file is truncated or corrupted: tensor 'w' needs buffer bytes [4, 12) but the buffer has "
                  "10 bytes"});
    expect_error(
        "{\"w\": {\"dtype\": \"I8\", \"shape\": [1], \"data_offsets\": [18446744073709551615, "
        "18446744073709551616]}}",
        8, {"\"data_offsets\" contains 1.8446744073709552e+19"});
}

TEST_F(SafetensorsBroken, Overlapping) {
    expect_error(
        "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
        " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}",
        12, {"tensors 'a'", "and 'b'", "overlap"});
}

TEST_F(SafetensorsBroken, DuplicateNames) {
    expect_error(
        "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
        " \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}",
        8, {"duplicate tensor name 'a'"});
}

TEST_F(SafetensorsBroken, BadMetadata) {
    expect_error("{\"__metadata__\": [1]}", 0, {"\"__metadata__\" is JSON array"});
    expect_error("{\"__metadata__\": {\"format\": 1}}", 0, {"\"__metadata__\" key 'format' is JSON number"});
}

TEST_F(SafetensorsBroken, EveryTruncationAndCorruptionFailsCleanly) {
    const std::string good = dir_.file("good.safetensors");
    write_specs(good, kSpecs);
    const std::vector<uint8_t> full = test::read_bytes(good);
    for (size_t len = 0; len < full.size(); len++) {
        test::write_bytes(path_, full.data(), len);
        EXPECT_THROW(safetensors::File::open(path_), Error) << "prefix of " << len << " bytes";
    }
    const size_t header_end = safetensors::File::open(good)->data_offset();
    uint64_t s = 99;
    auto next = [&] {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        return s;
    };
    int errors = 0;
    for (int iter = 0; iter < 2000; iter++) {
        std::vector<uint8_t> b = full;
        for (int k = 0; k < 1 + static_cast<int>(next() % 3); k++)
            b[next() % header_end] = static_cast<uint8_t>(next());
        test::write_bytes(path_, b);
        try {
            auto f = safetensors::File::open(path_);
            for (const auto& t : f->tensors())
                ASSERT_LE(t.data + t.nbytes, f->mapping().data() + f->mapping().size());
        } catch (const Error&) {
            errors++;
        }
    }
    EXPECT_GT(errors, 500);
}

}  // namespace
}  // namespace r1
