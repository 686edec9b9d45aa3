// Reader for the goldens of the float64 DeepSeek reference (scripts/deepseek-ref, docs/deepseek-reference.md):
// CASE.json (metadata + array table) and CASE.bin (little-endian arrays at the given offsets).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/mapped_file.h"

namespace r1::test {

struct Golden {
    nlohmann::json meta;
    std::string bin;

    static Golden load(const std::string& json_path) {
        Golden g;
        g.meta = nlohmann::json::parse(read_file(json_path));
        const std::string dir = json_path.substr(0, json_path.rfind('/') + 1);
        g.bin = read_file(dir + g.meta["bin"].get<std::string>());
        return g;
    }
    bool has(const std::string& name) const { return meta["arrays"].contains(name); }
    std::vector<int64_t> shape(const std::string& name) const {
        return meta["arrays"][name]["shape"].get<std::vector<int64_t>>();
    }
    template <typename T>
    std::vector<T> array(const std::string& name) const {
        const auto& a = meta["arrays"][name];
        const size_t off = a["offset"].get<size_t>(), n = a["nbytes"].get<size_t>();
        if (off + n > bin.size() || n % sizeof(T)) fail("golden array '%s' out of range", name.c_str());
        std::vector<T> out(n / sizeof(T));
        std::memcpy(out.data(), bin.data() + off, n);
        return out;
    }
};

}  // namespace r1::test
