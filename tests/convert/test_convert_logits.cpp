// End to end: tiny HF checkpoints -> r1 convert -> r1's forward pass, against reference logits computed from
// the HF files by scripts/convert-check/hf_reference.py (float64 NumPy, HF semantics; committed in
// tests/data/convert/hf-logits/ by scripts/convert-check/run.sh, which also runs llama.cpp on the same
// files). Also: the HF checkpoints of scripts/deepseek-ref (a different writer) against its own goldens. The
// V2-Lite-like model is left out here: its softmax routing has a near-tie (margin 1.3e-5) that float error
// may flip; run.sh reports it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "convert/convert_test_util.h"
#include "model/model.h"

namespace r1::test {
namespace {

const std::vector<int32_t> kIds = {0, 5, 17, 200, 33, 261, 100, 7, 259, 3, 150, 42, 260, 88, 1, 120};

struct GoldenModel {
    const char* name;     // tests/data/convert/hf-logits/<name>.bin
    TinyOptions options;  // the make_tiny_hf arguments in run.sh
};

// Keep in sync with MODELS in scripts/convert-check/run.sh.
const GoldenModel kGoldenModels[] = {
    {"qwen2", {.kind = TinyKind::Qwen2}},
    {"llama", {.kind = TinyKind::Llama}},
    {"v3", {.kind = TinyKind::DeepSeekV3, .mtp = true, .shards = 2}},
    {"v3fp8", {.kind = TinyKind::DeepSeekV3, .n_layers = 3, .fp8 = true, .mtp = true}},
};

std::vector<float> read_golden(const std::string& name) {
    const std::string path = std::string(R1_TEST_DATA) + "/convert/hf-logits/" + name + ".bin";
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    EXPECT_TRUE(f.good()) << path;
    std::vector<float> out(static_cast<size_t>(f.tellg()) / sizeof(float));
    f.seekg(0);
    f.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size() * sizeof(float)));
    return out;
}

class ConvertLogits : public ::testing::TestWithParam<GoldenModel> {};

TEST_P(ConvertLogits, MatchReferenceFromHfFiles) {
    const GoldenModel& g = GetParam();
    ScratchDir scratch;
    const Converted c = write_and_convert(make_tiny_checkpoint(g.options), scratch, g.name, {.type = "f32"});
    auto model = Model::load(c.path, {.prefault = false, .progress = false});
    const ModelConfig& cfg = model->config();
    const int64_t n = static_cast<int64_t>(kIds.size());
    KvCache cache(cfg, n, CacheType::F32);
    Scratch s(cfg, 512, n);
    Batch b;
    for (int64_t i = 0; i < n; i++) b.add(kIds[static_cast<size_t>(i)], i, &cache, true);
    std::vector<float> logits(static_cast<size_t>(n * cfg.n_vocab));
    model->forward(b, s, logits.data());

    const std::vector<float> want = read_golden(g.name);
    ASSERT_EQ(want.size(), logits.size()) << g.name;
    double max_diff = 0;
    for (size_t i = 0; i < want.size(); ++i)
        max_diff = std::max(max_diff, double(std::fabs(want[i] - logits[i])));
    EXPECT_LT(max_diff, 1e-4) << g.name;  // measured ~2e-6 (f32 engine vs float64 reference)
    for (int64_t p = 0; p < n; ++p) {
        const float* a = logits.data() + p * cfg.n_vocab;
        const float* r = want.data() + p * cfg.n_vocab;
        EXPECT_EQ(std::max_element(a, a + cfg.n_vocab) - a, std::max_element(r, r + cfg.n_vocab) - r)
            << g.name << " position " << p;
    }
}

INSTANTIATE_TEST_SUITE_P(TinyModels, ConvertLogits, ::testing::ValuesIn(kGoldenModels),
                         [](const auto& info) { return std::string(info.param.name); });

// HF checkpoints written by a different program (scripts/deepseek-ref, its own safetensors writer and FP8
// encoder) with goldens from its float64 model of DeepSeek's inference/model.py: converted without a
// vocabulary (they ship no tokenizer.json), then run by r1. Positions whose routing margin is below 1e-3 are
// skipped.
class ConvertDeepSeekRefHf : public ::testing::TestWithParam<const char*> {};

TEST_P(ConvertDeepSeekRefHf, MatchesGoldens) {
    const std::string base = std::string(R1_TEST_DATA) + "/deepseek-ref/";
    const std::string name = GetParam(), manifest_path = base + "goldens/" + name + ".json";
    if (!std::filesystem::exists(manifest_path)) GTEST_SKIP() << "no " << manifest_path;
    std::ifstream mf(manifest_path);
    const nlohmann::json manifest = nlohmann::json::parse(mf);
    std::ifstream bf(base + "goldens/" + manifest["bin"].get<std::string>(), std::ios::binary);
    const std::string blob((std::istreambuf_iterator<char>(bf)), std::istreambuf_iterator<char>());
    auto array = [&](const char* key) {
        const auto& e = manifest["arrays"][key];
        std::vector<float> v(e["nbytes"].get<size_t>() / 4);
        std::memcpy(v.data(), blob.data() + e["offset"].get<size_t>(), v.size() * 4);
        return v;
    };
    const std::vector<int32_t> ids = manifest["ids"].get<std::vector<int32_t>>();
    const std::vector<float> want = array("logits"), margin = array("route_min_margin");

    ScratchDir scratch;
    const std::string out = scratch.file(name + ".gguf");
    convert_hf_to_gguf(base + manifest["model"].get<std::string>(), out, {.type = "f32", .vocab = false});
    auto model = Model::load(out, {.prefault = false, .progress = false});
    const ModelConfig& cfg = model->config();
    const int64_t n = static_cast<int64_t>(ids.size());
    KvCache cache(cfg, n, CacheType::F32);
    Scratch s(cfg, 512, n);
    Batch b;
    for (int64_t i = 0; i < n; i++) b.add(ids[static_cast<size_t>(i)], i, &cache, true);
    std::vector<float> logits(static_cast<size_t>(n * cfg.n_vocab));
    model->forward(b, s, logits.data());
    ASSERT_EQ(logits.size(), want.size());
    int checked = 0;
    for (int64_t p = 0; p < n; ++p) {
        if (margin[static_cast<size_t>(p)] < 1e-3f) continue;
        checked++;
        for (int64_t v = 0; v < cfg.n_vocab; ++v)
            ASSERT_NEAR(logits[p * cfg.n_vocab + v], want[p * cfg.n_vocab + v], 1e-4) << name << " pos " << p;
    }
    EXPECT_GT(checked, n / 2) << name;
}

INSTANTIATE_TEST_SUITE_P(DeepSeekRef, ConvertDeepSeekRefHf,
                         ::testing::Values("hf-v3-fp8", "hf-v3-bf16", "hf-v2-groups-f16"),
                         [](const auto& info) {
                             std::string n = info.param;
                             for (char& ch : n) ch = ch == '-' ? '_' : ch;
                             return n;
                         });

}  // namespace
}  // namespace r1::test
