// Reasoning budget and loop detection (reasoning_monitor.h).
#include "server/reasoning_monitor.h"

#include <algorithm>

namespace r1 {

const char* reasoning_close_name(ReasoningClose c) {
    switch (c) {
        case ReasoningClose::None:
            return nullptr;
        case ReasoningClose::Model:
            return "model";
        case ReasoningClose::Budget:
            return "budget";
        case ReasoningClose::Loop:
            return "loop";
        case ReasoningClose::Disabled:
            return "disabled";
    }
    return nullptr;
}

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

bool ends_sentence(std::string_view text, std::string_view prev) {
    if (text.find('\n') != std::string_view::npos) return true;
    std::string_view s = text;
    // Trailing spaces, then closing quotes and brackets (ASCII and the common typographic ones).
    for (bool changed = true; changed && !s.empty();) {
        changed = false;
        const char c = s.back();
        if (c == ' ' || c == '\t' || c == '"' || c == '\'' || c == ')' || c == ']' || c == '*') {
            s.remove_suffix(1);
            changed = true;
        }
        for (std::string_view close : {"\u201d", "\u2019", "\u300d", "\uff09"}) {
            if (ends_with(s, close)) {
                s.remove_suffix(close.size());
                changed = true;
            }
        }
    }
    if (s.empty()) return false;
    const char last = s.back();
    if (last == '.' || last == '!' || last == '?') {
        // "3" "." "14": a point after a digit is a decimal point more often than a sentence end.
        if (s == "." && !prev.empty() && prev.back() >= '0' && prev.back() <= '9') return false;
        return true;
    }
    for (std::string_view stop : {"\u3002", "\uff01", "\uff1f", "\u2026"})  // 。 ！ ？ …
        if (ends_with(s, stop)) return true;
    return false;
}

ReasoningMonitor::ReasoningMonitor(const ReasoningLimits& limits) : limits_(limits) {
    if (limits_.loop_ngram < 1) limits_.loop_ngram = 1;
    if (limits_.loop_repeats < 2) limits_.loop_repeats = 2;
    limits_.loop_window = std::max(limits_.loop_window, limits_.loop_ngram * limits_.loop_repeats);
    recent_.reserve(static_cast<size_t>(limits_.loop_window) + 1);
}

bool ReasoningMonitor::looping() const {
    const size_t n = static_cast<size_t>(limits_.loop_ngram);
    if (recent_.size() < n) return false;
    const int32_t* tail = recent_.data() + recent_.size() - n;
    int count = 0;
    for (size_t i = 0; i + n <= recent_.size(); i++) {
        if (recent_[i] == tail[0] && std::equal(tail, tail + n, recent_.data() + i)) {
            if (++count >= limits_.loop_repeats) return true;
        }
    }
    return false;
}

ReasoningClose ReasoningMonitor::observe(int32_t token, std::string_view text) {
    n_tokens_++;
    if (limits_.detect_loops) {
        if (recent_.size() == static_cast<size_t>(limits_.loop_window)) recent_.erase(recent_.begin());
        recent_.push_back(token);
    }
    ReasoningClose verdict = ReasoningClose::None;
    if (limits_.budget >= 0 && n_tokens_ >= limits_.budget) {
        if (ends_sentence(text, prev_text_) || n_tokens_ >= limits_.budget + limits_.budget_grace)
            verdict = ReasoningClose::Budget;
    }
    if (verdict == ReasoningClose::None && limits_.detect_loops && looping()) verdict = ReasoningClose::Loop;
    prev_text_.assign(text);
    return verdict;
}

}  // namespace r1
