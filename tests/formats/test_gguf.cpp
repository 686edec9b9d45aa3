// GGUF writer -> reader round trips: every metadata value type (scalars, arrays, arrays of strings), many
// tensors of several dtypes, alignment, typed getters and their errors, value rendering, atomic writes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "formats/gguf.h"
#include "scratch.h"

namespace r1 {
namespace {

using gguf::Type;
using test::ScratchDir;

std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
    std::vector<uint8_t> b(n);
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (auto& x : b) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        x = static_cast<uint8_t>(s >> 24);
    }
    return b;
}

size_t bytes_for(DType t, const std::vector<int64_t>& shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    if (n == 0) return 0;
    const int64_t cols = shape.empty() ? 1 : shape.back();
    return row_bytes(t, cols) * static_cast<size_t>(n / cols);
}

struct TensorSpec {
    std::string name;
    DType type;
    std::vector<int64_t> shape;
};

// Several dtypes, 1..4 dims, a scalar, an empty tensor, sizes that are not multiples of the alignment.
const std::vector<TensorSpec> kTensors = {
    {"token_embd.weight", DType::F16, {7, 16}},
    {"blk.0.attn_norm.weight", DType::F32, {5}},
    {"blk.0.attn_q.weight", DType::Q8_0, {3, 64}},
    {"blk.0.ffn_up.weight", DType::Q4_K, {2, 256}},
    {"blk.0.ffn_down.weight", DType::Q6_K, {1, 512}},
    {"blk.0.attn_k.weight", DType::BF16, {2, 3, 4}},
    {"blk.0.x4", DType::F32, {2, 1, 3, 2}},
    {"blk.0.q5", DType::Q5_0, {1, 32}},
    {"ids", DType::I32, {9}},
    {"wide", DType::F64, {3}},
    {"scalar", DType::F32, {}},
    {"empty", DType::Q8_0, {0, 32}},
    {"i8", DType::I8, {13}},
};

void add_all_metadata(gguf::Writer& w) {
    w.set_string("general.architecture", "qwen2");
    w.set_u8("t.u8", 250);
    w.set_u32("t.u32", 4000000000u);
    w.set_i32("t.i32", -123456);
    w.set_u64("t.u64", 18000000000000000000ull);
    w.set_i64("t.i64", -9000000000000000000ll);
    w.set_f32("t.f32", 1e-6f);
    w.set_f64("t.f64", -2.718281828459045);
    w.set_bool("t.bool", true);
    w.set_bool("t.bool_false", false);
    w.set_string("t.string", "héllo \"wörld\"\n\t🙂");
    w.set_string("t.empty_string", "");
    gguf::Value v;
    v.type = Type::I8;
    v.i = -7;
    w.set_value("t.i8", v);
    v.type = Type::U16;
    v.u = 65535;
    w.set_value("t.u16", v);
    v.type = Type::I16;
    v.i = -32768;
    w.set_value("t.i16", v);
    w.set_string_array("t.strings", {"a", "", "ĉ", "<|end▁of▁sentence|>", std::string("nul\0in", 6)});
    w.set_string_array("t.no_strings", {});
    w.set_i32_array("t.i32s", {1, -2, 2147483647, -2147483647 - 1});
    w.set_f32_array("t.f32s", {0.5f, -1.25f, 3.4e38f, 1e-45f});
    const uint8_t u8s[] = {0, 1, 255};
    w.set_array("t.u8s", Type::U8, u8s, 3);
    const int8_t i8s[] = {-128, 0, 127};
    w.set_array("t.i8s", Type::I8, i8s, 3);
    const uint16_t u16s[] = {1, 65535};
    w.set_array("t.u16s", Type::U16, u16s, 2);
    const int16_t i16s[] = {-32768, 32767};
    w.set_array("t.i16s", Type::I16, i16s, 2);
    const uint32_t u32s[] = {0, 4294967295u};
    w.set_array("t.u32s", Type::U32, u32s, 2);
    const uint64_t u64s[] = {0, 18446744073709551615ull};
    w.set_array("t.u64s", Type::U64, u64s, 2);
    const int64_t i64s[] = {-9223372036854775807ll - 1, 9223372036854775807ll};
    w.set_array("t.i64s", Type::I64, i64s, 2);
    const double f64s[] = {1.0 / 3.0, -0.0};
    w.set_array("t.f64s", Type::F64, f64s, 2);
    const uint8_t bools[] = {1, 0, 1};
    w.set_array("t.bools", Type::BOOL, bools, 3);
    w.set_array("t.empty_i32s", Type::I32, nullptr, 0);
}

