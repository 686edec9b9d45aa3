// Helpers for the converter tests: write a tiny checkpoint, convert it, read GGUF tensors back as f32, and
// expect r1::Error messages.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "convert/tiny_hf.h"
#include "formats/gguf.h"
#include "formats/scratch.h"
#include "model/convert.h"

namespace r1::test {

struct Converted {
    std::string path;
    ConvertResult result;
    std::unique_ptr<gguf::File> file;
};

// Writes `ck` to scratch/<tag>/ and converts it to scratch/<tag>.gguf.
Converted write_and_convert(const TinyCheckpoint& ck, const ScratchDir& scratch, const std::string& tag,
                            ConvertOptions opt = {});

// All elements of a GGUF tensor as f32 (dequantised); fails the test if the tensor is missing.
std::vector<float> gguf_f32(const gguf::File& f, const std::string& name);
const TensorRef& gguf_tensor(const gguf::File& f, const std::string& name);

// Runs fn() and checks it throws r1::Error whose message contains every needle.
template <typename Fn>
void expect_error(Fn fn, const std::vector<std::string>& needles) {
    try {
        fn();
        ADD_FAILURE() << "expected r1::Error";
    } catch (const r1::Error& e) {
        const std::string msg = e.what();
        for (const auto& n : needles)
            EXPECT_NE(msg.find(n), std::string::npos) << "missing '" << n << "' in: " << msg;
    }
}

}  // namespace r1::test
