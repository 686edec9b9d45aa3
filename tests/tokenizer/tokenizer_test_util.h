// Helpers shared by the tokenizer tests: golden files, asset paths, cached tokenizers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace r1::test {

struct GoldenCase {
    std::string text;
    std::vector<int32_t> ids;
};

// tests/data/tokenizer/golden_<name>.jsonl (written by scripts/tokenizer-goldens/gen_goldens.mjs).
std::vector<GoldenCase> load_golden(const std::string& name);

// <assets>/<name>/tokenizer.json, or "" when scripts/fetch-assets.sh has not been run.
std::string asset_tokenizer_json(const std::string& name);

// The tokenizer of an asset, loaded once per process; nullptr when the asset is absent.
const Tokenizer* asset_tokenizer(const std::string& name);

// "[1, 2, 3]" for failure messages.
std::string ids_to_string(const std::vector<int32_t>& ids);

// The three tokenizers the goldens cover.
inline const char* const kAssetNames[] = {"deepseek_v3", "qwen3", "llama3_1"};

}  // namespace r1::test
