// PLACEHOLDER during bring-up; replaced by the real command.
#include "cli/commands.h"

namespace r1::cli {
void add_bench(CLI::App& app) {
    app.add_subcommand("bench", "(in development)");
}
}  // namespace r1::cli