// Writes kTensors with deterministic contents; returns the contents by name.
std::map<std::string, std::vector<uint8_t>> add_all_tensors(gguf::Writer& w) {
    std::map<std::string, std::vector<uint8_t>> contents;
    uint64_t seed = 1;
    for (const auto& t : kTensors) {
        auto bytes = random_bytes(bytes_for(t.type, t.shape), seed++);
        w.add_tensor(t.name, t.type, t.shape, bytes.data(), bytes.size());
        contents[t.name] = std::move(bytes);
    }
    return contents;
}

TEST(Gguf, RoundTripsEveryValueTypeAndTensor) {
    ScratchDir dir;
    const std::string path = dir.file("all.gguf");
    gguf::Writer w;
    add_all_metadata(w);
    auto contents = add_all_tensors(w);
    w.write(path);

    auto f = gguf::File::open(path);
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->alignment(), 32u);
    EXPECT_EQ(f->data_offset() % 32, 0u);
    EXPECT_EQ(f->kv().size(), 29u);
    EXPECT_EQ(f->kv()[0].first, "general.architecture");  // insertion order kept
    EXPECT_EQ(f->kv()[1].first, "t.u8");

    EXPECT_EQ(f->require_string("general.architecture"), "qwen2");
    EXPECT_EQ(f->find("t.u8")->type, Type::U8);
    EXPECT_EQ(f->require_int("t.u8"), 250);
    EXPECT_EQ(f->require_int("t.u32"), 4000000000ll);
    EXPECT_EQ(f->require_int("t.i32"), -123456);
    EXPECT_EQ(f->find("t.u64")->u, 18000000000000000000ull);
    EXPECT_EQ(f->require_int("t.i64"), -9000000000000000000ll);
    EXPECT_EQ(f->find("t.f32")->f, static_cast<double>(1e-6f));
    EXPECT_EQ(f->require_float("t.f64"), -2.718281828459045);
    EXPECT_EQ(f->get_bool("t.bool"), true);
    EXPECT_EQ(f->get_bool("t.bool_false"), false);
    EXPECT_EQ(f->get_string("t.string"), "héllo \"wörld\"\n\t🙂");
    EXPECT_EQ(f->get_string("t.empty_string"), "");
    EXPECT_EQ(f->require_int("t.i8"), -7);
    EXPECT_EQ(f->require_int("t.u16"), 65535);
    EXPECT_EQ(f->require_int("t.i16"), -32768);
    EXPECT_EQ(f->find("t.i16")->type, Type::I16);

    auto strings = f->get_string_array("t.strings");
    ASSERT_EQ(strings.size(), 5u);
    EXPECT_EQ(strings[1], "");
    EXPECT_EQ(strings[3], "<|end▁of▁sentence|>");
    EXPECT_EQ(strings[4], std::string_view("nul\0in", 6));
    EXPECT_TRUE(f->get_string_array("t.no_strings").empty());
    EXPECT_EQ(f->find("t.no_strings")->elem_type, Type::STRING);
    EXPECT_EQ(f->get_int_array("t.i32s"), (std::vector<int64_t>{1, -2, 2147483647, -2147483648ll}));
    EXPECT_EQ(f->get_float_array("t.f32s"), (std::vector<float>{0.5f, -1.25f, 3.4e38f, 1e-45f}));
    EXPECT_EQ(f->get_int_array("t.u8s"), (std::vector<int64_t>{0, 1, 255}));
    EXPECT_EQ(f->get_int_array("t.i8s"), (std::vector<int64_t>{-128, 0, 127}));
    EXPECT_EQ(f->get_int_array("t.u16s"), (std::vector<int64_t>{1, 65535}));
    EXPECT_EQ(f->get_int_array("t.i16s"), (std::vector<int64_t>{-32768, 32767}));
    EXPECT_EQ(f->get_int_array("t.u32s"), (std::vector<int64_t>{0, 4294967295ll}));
    EXPECT_EQ(gguf::array_uint(*f->find("t.u64s"), 1), 18446744073709551615ull);
    EXPECT_EQ(f->get_int_array("t.i64s"), (std::vector<int64_t>{std::numeric_limits<int64_t>::min(),
                                                                std::numeric_limits<int64_t>::max()}));
    const gguf::Value* f64s = f->find("t.f64s");
    EXPECT_EQ(gguf::array_float(*f64s, 0), 1.0 / 3.0);
    EXPECT_TRUE(std::signbit(gguf::array_float(*f64s, 1)));
    const gguf::Value* bools = f->find("t.bools");
    EXPECT_EQ(bools->elem_type, Type::BOOL);
    EXPECT_EQ(gguf::array_int(*bools, 0), 1);
    EXPECT_EQ(gguf::array_int(*bools, 1), 0);
    EXPECT_TRUE(f->get_int_array("t.empty_i32s").empty());

    ASSERT_EQ(f->tensors().size(), kTensors.size());
    const uint8_t* begin = f->mapping().data();
    for (size_t k = 0; k < kTensors.size(); k++) {
        const TensorRef& t = f->tensors()[k];
        EXPECT_EQ(t.name, kTensors[k].name);  // file order kept
        EXPECT_EQ(t.type, kTensors[k].type) << t.name;
        EXPECT_EQ(t.shape, kTensors[k].shape) << t.name;
        ASSERT_EQ(t.nbytes, contents[t.name].size()) << t.name;
        EXPECT_TRUE(test::same_bytes(t.data, contents[t.name].data(), t.nbytes)) << t.name;
        EXPECT_EQ((t.data - begin - f->data_offset()) % 32, 0) << t.name;  // aligned within the blob
        EXPECT_TRUE(t.data >= begin && t.data + t.nbytes <= begin + f->mapping().size());  // zero-copy view
        EXPECT_EQ(f->find_tensor(t.name), &t);
    }
    EXPECT_EQ(f->find_tensor("nope"), nullptr);
    EXPECT_EQ(f->find("nope"), nullptr);
    EXPECT_EQ(f->tensors()[0].shape, (std::vector<int64_t>{7, 16}));  // outermost-first
    EXPECT_EQ(f->tensors()[0].rows(), 7);
}

