// Reasoning control for one generation: decides when the engine should force the thought closed.
//
//   budget  once `budget` reasoning tokens have been generated, the thought is closed at the next sentence
//   end
//           (a token ending in . ! ? or their CJK forms, possibly followed by closing quotes/brackets, or a
//           token holding a line break), so the thought ends on a whole sentence; if no sentence end comes
//           within `budget_grace` more tokens, it is closed there anyway.
//   loops   the last `loop_ngram` reasoning tokens occur at least `loop_repeats` times within the last
//           `loop_window` reasoning tokens (a repeated n-gram: the model is cycling). Checked every token.
// The engine feeds every token generated while the thought is open; when observe() returns a reason, it
// injects the closing tag ("\n</think>\n\n") into the model's context and lets the model answer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace r1 {

// Why the thought ended. None: it did not (no reasoning, or generation stopped inside it).
enum class ReasoningClose { None, Model, Budget, Loop, Disabled };
// "model" | "budget" | "loop" | "disabled"; nullptr for None (the API shows null).
const char* reasoning_close_name(ReasoningClose c);

struct ReasoningLimits {
    int64_t budget = -1;        // reasoning tokens before closing at the next sentence end; -1: unlimited
    int64_t budget_grace = 64;  // tokens past the budget to wait for a sentence end
    bool detect_loops = true;
    int loop_ngram = 10;     // n-gram length in tokens
    int loop_repeats = 4;    // occurrences of the last n-gram that make a loop
    int loop_window = 1024;  // recent reasoning tokens searched
};

// True if a token's text ends a sentence: a line break anywhere in it, or terminal punctuation at its end
// (before closing quotes/brackets and spaces). A lone "." right after a digit ("3" "." "14") is not one.
bool ends_sentence(std::string_view token_text, std::string_view previous_token_text);

class ReasoningMonitor {
  public:
    explicit ReasoningMonitor(const ReasoningLimits& limits);

    // One token generated inside the thought, with its text (bytes; may be part of a UTF-8 character).
    // Returns Budget or Loop when the thought should be closed now, else None.
    ReasoningClose observe(int32_t token, std::string_view text);
    int64_t n_tokens() const { return n_tokens_; }

  private:
    bool looping() const;

    ReasoningLimits limits_;
    int64_t n_tokens_ = 0;
    std::vector<int32_t> recent_;  // the last loop_window reasoning tokens (a sliding window)
    std::string prev_text_;        // the previous token's text (the digit rule of ends_sentence)
};

}  // namespace r1
