// Helpers shared by the tokenizer tests.
#include "tokenizer/tokenizer_test_util.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace r1::test {

std::vector<GoldenCase> load_golden(const std::string& name) {
    const std::string path = std::string(R1_TEST_DATA) + "/tokenizer/golden_" + name + ".jsonl";
    std::ifstream in(path);
    if (!in) fail("cannot open %s", path.c_str());
    std::vector<GoldenCase> cases;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        const auto j = nlohmann::json::parse(line);
        cases.push_back({j.at("text").get<std::string>(), j.at("ids").get<std::vector<int32_t>>()});
    }
    return cases;
}

std::string asset_tokenizer_json(const std::string& name) {
    const std::string path = std::string(R1_ASSETS_DIR) + "/" + name + "/tokenizer.json";
    return std::filesystem::exists(path) ? path : std::string();
}

const Tokenizer* asset_tokenizer(const std::string& name) {
    static std::mutex mu;
    static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(name);
    if (it == cache.end()) {
        const std::string path = asset_tokenizer_json(name);
        it = cache.emplace(name, path.empty() ? nullptr : Tokenizer::from_hf_json(path)).first;
    }
    return it->second.get();
}

std::string ids_to_string(const std::vector<int32_t>& ids) {
    std::string s = "[";
    for (size_t i = 0; i < ids.size(); ++i) s += (i ? ", " : "") + std::to_string(ids[i]);
    return s + "]";
}

}  // namespace r1::test