TEST(Gguf, WritesTheExactBytesOfTheLayout) {
    // One key, one tensor: check the bytes against the layout in gguf.h, written out by hand.
    ScratchDir dir;
    gguf::Writer w;
    w.set_u32("k", 7);
    const float data[3] = {1, 2, 3};
    w.add_tensor("t", DType::F32, {3}, data, sizeof data);
    w.write(dir.file("a.gguf"));
    test::Bytes e;
    e.raw("GGUF").u32(3).i64(1).i64(1);
    e.str("k").i32(4).u32(7);
    e.str("t").u32(1).i64(3).i32(0).u64(0);
    e.pad(32);
    e.put(1.0f).put(2.0f).put(3.0f).pad(32);
    EXPECT_EQ(test::read_bytes(dir.file("a.gguf")), e.b);
}

TEST(Gguf, HonoursGeneralAlignment) {
    ScratchDir dir;
    gguf::Writer w;
    w.set_u32("general.alignment", 256);
    auto contents = add_all_tensors(w);
    w.write(dir.file("a.gguf"));
    auto f = gguf::File::open(dir.file("a.gguf"));
    EXPECT_EQ(f->alignment(), 256u);
    EXPECT_EQ(f->data_offset() % 256, 0u);
    for (const auto& t : f->tensors()) {
        EXPECT_EQ((t.data - f->mapping().data()) % 256, 0) << t.name;
        EXPECT_TRUE(test::same_bytes(t.data, contents[t.name].data(), t.nbytes)) << t.name;
    }
}

