// Small helpers shared by the subcommands.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace r1::cli {

// "1,2, 3" -> {1, 2, 3}; throws r1::Error on anything else.
std::vector<int32_t> parse_ids(const std::string& s);
// Applies -t/--threads (0 = all cores).
void apply_threads(int threads);
// Human-readable byte count ("1.23 GiB").
std::string human_bytes(double bytes);

}  // namespace r1::cli
