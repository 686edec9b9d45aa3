// The subcommands of `r1`. Each cmd_*.cpp adds one CLI11 subcommand with its flags, --help text and callback;
// the callback builds library objects and calls one library entry point. Errors are thrown as r1::Error and
// reported by main().
#pragma once

#include <CLI/CLI.hpp>

namespace r1::cli {

void add_inspect(CLI::App& app);
void add_tokenize(CLI::App& app);
void add_logits(CLI::App& app);
void add_perplexity(CLI::App& app);
void add_run(CLI::App& app);
void add_chat(CLI::App& app);
void add_bench(CLI::App& app);
void add_quantize(CLI::App& app);
void add_convert(CLI::App& app);
void add_random_model(CLI::App& app);
void add_serve(CLI::App& app);

}  // namespace r1::cli
