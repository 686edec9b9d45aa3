// r1 perplexity: llama.cpp-compatible perplexity of a model on a text file.
#include <cstdio>
#include <memory>

#include "base/error.h"
#include "base/mapped_file.h"
#include "base/timer.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "engine/perplexity.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace r1::cli {

void add_perplexity(CLI::App& app) {
    struct Opts {
        std::string model, file;
        int64_t ctx = 512, batch = 512;
        int threads = 0;
        std::string cache_type = "bf16";
    };
    auto o = std::make_shared<Opts>();
    auto* cmd =
        app.add_subcommand("perplexity", "Perplexity of a model on a text file (llama.cpp's definition)");
    cmd->footer(
        "Chunks of --ctx tokens, BOS at the start of each chunk, the second half of each chunk scored; the\n"
        "numbers compare with llama-perplexity on the same file and context.");
    cmd->add_option("-m,--model", o->model, "GGUF model file")->required();
    cmd->add_option("-f,--file", o->file, "text file")->required();
    cmd->add_option("-c,--ctx", o->ctx, "tokens per chunk")->check(CLI::PositiveNumber);
    cmd->add_option("-b,--batch", o->batch, "tokens per forward")->check(CLI::PositiveNumber);
    cmd->add_option("-t,--threads", o->threads, "threads (0 = all cores)");
    add_cache_type_flag(cmd, o->cache_type);
    cmd->callback([o] {
        apply_threads(o->threads);
        auto model = Model::load(o->model);
        auto tok = Tokenizer::from_gguf(model->file());
        const std::string text = read_file(o->file);
        std::vector<int32_t> tokens;
        if (tok->add_bos() && tok->bos() >= 0) tokens.push_back(tok->bos());
        const auto body = tok->encode(text, /*parse_special=*/false);
        tokens.insert(tokens.end(), body.begin(), body.end());
        std::fprintf(stderr, "perplexity: %zu tokens, %lld chunks of %lld\n", tokens.size(),
                     static_cast<long long>(static_cast<int64_t>(tokens.size()) / o->ctx),
                     static_cast<long long>(o->ctx));
        const double t0 = now_s();
        const auto r = compute_perplexity(*model, tokens, o->ctx, tok->add_bos() ? tok->bos() : -1, o->batch,
                                          cache_type_from_name(o->cache_type), [](int64_t i, double ppl) {
                                              std::printf("[%lld]%.4f,", static_cast<long long>(i + 1), ppl);
                                              std::fflush(stdout);
                                          });
        std::printf("\nFinal estimate: PPL = %.4f +/- %.5f\n", r.ppl, r.ppl_err);
        std::fprintf(stderr, "%lld tokens scored in %.2f s\n", static_cast<long long>(r.n_scored),
                     now_s() - t0);
    });
}

}  // namespace r1::cli
