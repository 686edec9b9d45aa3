// Logits against llama.cpp (the prebuilt npm build, commit 0ad4a86) on the same GGUF files: tiny random models
// with the real tokenizers, written by our own writer. The goldens (tests/data/llamacpp, made by
// scripts/llamacpp-goldens/gen.sh) hold llama.cpp's top-32 logits and 64 sampled logits per position; the model
// is rewritten here with the same `r1 random-model` flags and must hash to the same bytes.
// Compared: max |Δlogit| at every position (positions whose MoE routing is a near-tie are skipped), and top-1
// agreement wherever llama.cpp's best two logits are not themselves a near-tie.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "base/sha256.h"
#include "deepseek_golden.h"
#include "model/model.h"

namespace r1 {
namespace {

const std::string kData = std::string(R1_TEST_DATA) + "/llamacpp/";

std::vector<std::string> case_names() {
    std::vector<std::string> names;
    if (!std::filesystem::exists(kData)) return names;
    for (const auto& e : std::filesystem::directory_iterator(kData))
        if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
    std::sort(names.begin(), names.end());
    return names;
}

class LlamaCppGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(LlamaCppGolden, LogitsMatchLlamaCpp) {
    const test::Golden g = test::Golden::load(kData + GetParam() + ".json");
    const std::string tok_dir = std::string(R1_ASSETS_DIR) + "/" + g.meta["tokenizer"].get<std::string>();
    if (!std::filesystem::exists(tok_dir + "/tokenizer.json"))
        GTEST_SKIP() << "tokenizer assets missing in " << tok_dir << " (run scripts/fetch-assets.sh)";
    const std::string model = ::testing::TempDir() + "/r1_llamacpp_" + GetParam() + ".gguf";
    std::string cmd = std::string(R1_BIN_DIR) + "/r1 random-model --tokenizer '" + tok_dir + "' -o '" + model + "'";
    for (const auto& f : g.meta["model_flags"]) cmd += " '" + f.get<std::string>() + "'";
    cmd += " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    ASSERT_EQ(sha256_file_hex(model), g.meta["model_sha256"].get<std::string>())
        << "the writer no longer produces the bytes the golden was made from: regenerate with "
           "scripts/llamacpp-goldens/gen.sh";

    auto m = Model::load(model, {.prefault = false, .progress = false});
    const ModelConfig& c = m->config();
    const auto ids = g.array<int32_t>("ids");
    const int64_t n = static_cast<int64_t>(ids.size());
    KvCache cache(c, n);
    Scratch s(c, n, n);
    std::vector<RoutingRecord> routes;
    s.routing_trace = &routes;
    Batch b;
    for (int64_t i = 0; i < n; i++) b.add(ids[static_cast<size_t>(i)], i, &cache, true);
    std::vector<float> logits(static_cast<size_t>(n * c.n_vocab));
    m->forward(b, s, logits.data());
    std::remove(model.c_str());

    const double tol = g.meta["tol"].get<double>();
    const double margin_skip = tol > 1e-3 ? 1e-2 : 1e-4;
    std::vector<float> min_margin(static_cast<size_t>(n), INFINITY);
    for (const auto& r : routes)
        min_margin[static_cast<size_t>(r.token)] =
            std::min({min_margin[static_cast<size_t>(r.token)], r.margin, r.group_margin});
    const auto topk_ids = g.array<int32_t>("topk_ids");
    const auto topk_logits = g.array<float>("topk_logits");
    const auto sample_ids = g.array<int32_t>("sample_ids");
    const auto sample_logits = g.array<float>("sample_logits");
    const int64_t nk = g.shape("topk_ids")[1], ns = static_cast<int64_t>(sample_ids.size());
    double worst = 0;
    int64_t checked = 0;
    for (int64_t i = 0; i < n; i++) {
        if (min_margin[static_cast<size_t>(i)] < margin_skip) continue;
        checked++;
        const float* row = logits.data() + i * c.n_vocab;
        for (int64_t k = 0; k < nk; k++) {
            const size_t at = static_cast<size_t>(i * nk + k);
            worst = std::max(worst, std::fabs(static_cast<double>(row[topk_ids[at]]) - topk_logits[at]));
        }
        for (int64_t k = 0; k < ns; k++)
            worst = std::max(worst, std::fabs(static_cast<double>(row[sample_ids[static_cast<size_t>(k)]]) -
                                              sample_logits[static_cast<size_t>(i * ns + k)]));
        const size_t top = static_cast<size_t>(i * nk);
        if (topk_logits[top] - topk_logits[top + 1] > 2 * tol)
            EXPECT_EQ(std::max_element(row, row + c.n_vocab) - row, topk_ids[top]) << "top-1 at position " << i;
    }
    EXPECT_LT(worst, tol) << GetParam();
    EXPECT_GE(checked, n * 3 / 4) << "too many near-tie positions skipped";
    std::printf("[ %s ] %lld tokens, max |dlogit| vs llama.cpp %.2e (%lld near-tie positions skipped)\n",
                GetParam().c_str(), static_cast<long long>(n), worst, static_cast<long long>(n - checked));
}

INSTANTIATE_TEST_SUITE_P(Files, LlamaCppGolden, ::testing::ValuesIn(case_names()), [](const auto& info) {
    std::string s = info.param;
    for (auto& ch : s)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return s;
});

}  // namespace
}  // namespace r1
