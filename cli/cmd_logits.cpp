// PLACEHOLDER during bring-up; replaced by the real command.
#include "cli/commands.h"

namespace r1::cli {
void add_logits(CLI::App& app) {
    app.add_subcommand("logits", "(in development)");
}
}  // namespace r1::cli
