// r1 chat: a multi-turn conversation in the terminal. Earlier reasoning is dropped from the history (as the
// R1 template does); the KV cache is reused across turns for the common prefix.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include "base/error.h"
#include "cli/commands.h"
#include "cli/generation_flags.h"

namespace r1::cli {
namespace {

const char* kHelp =
    "commands: /think on|off  enable or disable thinking\n"
    "          /reset         start a new conversation\n"
    "          /exit          quit (or Ctrl-D)\n"
    "          end a line with \\ to continue the message on the next line\n";

// Reads one message (lines ending in a backslash continue it). False on end of input.
bool read_message(std::string& out, bool tty) {
    out.clear();
    std::string line;
    if (tty) std::fputs("\n> ", stdout), std::fflush(stdout);
    while (std::getline(std::cin, line)) {
        if (!line.empty() && line.back() == '\\') {
            out += line.substr(0, line.size() - 1) + "\n";
            if (tty) std::fputs(". ", stdout), std::fflush(stdout);
            continue;
        }
        out += line;
        return true;
    }
    return !out.empty();
}

}  // namespace

void add_chat(CLI::App& app) {
    auto o = std::make_shared<GenerationOptions>();
    auto* cmd = app.add_subcommand("chat", "Chat with a model in the terminal (multi-turn)");
    cmd->footer(std::string("In the chat:\n") + kHelp);
    add_generation_flags(cmd, *o);
    cmd->callback([o] {
        LoadedModel m = load_for_generation(*o);
        const bool tty = ::isatty(STDIN_FILENO) != 0;
        Session session(*m.model, *m.tok, o->ctx, cache_type_from_name(o->cache_type));
        std::vector<ChatMessage> history;
        if (!o->system.empty()) history.push_back({"system", o->system});
        bool thinking = !o->no_think;
        std::fprintf(stderr, "%s | template %s | context %lld | thinking %s\n%s",
                     m.model->config().summary().c_str(), chat_format_name(m.format),
                     static_cast<long long>(o->ctx), thinking ? "on" : "off", tty ? kHelp : "");
        std::string msg;
        while (read_message(msg, tty)) {
            if (msg == "/exit" || msg == "/quit") break;
            if (msg == "/reset") {
                history.clear();
                if (!o->system.empty()) history.push_back({"system", o->system});
                std::fputs("(new conversation)\n", stdout);
                continue;
            }
            if (msg == "/think on" || msg == "/think off") {
                thinking = msg == "/think on";
                std::printf("(thinking %s)\n", thinking ? "on" : "off");
                continue;
            }
            if (msg == "/help") {
                std::fputs(kHelp, stdout);
                continue;
            }
            if (msg.empty()) continue;
            history.push_back({"user", msg});
            bool in_reasoning = false;
            const std::vector<int32_t> ids = render_prompt(m, history, thinking, &in_reasoning);
            ReasoningPrinter printer(in_reasoning, o->hide_think);
            GenerateResult r;
            try {
                r = session.generate(ids, m.params, [&](const std::string& piece) {
                    printer.push(piece);
                    return true;
                });
            } catch (const Error& e) {
                history.pop_back();
                std::fprintf(stderr, "error: %s\n(use /reset to start over)\n", e.what());
                continue;
            }
            printer.finish();
            history.push_back({"assistant", printer.answer()});
            if (!o->no_timings)
                std::fprintf(stderr,
                             "[%lld tokens, %.1f tok/s, prompt %lld (+%lld cached) at %.1f tok/s, %s]\n",
                             static_cast<long long>(r.timings.n_gen), r.timings.gen_tps(),
                             static_cast<long long>(r.timings.n_prompt - r.timings.n_prompt_cached),
                             static_cast<long long>(r.timings.n_prompt_cached), r.timings.prompt_tps(),
                             finish_reason_name(r.finish));
        }
    });
}

}  // namespace r1::cli
