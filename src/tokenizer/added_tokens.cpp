// Added-token trie (see added_tokens.h).
#include "tokenizer/added_tokens.h"

namespace r1 {

void AddedTokenMatcher::add(std::string_view text, Entry entry) {
    if (text.empty()) return;
    int32_t node = 0;
    for (char ch : text) {
        const auto byte = static_cast<unsigned char>(ch);
        int32_t next = child(node, byte);
        if (next < 0) {
            next = static_cast<int32_t>(nodes_.size());
            nodes_.push_back(Node{});
            edges_.emplace((static_cast<uint64_t>(node) << 8) | byte, next);
        }
        node = next;
    }
    nodes_[node].entry = entry;
    first_bytes_.set(static_cast<unsigned char>(text[0]));
}

std::optional<AddedTokenMatcher::Match> AddedTokenMatcher::find(std::string_view text, size_t from,
                                                                bool parse_special, bool normalized) const {
    for (size_t p = from; p < text.size(); ++p) {
        if (!first_bytes_.test(static_cast<unsigned char>(text[p]))) continue;
        Match best;
        int32_t node = 0;
        for (size_t q = p; q < text.size(); ++q) {
            node = child(node, static_cast<unsigned char>(text[q]));
            if (node < 0) break;
            const Entry& e = nodes_[node].entry;
            if (e.id >= 0 && e.normalized == normalized && (parse_special || !e.control))
                best = {p, q + 1 - p, e.id};
        }
        if (best.id >= 0) return best;
    }
    return std::nullopt;
}

}  // namespace r1
