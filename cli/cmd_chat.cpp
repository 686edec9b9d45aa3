// PLACEHOLDER during bring-up; replaced by the real command.
#include "cli/commands.h"

namespace r1::cli {
void add_chat(CLI::App& app) {
    app.add_subcommand("chat", "(in development)");
}
}  // namespace r1::cli
