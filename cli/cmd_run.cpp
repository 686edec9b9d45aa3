// PLACEHOLDER during bring-up; replaced by the real command.
#include "cli/commands.h"

namespace r1::cli {
void add_run(CLI::App& app) {
    app.add_subcommand("run", "(in development)");
}
}  // namespace r1::cli
