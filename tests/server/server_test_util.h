// Helpers for the server tests: the tiny random R1-style test model (DeepSeek-V3 vocabulary, with r1.cpp's
// DeepSeek-R1 chat template in its metadata, so the server detects the R1 format and its <think> handling).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "engine/chat.h"
#include "model/random_model.h"
#include "tokenizer/tokenizer.h"

namespace r1::test {

inline std::string assets_tokenizer() {
    return std::string(R1_ASSETS_DIR) + "/deepseek_v3";
}

// The model file is shared by every test process (and the node tests' ctest fixture writes the same bytes):
// the writer renames a private temporary file into place, so concurrent writers are safe.
inline std::string tiny_model_path() {
    const std::string path = R1_SERVER_TEST_MODEL;
    if (!std::filesystem::exists(path)) {
        auto tok = Tokenizer::from_path(assets_tokenizer());
        RandomModelSpec spec;  // `r1 random-model --chat-template deepseek-r1`: qwen2, d=64, 2 layers
        spec.chat_template = std::string(deepseek_r1_jinja_template());
        write_random_model(spec, tok.get(), path);
    }
    return path;
}

}  // namespace r1::test
