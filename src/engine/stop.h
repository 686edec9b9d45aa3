// Stop strings over a text stream: text that is safe to show now, and whether a stop string has appeared.
// The longest tail that could still grow into a stop string is held back; on a match only the text before the
// stop string is emitted. Which match: the one that completes first in the byte stream (earliest end; on a
// tie the longer one, which starts earlier), so the result does not depend on how the text was cut into
// pushes. Matching is byte-wise; for valid UTF-8 in and valid UTF-8 stop strings, emitted text always ends on
// a character boundary (a held tail starts with a stop string's first byte, a lead byte).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace r1 {

class StopMatcher {
  public:
    struct Result {
        std::string text;      // safe to emit now
        bool matched = false;  // a stop string was found: generation should end, text is the last of it
        int stop_index = -1;   // index in the constructor's list of the string that matched
    };

    // Empty strings in stops are ignored (they would match before any output).
    explicit StopMatcher(std::vector<std::string> stops);

    Result push(std::string_view text);
    // Generation ended for another reason (EOS, length): push(last) (e.g. the stream decoder's own flush),
    // then the held-back tail is plain text after all. Returns all text still to emit; stop strings are still
    // honoured (a match in `last` cuts the text there, matched() turns true).
    std::string flush(std::string_view last = {});
    void reset();  // forget held text and any match; same stop strings

    bool matched() const { return matched_; }
    bool empty() const { return stops_.empty(); }  // no stop strings: push() passes text straight through
    const std::vector<std::string>& stops() const { return stops_; }

  private:
    std::vector<std::string> stops_;
    std::vector<int> original_index_;  // stops_[i] was stops[original_index_[i]] (empty strings dropped)
    size_t max_len_ = 0;
    std::string pending_;
    bool matched_ = false;
};

}  // namespace r1
