#include "cli/common.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "base/error.h"
#include "base/parallel.h"

namespace r1::cli {

void add_cache_type_flag(CLI::App* cmd, std::string& name) {
    cmd->add_option("--cache-type", name,
                    "KV cache element type: bf16 (half the memory, bf16 attention products) or f32 (exact)")
        ->check(CLI::IsMember({"bf16", "f32"}))
        ->capture_default_str();
}

std::vector<int32_t> parse_ids(const std::string& s) {
    std::vector<int32_t> ids;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (std::isspace(static_cast<unsigned char>(s[i])) || s[i] == ',')) i++;
        if (i >= s.size()) break;
        const char* begin = s.c_str() + i;
        char* end = nullptr;
        errno = 0;
        long v = std::strtol(begin, &end, 10);
        if (end == begin || errno != 0 || v < 0 || v > INT32_MAX)
            fail("bad token id list near '%.20s': expected comma-separated non-negative integers", begin);
        ids.push_back(static_cast<int32_t>(v));
        i = static_cast<size_t>(end - s.c_str());
        if (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i])) && s[i] != ',')
            fail("bad token id list near '%.20s': expected comma-separated non-negative integers",
                 s.c_str() + i);
    }
    return ids;
}

void apply_threads(int threads) {
    if (threads < 0) fail("--threads must be >= 0 (0 = all cores)");
    set_num_threads(threads);
}

std::string human_bytes(double b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    return strfmt(u == 0 ? "%.0f %s" : "%.2f %s", b, units[u]);
}

}  // namespace r1::cli