TEST(Gguf, ReadsVersion2) {
    ScratchDir dir;
    gguf::Writer w;
    w.set_string("general.name", "v2");
    const uint16_t h[4] = {1, 2, 3, 4};
    w.add_tensor("x", DType::F16, {2, 2}, h, sizeof h);
    w.write(dir.file("a.gguf"));
    auto bytes = test::read_bytes(dir.file("a.gguf"));
    bytes[4] = 2;  // v2 has the same layout as v3 for little-endian files
    test::write_bytes(dir.file("v2.gguf"), bytes);
    auto f = gguf::File::open(dir.file("v2.gguf"));
    EXPECT_EQ(f->version(), 2u);
    EXPECT_EQ(f->require_string("general.name"), "v2");
    EXPECT_TRUE(test::same_bytes(f->tensors()[0].data, h, sizeof h));
}

TEST(Gguf, CopiesEveryValueWithSetValue) {
    ScratchDir dir;
    gguf::Writer a;
    add_all_metadata(a);
    add_all_tensors(a);
    a.write(dir.file("a.gguf"));
    auto fa = gguf::File::open(dir.file("a.gguf"));

    gguf::Writer b;
    for (const auto& [key, v] : fa->kv()) b.set_value(key, v);
    for (const auto& t : fa->tensors()) b.add_tensor_view(t.name, t.type, t.shape, t.data, t.nbytes);
    b.write(dir.file("b.gguf"));
    EXPECT_EQ(test::read_bytes(dir.file("a.gguf")), test::read_bytes(dir.file("b.gguf")));
}

TEST(Gguf, SetReplacesInPlaceAndRemoveDeletes) {
    ScratchDir dir;
    gguf::Writer w;
    w.set_u32("a", 1);
    w.set_u32("b", 2);
    w.set_string("a", "again");
    w.set_u32("c", 3);
    w.remove("b");
    w.remove("not-there");
    w.write(dir.file("a.gguf"));
    auto f = gguf::File::open(dir.file("a.gguf"));
    ASSERT_EQ(f->kv().size(), 2u);
    EXPECT_EQ(f->kv()[0].first, "a");
    EXPECT_EQ(f->get_string("a"), "again");
    EXPECT_EQ(f->kv()[1].first, "c");
    EXPECT_TRUE(f->tensors().empty());
}

TEST(Gguf, TypedGettersNameKeyAndTypes) {
    ScratchDir dir;
    gguf::Writer w;
    add_all_metadata(w);
    w.write(dir.file("a.gguf"));
    auto f = gguf::File::open(dir.file("a.gguf"));
    auto expect_msg = [](auto fn, std::vector<std::string> needles) {
        try {
            fn();
            ADD_FAILURE() << "expected r1::Error";
        } catch (const Error& e) {
            for (const auto& n : needles)
                EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
        }
    };
    expect_msg([&] { f->get_int("t.string"); },
               {"'t.string'", "has type string", "expected an integer", "a.gguf"});
    expect_msg([&] { f->get_int("t.u64"); }, {"'t.u64'", "does not fit"});
    expect_msg([&] { f->get_string("t.u32"); }, {"'t.u32'", "type u32", "expected string"});
    expect_msg([&] { f->get_bool("t.u8"); }, {"'t.u8'", "expected bool"});
    expect_msg([&] { f->get_float("t.strings"); }, {"array of string", "expected a number"});
    expect_msg([&] { f->get_string_array("t.i32s"); }, {"array of i32", "expected array of string"});
    expect_msg([&] { f->get_int_array("t.f32s"); }, {"array of f32", "expected array of integers"});
    expect_msg([&] { f->get_int_array("t.u64s"); }, {"'t.u64s'", "element 1", "does not fit"});
    expect_msg([&] { f->require_int("qwen2.block_count"); },
               {"missing metadata key 'qwen2.block_count' in", "a.gguf"});
    expect_msg([&] { f->require_string("nope"); }, {"missing metadata key 'nope'"});
    EXPECT_EQ(f->get_int("nope"), std::nullopt);
    EXPECT_EQ(f->get_float("t.i32"), -123456.0);  // integers read as floats
    EXPECT_EQ(f->get_float_array("t.i16s"), (std::vector<float>{-32768.f, 32767.f}));
    EXPECT_TRUE(f->get_string_array("nope").empty());
}

