// r1 run: one prompt in, the streamed answer out (reasoning shown apart), then timings.
#include <cstdio>
#include <memory>

#include "base/error.h"
#include "cli/commands.h"
#include "cli/generation_flags.h"

namespace r1::cli {

void add_run(CLI::App& app) {
    struct Opts {
        GenerationOptions gen;
        std::string prompt;
        bool raw = false;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("run", "Generate a reply to one prompt (streams to stdout)");
    cmd->footer(
        "The prompt is wrapped in the model's chat template (R1: <｜User｜>...<｜Assistant｜><think>) unless "
        "--raw.\n"
        "Reasoning is dimmed on a terminal and between <think> markers when piped; the answer follows.\n"
        "Example: r1 run -m model.gguf -p \"What is 17*23?\" --temp 0.6");
    add_generation_flags(cmd, o->gen);
    cmd->add_option("-p,--prompt", o->prompt, "the prompt")->required();
    cmd->add_flag("--raw", o->raw, "no chat template: continue the prompt text as is");
    cmd->callback([o] {
        LoadedModel m = load_for_generation(o->gen);
        std::vector<int32_t> ids;
        bool in_reasoning = false;
        if (o->raw) {
            if (m.tok->add_bos() && m.tok->bos() >= 0) ids.push_back(m.tok->bos());
            const auto body = m.tok->encode(o->prompt, /*parse_special=*/true);
            ids.insert(ids.end(), body.begin(), body.end());
        } else {
            std::vector<ChatMessage> msgs;
            if (!o->gen.system.empty()) msgs.push_back({"system", o->gen.system});
            msgs.push_back({"user", o->prompt});
            ids = render_prompt(m, msgs, !o->gen.no_think, &in_reasoning);
        }
        Session session(*m.model, *m.tok, o->gen.ctx, cache_type_from_name(o->gen.cache_type));
        ReasoningPrinter printer(in_reasoning, o->gen.hide_think);
        const GenerateResult r = session.generate(ids, m.params, [&](const std::string& piece) {
            printer.push(piece);
            return true;
        });
        printer.finish();
        if (!o->gen.no_timings) {
            print_timings(m.model->load_seconds(), r.timings);
            std::fprintf(stderr, "finish: %s\n", finish_reason_name(r.finish));
        }
    });
}

}  // namespace r1::cli
