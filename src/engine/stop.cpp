// Stop-string matching with a held-back tail (stop.h).
#include "engine/stop.h"

#include <algorithm>

namespace r1 {

StopMatcher::StopMatcher(std::vector<std::string> stops) {
    for (size_t i = 0; i < stops.size(); ++i) {
        if (stops[i].empty()) continue;
        max_len_ = std::max(max_len_, stops[i].size());
        stops_.push_back(std::move(stops[i]));
        original_index_.push_back(static_cast<int>(i));
    }
}

StopMatcher::Result StopMatcher::push(std::string_view text) {
    Result out;
    if (matched_) {
        out.matched = true;
        return out;
    }
    if (stops_.empty()) {
        out.text.assign(text);
        return out;
    }
    pending_.append(text);
    std::string_view p = pending_;

    // The match that ends first. The held tail never holds a whole stop string (it would have matched on the
    // previous push), so every occurrence found here ends inside the new text.
    size_t best_start = std::string_view::npos, best_end = std::string_view::npos;
    int best = -1;
    for (size_t i = 0; i < stops_.size(); ++i) {
        size_t pos = p.find(stops_[i]);
        if (pos == std::string_view::npos) continue;
        size_t end = pos + stops_[i].size();
        if (end < best_end || (end == best_end && pos < best_start)) {
            best_start = pos;
            best_end = end;
            best = static_cast<int>(i);
        }
    }
    if (best >= 0) {
        out.text.assign(p.substr(0, best_start));
        out.matched = true;
        out.stop_index = original_index_[best];
        matched_ = true;
        pending_.clear();
        return out;
    }

    // Hold back the longest tail that is a proper prefix of some stop string.
    size_t hold = 0;
    for (size_t k = std::min(p.size(), max_len_ - 1); k > 0 && hold == 0; --k) {
        std::string_view tail = p.substr(p.size() - k);
        for (const std::string& s : stops_) {
            if (s.size() > k && std::string_view(s).substr(0, k) == tail) {
                hold = k;
                break;
            }
        }
    }
    out.text.assign(p.substr(0, p.size() - hold));
    pending_.erase(0, p.size() - hold);
    return out;
}

std::string StopMatcher::flush(std::string_view last) {
    Result r = push(last);
    if (r.matched) return std::move(r.text);
    r.text += pending_;
    pending_.clear();
    return std::move(r.text);
}

void StopMatcher::reset() {
    pending_.clear();
    matched_ = false;
}

}  // namespace r1
