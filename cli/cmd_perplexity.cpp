// PLACEHOLDER during bring-up; replaced by the real command.
#include "cli/commands.h"

namespace r1::cli {
void add_perplexity(CLI::App& app) {
    app.add_subcommand("perplexity", "(in development)");
}
}  // namespace r1::cli
