// Streaming <think> ... </think> splitter: a small state machine over a held-back byte buffer (reasoning.h).
#include "engine/reasoning.h"

#include <algorithm>

namespace r1 {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

size_t count_leading_space(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && is_space(s[i])) ++i;
    return i;
}

// Length of the longest suffix of s that is a proper prefix of tag (a tag that may still complete).
size_t partial_tag_suffix(std::string_view s, std::string_view tag) {
    for (size_t k = std::min(s.size(), tag.size() - 1); k > 0; --k) {
        if (tag.substr(0, k) == s.substr(s.size() - k)) return k;
    }
    return 0;
}

// s (non-empty) is a proper prefix of tag: undecided until more bytes come.
bool is_partial(std::string_view s, std::string_view tag) {
    return s.size() < tag.size() && tag.substr(0, s.size()) == s;
}

std::string_view rtrim_space(std::string_view s) {
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace

ReasoningSplitter::ReasoningSplitter(bool starts_in_reasoning)
    : state_(starts_in_reasoning ? State::ReasoningStart : State::Start),
      drop_stray_open_(starts_in_reasoning) {}

ReasoningDelta ReasoningSplitter::push(std::string_view text) {
    ReasoningDelta out;
    if (state_ == State::Content) {  // the common case after the thought: no buffering at all
        out.content.assign(text);
        return out;
    }
    pending_.append(text);
    step(out);
    return out;
}

void ReasoningSplitter::step(ReasoningDelta& out) {
    for (;;) {
        std::string_view p = pending_;
        switch (state_) {
            case State::Start: {
                size_t ws = count_leading_space(p);
                std::string_view rest = p.substr(ws);
                if (rest.empty() || is_partial(rest, kOpenTag)) return;  // undecided
                if (rest.substr(0, kOpenTag.size()) == kOpenTag) {
                    pending_.erase(0, ws + kOpenTag.size());
                    state_ = State::ReasoningStart;
                    drop_stray_open_ = false;
                    continue;
                }
                out.content += pending_;  // no thought: everything is content, verbatim
                pending_.clear();
                state_ = State::Content;
                return;
            }
            case State::ReasoningStart: {
                size_t ws = count_leading_space(p);
                std::string_view rest = p.substr(ws);
                if (rest.empty()) {
                    pending_.clear();  // leading whitespace of the thought is dropped
                    return;
                }
                if (drop_stray_open_) {
                    if (is_partial(rest, kOpenTag)) return;
                    if (rest.substr(0, kOpenTag.size()) == kOpenTag) {
                        pending_.erase(0, ws + kOpenTag.size());
                        drop_stray_open_ = false;
                        continue;
                    }
                }
                drop_stray_open_ = false;
                pending_.erase(0, ws);
                state_ = State::Reasoning;
                continue;
            }
            case State::Reasoning: {
                size_t close = p.find(kCloseTag);
                if (close != std::string_view::npos) {
                    out.reasoning += rtrim_space(p.substr(0, close));
                    pending_.erase(0, close + kCloseTag.size());
                    state_ = State::ContentStart;
                    continue;
                }
                // Hold back a partial closing tag and the whitespace run before it (dropped if the tag
                // follows).
                size_t keep = p.size() - partial_tag_suffix(p, kCloseTag);
                while (keep > 0 && is_space(p[keep - 1])) --keep;
                out.reasoning.append(p.substr(0, keep));
                pending_.erase(0, keep);
                return;
            }
            case State::AfterForcedClose: {
                size_t ws = count_leading_space(p);
                std::string_view rest = p.substr(ws);
                if (rest.empty() || is_partial(rest, kCloseTag)) return;
                if (rest.substr(0, kCloseTag.size()) == kCloseTag) {
                    pending_.erase(0, ws + kCloseTag.size());
                } else {
                    pending_.erase(0, ws);
                }
                state_ = State::ContentStart;
                continue;
            }
            case State::ContentStart: {
                size_t ws = count_leading_space(p);
                pending_.erase(0, ws);
                if (pending_.empty()) return;
                state_ = State::Content;
                continue;
            }
            case State::Content:
                out.content += pending_;
                pending_.clear();
                return;
        }
    }
}

ReasoningDelta ReasoningSplitter::flush() {
    ReasoningDelta out;
    switch (state_) {
        case State::Start:  // whitespace and/or an unfinished "<think>": plain text after all
            out.content = std::move(pending_);
            break;
        case State::AfterForcedClose:  // the answer's leading whitespace is dropped as after "</think>"
            out.content.assign(std::string_view(pending_).substr(count_leading_space(pending_)));
            break;
        case State::ReasoningStart:
        case State::Reasoning:
            out.reasoning.assign(
                rtrim_space(std::string_view(pending_).substr(count_leading_space(pending_))));
            break;
        case State::ContentStart:
        case State::Content:
            break;  // only dropped whitespace can be pending
    }
    pending_.clear();
    state_ = State::Content;
    return out;
}

ReasoningDelta ReasoningSplitter::close_reasoning() {
    ReasoningDelta out;
    if (!in_reasoning()) return out;
    std::string_view p = pending_;  // as in flush(): the held-back text is reasoning
    out.reasoning.assign(rtrim_space(p.substr(count_leading_space(p))));
    pending_.clear();
    state_ = State::AfterForcedClose;
    return out;
}

}  // namespace r1
