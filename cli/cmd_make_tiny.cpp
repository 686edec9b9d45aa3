// PLACEHOLDER during bring-up; replaced by the real command.
#include "cli/commands.h"

namespace r1::cli {
void add_make_tiny(CLI::App& app) {
    app.add_subcommand("make-tiny", "(in development)");
}
}  // namespace r1::cli
