// Streaming reasoning splitter: the model's text deltas in, {reasoning_delta, content_delta} out, for the
// `reasoning_content` / `content` split of the OpenAI/DeepSeek API and Ollama's `thinking`.
//
// Rules (those of llama.cpp's `--reasoning-format deepseek` parser, which yields the DeepSeek API's shape:
// reasoning and content both without the blank lines around the tags):
// - starts_in_reasoning (the prompt ended in "<think>\n", chat.h's ChatPrompt::starts_in_reasoning): the
// output is
//   reasoning from its first byte. A stray "<think>" the model writes anyway at the very start is dropped.
// - otherwise: an opening "<think>" at the start, possibly after whitespace, enters reasoning (the whitespace
// is
//   dropped); anything else makes the whole output content, verbatim (a later "<think>" is plain content).
// - "</think>" closes the reasoning; one thought per output. Text after it is content.
// - Whitespace is trimmed at the edges of the thought and at the start of the content after it (reasoning
//   "<think>\nA\n</think>\n\nB" -> reasoning "A", content "B"): leading whitespace is dropped, and a trailing
//   run of whitespace inside the thought is held back until non-whitespace follows (then it is emitted) or
//   the tag closes (then it is dropped). Whitespace here is ASCII space, \t, \n, \r, \v, \f.
// - A partial tag split across deltas ("</thi" + "nk>") is held back and never leaks into either stream; if
// the
//   output ends with it (flush), it is emitted as the text it is.
// - No closing tag: everything stays reasoning (flush() emits what is held back).
// Output splits only at tag and ASCII-whitespace boundaries, so whole UTF-8 characters in give whole
// characters out.
#pragma once

#include <string>
#include <string_view>

namespace r1 {

struct ReasoningDelta {
    std::string reasoning;
    std::string content;
    bool empty() const { return reasoning.empty() && content.empty(); }
};

class ReasoningSplitter {
  public:
    explicit ReasoningSplitter(bool starts_in_reasoning);

    ReasoningDelta push(std::string_view text);
    // End of the output: emits what is held back (see the rules above). The splitter is finished afterwards.
    ReasoningDelta flush();
    // Reasoning budget spent: the engine is about to force the thought closed (it injects "</think>" tokens
    // into the model's context). Emits the held-back reasoning and switches to content. The engine should
    // then push() the injected text as usual: a "</think>" (with whitespace around it) right after this call
    // is recognised and dropped, so both streams stay clean whether or not the engine pushes it. No effect
    // when not in reasoning.
    ReasoningDelta close_reasoning();

    // True while the text pushed so far is (or, at the forced-open start, will be) reasoning.
    bool in_reasoning() const { return state_ == State::ReasoningStart || state_ == State::Reasoning; }

    static constexpr std::string_view kOpenTag = "<think>";
    static constexpr std::string_view kCloseTag = "</think>";

  private:
    enum class State {
        Start,             // undecided: leading whitespace, maybe a partial "<think>"
        ReasoningStart,    // inside the thought, before its first non-whitespace byte
        Reasoning,         // inside the thought
        AfterForcedClose,  // close_reasoning() was called: drop whitespace and one "</think>"
        ContentStart,      // after "</think>", before the first non-whitespace byte
        Content,           // everything is content
    };
    void step(ReasoningDelta& out);  // consumes pending_ as far as the state machine can decide

    State state_;
    bool drop_stray_open_;  // forced open: a leading "<think>" is dropped
    std::string pending_;   // bytes not yet assigned to a stream
};

}  // namespace r1
