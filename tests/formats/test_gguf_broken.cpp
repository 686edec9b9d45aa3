// Hand-made broken GGUF files: each must fail with an r1::Error that names the file and what was wrong, never
// crash and never allocate what a forged count asks for. Plus every truncation of a valid file and random
// byte corruption (run this suite under -DR1_SANITIZE=address too).
#include <gtest/gtest.h>

#include "formats/gguf.h"
#include "scratch.h"

namespace r1 {
namespace {

using gguf::Type;
using test::Bytes;
using test::ScratchDir;

void open_gguf(const std::string& path) {
    gguf::File::open(path);
}

Bytes header(uint32_t version, int64_t n_tensors, int64_t n_kv) {
    Bytes b;
    b.raw("GGUF").u32(version).i64(n_tensors).i64(n_kv);
    return b;
}

// A tensor info: name, ne[] innermost-first, ggml type, offset.
void tensor_info(Bytes& b, const std::string& name, std::vector<int64_t> ne, int32_t type, uint64_t offset) {
    b.str(name).u32(static_cast<uint32_t>(ne.size()));
    for (int64_t d : ne) b.i64(d);
    b.i32(type).u64(offset);
}

class GgufBroken : public ::testing::Test {
  protected:
    void expect_error(const Bytes& b, std::vector<std::string> needles) {
        test::write_bytes(path_, b.b);
        needles.push_back("bad.gguf");  // every message names the file
        test::expect_open_error(open_gguf, path_, needles);
    }
    ScratchDir dir_;
    std::string path_ = dir_.file("bad.gguf");
};

TEST_F(GgufBroken, BadMagic) {
    Bytes b;
    b.raw("GGUX").u32(3).i64(0).i64(0);
    expect_error(b, {"not a GGUF file", "'GGUX'"});
    Bytes safetensors_like;
    safetensors_like.u64(2).raw("{}");
    expect_error(safetensors_like, {"not a GGUF file"});
    expect_error(Bytes(), {"not a GGUF file"});  // empty file
    Bytes short_file;
    short_file.raw("GG");
    expect_error(short_file, {"not a GGUF file"});
}

TEST_F(GgufBroken, Versions) {
    expect_error(header(1, 0, 0), {"version 1 is no longer supported"});
    expect_error(header(4, 0, 0), {"unsupported GGUF version 4", "supported: 2, 3"});
    expect_error(header(0, 0, 0), {"unsupported GGUF version 0"});
    expect_error(header(0x03000000, 0, 0), {"big-endian"});
    Bytes truncated;
    truncated.raw("GGUF").u32(3).i64(0);
    expect_error(truncated, {"truncated", "metadata count"});
}

TEST_F(GgufBroken, MinimalFilesAreValid) {
    test::write_bytes(path_, header(3, 0, 0).b);
    auto f = gguf::File::open(path_);
    EXPECT_TRUE(f->kv().empty());
    EXPECT_TRUE(f->tensors().empty());
    test::write_bytes(path_, header(2, 0, 0).b);
    EXPECT_EQ(gguf::File::open(path_)->version(), 2u);
}

TEST_F(GgufBroken, CountsThatCannotFit) {
    expect_error(header(3, 0, int64_t(1) << 60), {"1152921504606846976 metadata entries", "cannot fit"});
    expect_error(header(3, int64_t(1) << 60, 0), {"1152921504606846976 tensors", "cannot fit"});
    expect_error(header(3, -1, 0), {"-1 tensors"});
    expect_error(header(3, 0, -5), {"-5 metadata entries"});
    expect_error(header(3, 0, 2), {"cannot fit"});  // 2 entries need >= 26 bytes, 0 remain
}

TEST_F(GgufBroken, HugeStringLengths) {
    Bytes key = header(3, 0, 1);
    key.u64(uint64_t(1) << 63).raw("abc").zeros(16);
    expect_error(key, {"key of metadata entry 0", "length 9223372036854775808"});

    Bytes value = header(3, 0, 1);
    value.str("general.name").i32(8).u64(1000).raw("short").zeros(8);
    expect_error(value, {"'general.name'", "length 1000"});

    Bytes name = header(3, 1, 0);
    name.u64(~uint64_t(0)).zeros(24);
    expect_error(name, {"name of tensor 0", "length 18446744073709551615"});
}

TEST_F(GgufBroken, HugeArrayCounts) {
    Bytes strings = header(3, 0, 1);
    strings.str("tokenizer.ggml.tokens").i32(9).i32(8).u64(uint64_t(1) << 60).str("a").str("b");
    expect_error(strings, {"'tokenizer.ggml.tokens'", "1152921504606846976 strings"});

    Bytes numbers = header(3, 0, 1);
    numbers.str("tokenizer.ggml.scores").i32(9).i32(6).u64(uint64_t(1) << 62).zeros(16);
    expect_error(numbers, {"'tokenizer.ggml.scores'", "4611686018427387904 f32"});

    Bytes overflow = header(3, 0, 1);  // count * 8 wraps around 2^64
    overflow.str("x").i32(9).i32(10).u64((uint64_t(1) << 61) + 1).zeros(16);
    expect_error(overflow, {"'x'", "array of 2305843009213693953 u64"});

    Bytes cut = header(3, 0, 1);  // one string of three present
    cut.str("merges").i32(9).i32(8).u64(2).str("a b").zeros(5);
    expect_error(cut, {"truncated", "string 1 of array 'merges'"});
}

TEST_F(GgufBroken, UnknownValueTypes) {
    Bytes b = header(3, 0, 1);
    b.str("k").i32(13).u32(0);
    expect_error(b, {"metadata key 'k' has unknown value type 13"});
    Bytes neg = header(3, 0, 1);
    neg.str("k").i32(-1).u32(0);
    expect_error(neg, {"unknown value type -1"});
    Bytes elem = header(3, 0, 1);
    elem.str("k").i32(9).i32(42).u64(1).u32(0);
    expect_error(elem, {"'k' is an array of unknown element type 42"});
    Bytes nested = header(3, 0, 1);
    nested.str("k").i32(9).i32(9).u64(1).i32(4).u64(1).u32(0);
    expect_error(nested, {"'k' is an array of arrays"});
}

TEST_F(GgufBroken, BadBoolsAndKeys) {
    Bytes b = header(3, 0, 1);
    b.str("flag").i32(7).u8(2);
    expect_error(b, {"'flag' is a bool with byte value 2"});
    Bytes arr = header(3, 0, 1);
    arr.str("flags").i32(9).i32(7).u64(3).u8(0).u8(1).u8(7);
    expect_error(arr, {"'flags': bool element 2"});
    Bytes empty_key = header(3, 0, 1);
    empty_key.str("").i32(4).u32(1);
    expect_error(empty_key, {"metadata entry 0 has an empty key"});
}

TEST_F(GgufBroken, DuplicateKey) {
    Bytes b = header(3, 0, 2);
    b.str("general.name").i32(8).str("a");
    b.str("general.name").i32(8).str("b");
    expect_error(b, {"duplicate metadata key 'general.name'"});
}

TEST_F(GgufBroken, BadAlignment) {
    Bytes b = header(3, 0, 1);
    b.str("general.alignment").i32(4).u32(48);
    expect_error(b, {"'general.alignment' is 48", "power of two"});
    Bytes zero = header(3, 0, 1);
    zero.str("general.alignment").i32(4).u32(0);
    expect_error(zero, {"'general.alignment' is 0"});
    Bytes type = header(3, 0, 1);
    type.str("general.alignment").i32(10).u64(32);
    expect_error(type, {"'general.alignment' has type u64, expected u32"});
}

// A file with one tensor (ne innermost-first) followed by `data_bytes` zeros, to be broken by the cases
// below.
Bytes one_tensor(std::vector<int64_t> ne, int32_t type, uint64_t offset, size_t data_bytes,
                 const std::string& name = "blk.0.ffn_up.weight") {
    Bytes b = header(3, 1, 0);
    tensor_info(b, name, ne, type, offset);
    b.pad(32).zeros(data_bytes);
    return b;
}

TEST_F(GgufBroken, ValidOneTensorBaseline) {
    test::write_bytes(path_, one_tensor({8, 2}, 0, 0, 64).b);
    auto f = gguf::File::open(path_);
    EXPECT_EQ(f->tensors()[0].shape, (std::vector<int64_t>{2, 8}));
    EXPECT_EQ(f->tensors()[0].nbytes, 64u);
}

TEST_F(GgufBroken, UnknownTensorTypes) {
    expect_error(one_tensor({8, 2}, 99, 0, 64), {"tensor 'blk.0.ffn_up.weight' has unknown ggml type 99",
                                                 "(supported: f32, f16, q4_0", "bf16)"});
    expect_error(one_tensor({256}, 39, 0, 256),
                 {"tensor 'blk.0.ffn_up.weight' has ggml type 39 (mxfp4), which r1.cpp does not support"});
    expect_error(one_tensor({256}, 16, 0, 256), {"ggml type 16 (iq2_xxs)"});
    expect_error(one_tensor({32}, 31, 0, 32), {"ggml type 31 (q4_0_4_4), which was removed"});
    expect_error(one_tensor({8}, 1000, 0, 8), {"unknown ggml type 1000"});  // our FP8 id is not a ggml type
    expect_error(one_tensor({8}, -3, 0, 8), {"unknown ggml type -3"});
}

TEST_F(GgufBroken, BadShapes) {
    expect_error(one_tensor({1, 1, 1, 1, 8}, 0, 0, 32), {"tensor 'blk.0.ffn_up.weight' has 5 dimensions"});
    expect_error(one_tensor({8, -2}, 0, 0, 64),
                 {"'blk.0.ffn_up.weight' has negative size -2 in dimension 1"});
    expect_error(one_tensor({int64_t(1) << 40, int64_t(1) << 40}, 0, 0, 0), {"more than 2^63 elements"});
    expect_error(one_tensor({int64_t(1) << 62}, 0, 0, 0), {"more than 2^64 bytes"});
    expect_error(one_tensor({33, 2}, 8, 0, 68),
                 {"'blk.0.ffn_up.weight' (q8_0, shape [2, 33]) has rows of 33 elements", "block size 32"});
    Bytes many = header(3, 1, 0);
    many.str("t").u32(0xFFFFFFFFu).zeros(64);
    expect_error(many, {"'t' has 4294967295 dimensions"});
}

TEST_F(GgufBroken, BadNames) {
    expect_error(one_tensor({8}, 0, 0, 32, std::string(64, 'x')),
                 {"tensor 0 has a 64-byte name", "at most 63"});
    expect_error(one_tensor({8}, 0, 0, 32, ""), {"tensor 0 has an empty name"});
    Bytes b = header(3, 2, 0);
    tensor_info(b, "a", {8}, 0, 0);
    tensor_info(b, "a", {8}, 0, 32);
    b.pad(32).zeros(64);
    expect_error(b, {"duplicate tensor name 'a'"});
}

TEST_F(GgufBroken, BadOffsets) {
    expect_error(one_tensor({8, 2}, 0, 16, 96), {"'blk.0.ffn_up.weight' has offset 16", "alignment 32"});
    Bytes past = one_tensor({8, 2}, 0, 0, 10);  // 64 bytes needed, 10 present
    // The header is 83 bytes, so the blob starts at 96.
    expect_error(
        past, {"file is truncated or corrupted: tensor 'blk.0.ffn_up.weight' needs bytes [96, 160) but the "
               "file has 106 bytes"});
    expect_error(one_tensor({8, 2}, 0, 64, 64), {"needs bytes [160, 224) but the file has 160 bytes"});
    expect_error(one_tensor({8, 2}, 0, ~uint64_t(31), 64), {"past the end"});  // offset + size wraps
}

TEST_F(GgufBroken, DataStartPastEnd) {
    Bytes b = header(3, 1, 0);
    tensor_info(b, "e", {0}, 0, 0);  // an empty tensor, but the padded data start is past the end
    expect_error(b, {"tensor data should start at byte 64", "file has"});
}

TEST_F(GgufBroken, OverlappingTensors) {
    Bytes b = header(3, 2, 0);
    tensor_info(b, "a", {16}, 0, 0);  // [0, 64)
    tensor_info(b, "b", {8}, 0, 32);  // [32, 64)
    b.pad(32).zeros(64);
    expect_error(b, {"tensors 'a'", "and 'b'", "overlap"});
    // Non-consecutive but disjoint, aligned offsets are accepted (more tolerant than ggml).
    Bytes gap = header(3, 2, 0);
    tensor_info(gap, "b", {8}, 0, 96);
    tensor_info(gap, "a", {8}, 0, 0);
    gap.pad(32).zeros(128);
    test::write_bytes(path_, gap.b);
    EXPECT_EQ(gguf::File::open(path_)->tensors().size(), 2u);
}

// A small but complete file: every value type, three tensors.
std::vector<uint8_t> small_valid_file(const std::string& path) {
    gguf::Writer w;
    w.set_string("general.architecture", "llama");
    w.set_u32("llama.block_count", 2);
    w.set_f32("llama.rope.freq_base", 10000.f);
    w.set_bool("b", true);
    w.set_u64("u", 5);
    w.set_string_array("tokenizer.ggml.tokens", {"<s>", "</s>", "a", "bc"});
    w.set_f32_array("tokenizer.ggml.scores", {0, 0, -1, -2});
    w.set_i32_array("tokenizer.ggml.token_type", {3, 3, 1, 1});
    std::vector<uint8_t> data(34 * 2, 7);
    w.add_tensor("q", DType::Q8_0, {2, 32}, data.data(), 68);
    w.add_tensor("n", DType::F32, {3}, data.data(), 12);
    w.add_tensor("h", DType::F16, {2, 5}, data.data(), 20);
    w.write(path);
    return test::read_bytes(path);
}

TEST_F(GgufBroken, EveryTruncationFailsCleanly) {
    const std::vector<uint8_t> full = small_valid_file(dir_.file("full.gguf"));
    auto f = gguf::File::open(dir_.file("full.gguf"));
    size_t needed = 0;  // end of the last tensor's bytes; its trailing padding is optional
    for (const auto& t : f->tensors())
        needed = std::max(needed, static_cast<size_t>(t.data - f->mapping().data()) + t.nbytes);
    ASSERT_LT(needed, full.size());
    size_t parsed = 0;
    for (size_t len = 0; len < full.size(); len++) {
        test::write_bytes(path_, full.data(), len);
        if (len < needed) {
            EXPECT_THROW(gguf::File::open(path_), Error) << "prefix of " << len << " bytes";
        } else {
            EXPECT_NO_THROW(gguf::File::open(path_)) << "prefix of " << len << " bytes";
            parsed++;
        }
    }
    EXPECT_EQ(parsed, full.size() - needed);
}

TEST_F(GgufBroken, RandomCorruptionNeverCrashes) {
    const std::vector<uint8_t> full = small_valid_file(dir_.file("full.gguf"));
    const size_t header_bytes = gguf::File::open(dir_.file("full.gguf"))->data_offset();
    uint64_t s = 0x1234567;
    auto next = [&] {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        return s;
    };
    int errors = 0, parsed = 0;
    for (int iter = 0; iter < 3000; iter++) {
        std::vector<uint8_t> b = full;
        int flips = 1 + static_cast<int>(next() % 4);
        for (int k = 0; k < flips; k++) {
            size_t at = next() % header_bytes;
            switch (next() % 3) {
                case 0:
                    b[at] ^= static_cast<uint8_t>(1u << (next() % 8));
                    break;
                case 1:
                    b[at] = static_cast<uint8_t>(next());
                    break;
                default:
                    b[at] = 0xFF;
            }
        }
        test::write_bytes(path_, b);
        try {
            auto g = gguf::File::open(path_);
            for (const auto& t : g->tensors())  // views must stay inside the mapping
                ASSERT_LE(t.data + t.nbytes, g->mapping().data() + g->mapping().size());
            parsed++;
        } catch (const Error&) {
            errors++;
        }
    }
    EXPECT_GT(errors, 1000);  // most corruptions are caught ...
    EXPECT_GT(parsed, 0);     // ... and some (e.g. in string bytes) are harmless
}

}  // namespace
}  // namespace r1
