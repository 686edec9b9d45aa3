// Finds added/special tokens ("<｜User｜>", "<think>", "<|im_end|>") in text: the leftmost match, and the
// longest one there, as Hugging Face's AddedVocabulary does (Aho-Corasick, LeftmostLongest). A byte trie;
// the first byte of every token is kept in a bitmap so that ordinary text is skipped quickly.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace r1 {

class AddedTokenMatcher {
  public:
    struct Entry {
        int32_t id = -1;
        bool control = false;     // matched only when special parsing is on
        bool normalized = false;  // matched on normalised text (HF "normalized": true), else on the raw text
    };
    struct Match {
        size_t begin = 0, length = 0;
        int32_t id = -1;
    };

    void add(std::string_view text, Entry entry);
    bool empty() const { return nodes_.size() <= 1; }

    // The leftmost-longest match in text[from..] among tokens with entry.normalized == normalized (and no
    // control tokens unless parse_special).
    std::optional<Match> find(std::string_view text, size_t from, bool parse_special, bool normalized) const;

  private:
    struct Node {
        Entry entry;  // entry.id < 0: no token ends here
    };
    int32_t child(int32_t node, unsigned char byte) const {
        const auto it = edges_.find((static_cast<uint64_t>(node) << 8) | byte);
        return it == edges_.end() ? -1 : it->second;
    }
    std::vector<Node> nodes_{Node{}};
    std::unordered_map<uint64_t, int32_t> edges_;  // (node << 8 | byte) -> child node
    std::bitset<256> first_bytes_;
};

}  // namespace r1