TEST(Gguf, RendersValuesForInspect) {
    ScratchDir dir;
    gguf::Writer w;
    add_all_metadata(w);
    std::vector<std::string> many;
    for (int i = 0; i < 1000; i++) many.push_back("tok" + std::to_string(i));
    w.set_string_array("tokenizer.ggml.tokens", many);
    w.write(dir.file("a.gguf"));
    auto f = gguf::File::open(dir.file("a.gguf"));
    auto str = [&](const char* k, size_t n = 8, size_t c = SIZE_MAX) {
        return gguf::value_to_string(*f->find(k), n, c);
    };
    EXPECT_EQ(str("t.u8"), "250");
    EXPECT_EQ(str("t.i64"), "-9000000000000000000");
    EXPECT_EQ(str("t.u64"), "18000000000000000000");
    EXPECT_EQ(str("t.f32"), "1e-06");
    EXPECT_EQ(str("t.f64"), "-2.718281828459045");
    EXPECT_EQ(str("t.bool"), "true");
    EXPECT_EQ(str("t.string"), "\"héllo \\\"wörld\\\"\\n\\t🙂\"");
    EXPECT_EQ(str("t.string", 8, 3), "\"hé\"... (21 bytes)");  // cut at a code point boundary
    EXPECT_EQ(str("t.i32s"), "[1, -2, 2147483647, -2147483648]");
    EXPECT_EQ(str("t.f32s"), "[0.5, -1.25, 3.4e+38, 1e-45]");
    EXPECT_EQ(str("t.bools"), "[true, false, true]");
    EXPECT_EQ(str("t.no_strings"), "[]");
    EXPECT_EQ(str("tokenizer.ggml.tokens", 3), "[\"tok0\", \"tok1\", \"tok2\", ...] (1000 elements)");
    EXPECT_EQ(str("tokenizer.ggml.tokens", 0), "[...] (1000 elements)");
    EXPECT_EQ(str("t.strings"), "[\"a\", \"\", \"ĉ\", \"<|end▁of▁sentence|>\", \"nul\\x00in\"]");
}

TEST(Gguf, WriterRejectsBadTensorsAndKeys) {
    gguf::Writer w;
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
    expect_msg([&] { w.add_tensor("b", DType::F32, {5}, x, sizeof x); }, "needs 20 bytes but 16 were given");
    expect_msg(
        [&] {
            w.add_tensor("c", DType::Q8_0, {1, 33}, x, 34);
        },
        "not a multiple of the block size 32");
    expect_msg([&] { w.add_tensor("d", DType::F8_E4M3, {4}, x, 4); }, "no ggml type id");
    expect_msg([&] { w.add_tensor(std::string(64, 'n'), DType::F32, {4}, x, sizeof x); }, "at most 63");
    expect_msg([&] { w.add_tensor("e", DType::F32, {1, 1, 1, 1, 4}, x, sizeof x); }, "at most 4");
    expect_msg([&] { w.add_tensor("f", DType::F32, {-4}, x, sizeof x); }, "negative");
    expect_msg([&] { w.add_tensor("", DType::F32, {4}, x, sizeof x); }, "must not be empty");
    expect_msg([&] { w.set_u32("", 1); }, "must not be empty");
    expect_msg([&] { w.set_array("s", Type::STRING, x, 1); }, "numeric or bool");
}

TEST(Gguf, FailedWriteLeavesDestinationAndNoTempFiles) {
    ScratchDir dir;
    const std::string path = dir.file("model.gguf");
    test::write_bytes(path, std::vector<uint8_t>{'o', 'l', 'd'});
    gguf::Writer w;
    w.set_u32("general.alignment", 48);  // not a power of two: write() must fail
    EXPECT_THROW(w.write(path), Error);
    gguf::Writer w2;
    w2.set_i32("general.alignment", 32);  // wrong type
    EXPECT_THROW(w2.write(path), Error);
    EXPECT_EQ(test::read_bytes(path), (std::vector<uint8_t>{'o', 'l', 'd'}));
    EXPECT_THROW(w.write(dir.file("no/such/dir/x.gguf")), Error);

    gguf::Writer ok;
    ok.set_u32("x", 1);
    ok.write(path);  // replaces the old file
    EXPECT_EQ(gguf::File::open(path)->require_int("x"), 1);
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        (void)e;
        n++;
    }
    EXPECT_EQ(n, 1u);  // no temporary files left behind
}

}  // namespace
}  // namespace r1
