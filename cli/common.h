// Small helpers shared by the subcommands.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "model/kv_cache.h"

namespace r1::cli {

// "1,2, 3" -> {1, 2, 3}; throws r1::Error on anything else.
std::vector<int32_t> parse_ids(const std::string& s);
// Applies -t/--threads (0 = all cores).
void apply_threads(int threads);
// --cache-type bf16|f32 into `name` (its value is the default).
void add_cache_type_flag(CLI::App* cmd, std::string& name);
// Human-readable byte count ("1.23 GiB").
std::string human_bytes(double bytes);

}  // namespace r1::cli
