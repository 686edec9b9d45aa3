// Flags and terminal output shared by `r1 run` and `r1 chat`: sampling options, the prompt/template options,
// and a printer that shows the reasoning apart from the answer (dimmed on a terminal, between <think> markers
// when the output is piped).
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "engine/chat.h"
#include "engine/generate.h"
#include "engine/reasoning.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace r1::cli {

struct GenerationOptions {
    std::string model;
    int64_t ctx = 4096;
    std::string cache_type = "bf16";
    int64_t max_tokens = -1;
    int threads = 0;
    SamplingParams sampling;
    std::vector<std::string> stop;
    std::string system;
    std::string chat_format;  // override of the detected format
    bool no_think = false;    // thinking disabled: the answer starts at once
    bool hide_think = false;  // do not print the reasoning
    bool no_timings = false;
};

void add_generation_flags(CLI::App* cmd, GenerationOptions& o);

// Prints streamed model text: reasoning dimmed (or inside <think>...</think> when not a terminal, or not at
// all with hide), then the answer.
class ReasoningPrinter {
  public:
    ReasoningPrinter(bool starts_in_reasoning, bool hide_reasoning, FILE* out = stdout);
    void push(const std::string& text);
    void finish();
    const std::string& answer() const { return answer_; }
    const std::string& reasoning() const { return reasoning_; }

  private:
    void print(const std::string& s, bool reasoning);
    ReasoningSplitter splitter_;
    bool hide_, tty_;
    FILE* out_;
    bool in_reasoning_block_ = false;
    std::string answer_, reasoning_;
};

// A model with its tokenizer (from the GGUF metadata) and chat format (from its template, or --chat-format).
struct LoadedModel {
    std::unique_ptr<Model> model;
    std::unique_ptr<Tokenizer> tok;
    ChatFormat format = ChatFormat::DeepSeekR1;
    GenerateParams params;  // sampling, stops, max tokens from the flags
};
LoadedModel load_for_generation(const GenerationOptions& o);

// Renders messages with the model's chat format and tokenises them (special tokens parsed).
std::vector<int32_t> render_prompt(const LoadedModel& m, const std::vector<ChatMessage>& messages,
                                   bool thinking, bool* starts_in_reasoning);

// llama.cpp-style timings on stderr.
void print_timings(double load_s, const Timings& t);

}  // namespace r1::cli
