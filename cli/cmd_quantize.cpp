// r1 quantize: rewrite a GGUF model with another weight type mix (q4_k_m, q8_0, ...).
#include <cstdio>
#include <memory>

#include "base/timer.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "model/quantize.h"

namespace r1::cli {

void add_quantize(CLI::App& app) {
    struct Opts {
        std::string in, out, type;
        int threads = 0;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("quantize", "Quantize a GGUF model (q4_k_m, q8_0, q6_k, ...)");
    std::string types;
    for (const auto& n : quant_recipe_names()) types += (types.empty() ? "" : ", ") + n;
    cmd->footer("Types: " + types +
                "\nq4_k_m / q5_k_m follow llama.cpp's mixes (Q6_K output, more bits for some attn_v / ffn_down).\n"
                "Example: r1 quantize model-f32.gguf model-q4_k_m.gguf q4_k_m");
    cmd->add_option("input", o->in, "input GGUF")->required();
    cmd->add_option("output", o->out, "output GGUF (written atomically)")->required();
    cmd->add_option("type", o->type, "target type mix")->required();
    cmd->add_option("-t,--threads", o->threads, "threads (0 = all cores)");
    cmd->callback([o] {
        apply_threads(o->threads);
        const double t0 = now_s();
        quantize_model_file(o->in, o->out, o->type, true);
        std::fprintf(stderr, "wrote %s (%s) in %.1f s\n", o->out.c_str(), o->type.c_str(), now_s() - t0);
    });
}

}  // namespace r1::cli
