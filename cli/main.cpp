// r1: one program, many subcommands (`r1 --help`, `r1 <command> --help`).
#include <cstdio>
#include <exception>

#include "base/error.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
    CLI::App app{"r1.cpp: run DeepSeek-family models on the CPU and reproduce how R1 was made."};
    app.require_subcommand(1);
    app.fallthrough(false);
    r1::cli::add_inspect(app);
    r1::cli::add_tokenize(app);
    r1::cli::add_logits(app);
    r1::cli::add_perplexity(app);
    r1::cli::add_run(app);
    r1::cli::add_chat(app);
    r1::cli::add_bench(app);
    r1::cli::add_quantize(app);
    r1::cli::add_convert(app);
    r1::cli::add_random_model(app);
    r1::cli::add_serve(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const r1::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
