// `r1 inspect` end to end: runs the built binary on files written by our writers and checks its JSON and
// text. The binary is <build>/bin/r1 (R1_BIN overrides it); the test skips when it has not been built.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "scratch.h"

namespace r1 {
namespace {

using nlohmann::json;

std::string r1_binary() {
    const char* env = std::getenv("R1_BIN");
    return env ? env : std::string(R1_BIN_DIR) + "/r1";
}

struct CliResult {
    int status;
    std::string out, err;
};

CliResult run_r1(const std::string& args, const test::ScratchDir& dir) {
    const std::string err_path = dir.file("stderr.txt");
    std::string cmd = r1_binary() + " " + args + " 2>" + err_path;
    FILE* p = ::popen(cmd.c_str(), "r");
    CliResult r{-1, "", ""};
    if (!p) return r;
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    auto e = test::read_bytes(err_path);
    r.err.assign(e.begin(), e.end());
    return r;
}

class Inspect : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::access(r1_binary().c_str(), X_OK) != 0) GTEST_SKIP() << r1_binary() << " is not built";
    }
    test::ScratchDir dir_;
};

TEST_F(Inspect, Gguf) {
    const std::string path = dir_.file("m.gguf");
    gguf::Writer w;
    w.set_string("general.architecture", "qwen2");
    w.set_u32("qwen2.block_count", 2);
    std::vector<std::string> tokens;
    for (int i = 0; i < 100; i++) tokens.push_back("t" + std::to_string(i));
    w.set_string_array("tokenizer.ggml.tokens", tokens);
    std::vector<uint8_t> q(34 * 4), f(4 * 8);
    w.add_tensor("blk.0.attn_q.weight", DType::Q8_0, {4, 32}, q.data(), q.size());
    w.add_tensor("output_norm.weight", DType::F32, {8}, f.data(), f.size());
    w.write(path);

    CliResult r = run_r1("inspect --json " + path, dir_);
    ASSERT_EQ(r.status, 0) << r.err;
    json j = json::parse(r.out);
    EXPECT_EQ(j["format"], "gguf");
    EXPECT_EQ(j["version"], 3);
    EXPECT_EQ(j["alignment"], 32);
    ASSERT_EQ(j["metadata"].size(), 3u);
    EXPECT_EQ(j["metadata"][1]["key"], "qwen2.block_count");
    EXPECT_EQ(j["metadata"][1]["type"], "u32");
    EXPECT_EQ(j["metadata"][1]["value"], 2);
    EXPECT_EQ(j["metadata"][2]["count"], 100);
    EXPECT_EQ(j["metadata"][2]["value"].size(), 64u);  // cut without --full
    EXPECT_EQ(j["metadata"][2]["truncated"], true);
    ASSERT_EQ(j["tensors"].size(), 2u);
    EXPECT_EQ(j["tensors"][0]["shape"], json::array({4, 32}));
    EXPECT_EQ(j["tensors"][0]["type"], "q8_0");
    EXPECT_EQ(j["tensors"][0]["bytes"], 136);
    EXPECT_EQ(j["tensors"][1]["offset"], 160);  // 136 padded to 32
    EXPECT_EQ(j["bytes_per_type"]["q8_0"]["bytes"], 136);
    EXPECT_EQ(j["tensor_bytes"], 136 + 32);

    r = run_r1("inspect --json --full --no-tensors " + path, dir_);
    ASSERT_EQ(r.status, 0) << r.err;
    j = json::parse(r.out);
    EXPECT_FALSE(j.contains("tensors"));
    EXPECT_EQ(j["metadata"][2]["value"].size(), 100u);

    r = run_r1("inspect " + path, dir_);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("GGUF v3, alignment 32"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("(100 elements)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("blk.0.attn_q.weight"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("[4, 32]"), std::string::npos) << r.out;
}

TEST_F(Inspect, SafetensorsCheckpoint) {
    std::vector<uint8_t> b(64);
    for (int s = 1; s <= 2; s++) {
        safetensors::Writer w;
        w.set_metadata("format", "pt");
        w.add_tensor("layer" + std::to_string(s) + ".weight", DType::BF16, {4, 8}, b.data(), 64);
        w.write(dir_.file("model-0000" + std::to_string(s) + "-of-00002.safetensors"));
    }
    std::string index =
        "{\"weight_map\": {\"layer1.weight\": \"model-00001-of-00002.safetensors\", \"layer2.weight\": "
        "\"model-00002-of-00002.safetensors\"}}";
    test::write_bytes(dir_.file("model.safetensors.index.json"), index.data(), index.size());
    std::string config = "{\"model_type\": \"deepseek_v3\", \"hidden_size\": 8}";
    test::write_bytes(dir_.file("config.json"), config.data(), config.size());

    CliResult r = run_r1("inspect --json " + dir_.path().string(), dir_);
    ASSERT_EQ(r.status, 0) << r.err;
    json j = json::parse(r.out);
    EXPECT_EQ(j["format"], "safetensors");
    EXPECT_EQ(j["shards"].size(), 2u);
    EXPECT_EQ(j["shards"][0]["metadata"]["format"], "pt");
    EXPECT_EQ(j["config"]["model_type"], "deepseek_v3");
    ASSERT_EQ(j["tensors"].size(), 2u);
    EXPECT_EQ(j["tensors"][1]["shard"], "model-00002-of-00002.safetensors");
    EXPECT_EQ(j["bytes_per_type"]["bf16"]["tensors"], 2);

    r = run_r1("inspect " + dir_.path().string(), dir_);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("2 shards"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("deepseek_v3"), std::string::npos) << r.out;
}

TEST_F(Inspect, ErrorsAreClear) {
    test::write_bytes(dir_.file("notes.txt"), std::vector<uint8_t>{'h', 'i', '\n'});
    CliResult r = run_r1("inspect " + dir_.file("notes.txt"), dir_);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("neither a GGUF file"), std::string::npos) << r.err;
    r = run_r1("inspect " + dir_.file("missing.gguf"), dir_);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
    test::write_bytes(dir_.file("bad.gguf"), std::vector<uint8_t>{'G', 'G', 'U', 'F', 9, 0, 0, 0});
    r = run_r1("inspect " + dir_.file("bad.gguf"), dir_);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("unsupported GGUF version 9"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace r1
