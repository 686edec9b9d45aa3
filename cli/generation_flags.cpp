#include "cli/generation_flags.h"

#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "cli/common.h"

namespace r1::cli {

void add_generation_flags(CLI::App* cmd, GenerationOptions& o) {
    cmd->add_option("-m,--model", o.model, "GGUF model file")->required();
    cmd->add_option("-c,--ctx", o.ctx, "context size in tokens (prompt + output)")
        ->check(CLI::PositiveNumber);
    add_cache_type_flag(cmd, o.cache_type);
    cmd->add_option("-n,--max-tokens", o.max_tokens,
                    "stop after this many tokens (-1: until the context is full)");
    cmd->add_option("-t,--threads", o.threads, "threads (0 = all cores)");
    cmd->add_option("--temp", o.sampling.temperature,
                    "temperature (0 = greedy; DeepSeek recommends 0.6 for R1)");
    cmd->add_option("--top-k", o.sampling.top_k, "keep the k most likely tokens (0 = off)");
    cmd->add_option("--top-p", o.sampling.top_p, "nucleus sampling mass (1 = off; R1: 0.95)");
    cmd->add_option("--min-p", o.sampling.min_p, "drop tokens below min-p x the top probability (0 = off)");
    cmd->add_option("--repeat-penalty", o.sampling.repeat_penalty, "llama.cpp repetition penalty (1 = off)");
    cmd->add_option("--repeat-last-n", o.sampling.repeat_last_n, "penalty window (-1 = whole history)");
    cmd->add_option("--presence-penalty", o.sampling.presence_penalty, "OpenAI presence penalty");
    cmd->add_option("--frequency-penalty", o.sampling.frequency_penalty, "OpenAI frequency penalty");
    cmd->add_option("-s,--seed", o.sampling.seed, "random seed (default: from the clock)");
    cmd->add_option("--stop", o.stop, "stop string (repeatable)");
    cmd->add_option("--system", o.system, "system prompt (DeepSeek recommends none for R1)");
    cmd->add_option(
        "--chat-format", o.chat_format,
        "override the template: deepseek-r1, deepseek-v3, deepseek-v3.1, llama3, llama3.1, chatml");
    cmd->add_flag("--no-think", o.no_think, "disable thinking: the answer starts at once");
    cmd->add_flag("--hide-think", o.hide_think, "do not print the reasoning");
    cmd->add_flag("--no-timings", o.no_timings, "do not print timings");
}

ReasoningPrinter::ReasoningPrinter(bool starts_in_reasoning, bool hide, FILE* out)
    : splitter_(starts_in_reasoning), hide_(hide), tty_(::isatty(::fileno(out)) != 0), out_(out) {}

void ReasoningPrinter::print(const std::string& s, bool reasoning) {
    if (s.empty()) return;
    if (reasoning) {
        reasoning_ += s;
        if (hide_) return;
        if (!in_reasoning_block_) {
            std::fputs(tty_ ? "\x1b[2m" : "<think>\n", out_);
            in_reasoning_block_ = true;
        }
        std::fputs(s.c_str(), out_);
    } else {
        answer_ += s;
        if (in_reasoning_block_) {
            std::fputs(tty_ ? "\x1b[0m\n\n" : "\n</think>\n\n", out_);
            in_reasoning_block_ = false;
        }
        std::fputs(s.c_str(), out_);
    }
    std::fflush(out_);
}

void ReasoningPrinter::push(const std::string& text) {
    const ReasoningDelta d = splitter_.push(text);
    print(d.reasoning, true);
    print(d.content, false);
}

void ReasoningPrinter::finish() {
    const ReasoningDelta d = splitter_.flush();
    print(d.reasoning, true);
    print(d.content, false);
    if (in_reasoning_block_) {
        std::fputs(tty_ ? "\x1b[0m" : "\n</think>", out_);
        in_reasoning_block_ = false;
    }
    std::fputc('\n', out_);
    std::fflush(out_);
}

LoadedModel load_for_generation(const GenerationOptions& o) {
    apply_threads(o.threads);
    validate(o.sampling);
    LoadedModel m;
    m.model = Model::load(o.model);
    for (const auto& line : m.model->describe()) R1_LOG_INFO("%s", line.c_str());
    m.tok = Tokenizer::from_gguf(m.model->file());
    m.format = o.chat_format.empty() ? detect_chat_format(m.tok->chat_template())
                                     : chat_format_from_name(o.chat_format);
    m.params.sampling = o.sampling;
    m.params.stop = o.stop;
    m.params.max_tokens = o.max_tokens;
    if (o.ctx > m.model->config().n_ctx_train)
        R1_LOG_WARN("context %lld is larger than the %lld tokens the model was trained for",
                    static_cast<long long>(o.ctx), static_cast<long long>(m.model->config().n_ctx_train));
    return m;
}

std::vector<int32_t> render_prompt(const LoadedModel& m, const std::vector<ChatMessage>& messages,
                                   bool thinking, bool* starts_in_reasoning) {
    RenderOptions ro;
    if (m.tok->add_bos() && m.tok->bos() >= 0) ro.bos_text = m.tok->token_text(m.tok->bos());
    ro.add_generation_prompt = true;
    ro.enable_thinking = thinking;
    const ChatPrompt p = render_chat(m.format, messages, ro);
    *starts_in_reasoning = p.starts_in_reasoning;
    return m.tok->encode(p.text, /*parse_special=*/true);
}

void print_timings(double load_s, const Timings& t) {
    const int64_t evaluated = t.n_prompt - t.n_prompt_cached;
    std::fprintf(stderr, "\nload time   = %9.2f ms\n", load_s * 1e3);
    std::fprintf(
        stderr, "prompt eval = %9.2f ms / %4lld tokens (%8.2f ms per token, %8.2f tokens per second)%s\n",
        t.prompt_s * 1e3, static_cast<long long>(evaluated),
        evaluated ? t.prompt_s * 1e3 / static_cast<double>(evaluated) : 0.0, t.prompt_tps(),
        t.n_prompt_cached ? strfmt(", %lld cached", static_cast<long long>(t.n_prompt_cached)).c_str() : "");
    std::fprintf(stderr,
                 "eval time   = %9.2f ms / %4lld tokens (%8.2f ms per token, %8.2f tokens per second)\n",
                 t.gen_s * 1e3, static_cast<long long>(t.n_gen),
                 t.n_gen ? t.gen_s * 1e3 / static_cast<double>(t.n_gen) : 0.0, t.gen_tps());
}

}  // namespace r1::cli
