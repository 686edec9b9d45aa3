// r1 logits: float32 logits for every position of a token sequence — the hook for validation against other
// engines (the llama.cpp harness writes the same format).
#include <cstdio>
#include <memory>

#include "base/error.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "model/model.h"

namespace r1::cli {

void add_logits(CLI::App& app) {
    struct Opts {
        std::string model, ids, out;
        int threads = 0;
        int batch = 512;
        std::string mla = "auto";
        std::string cache_type = "f32";
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("logits", "Write float32 logits for every position of a token sequence");
    cmd->footer(
        "Output: little-endian float32, row-major [n_ids x n_vocab]; row i holds the logits after token i.\n"
        "Example: r1 logits -m model.gguf --ids 1,2,3 -o out.f32");
    cmd->add_option("-m,--model", o->model, "GGUF model file")->required();
    cmd->add_option("--ids", o->ids, "comma-separated token ids (run as one sequence, no BOS added)")
        ->required();
    cmd->add_option("-o,--output", o->out, "output file (.f32)")->required();
    cmd->add_option("-t,--threads", o->threads, "threads (0 = all cores)");
    cmd->add_option("-b,--batch", o->batch, "tokens per forward chunk")->check(CLI::PositiveNumber);
    cmd->add_option(
           "--mla", o->mla,
           "deepseek2 attention form: auto (cheaper per chunk), naive (decompressed K/V) or absorbed "
           "(latent cache, as llama.cpp evaluates MLA-layout files)")
        ->check(CLI::IsMember({"auto", "naive", "absorbed"}));
    add_cache_type_flag(cmd, o->cache_type);  // f32 by default here: validation compares exact values
    cmd->callback([o] {
        apply_threads(o->threads);
        const std::vector<int32_t> ids = parse_ids(o->ids);
        if (ids.empty()) fail("--ids is empty");
        auto model = Model::load(o->model, {.prefault = false, .progress = false});
        model->set_mla_mode(mla_mode_from_name(o->mla));
        const ModelConfig& c = model->config();
        const int64_t n = static_cast<int64_t>(ids.size());
        KvCache cache(c, n, cache_type_from_name(o->cache_type));
        Scratch scratch(c, o->batch, n);
        Batch b;
        for (int64_t i = 0; i < n; i++) b.add(ids[static_cast<size_t>(i)], i, &cache, true);
        std::vector<float> logits(static_cast<size_t>(n * c.n_vocab));
        model->forward(b, scratch, logits.data());
        FILE* f = std::fopen(o->out.c_str(), "wb");
        if (!f) fail("cannot create '%s'", o->out.c_str());
        const size_t wrote = std::fwrite(logits.data(), sizeof(float), logits.size(), f);
        if (std::fclose(f) != 0 || wrote != logits.size()) fail("cannot write '%s'", o->out.c_str());
        std::fprintf(stderr, "wrote %lld x %lld logits to %s\n", static_cast<long long>(n),
                     static_cast<long long>(c.n_vocab), o->out.c_str());
    });
}

}  // namespace r1::cli
