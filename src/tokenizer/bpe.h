// Byte-level BPE over one pre-token, as Hugging Face tokenizers' BPE model does it (models/bpe/word.rs
// merge_all): start from one symbol per byte, then repeatedly apply the merge with the lowest rank, the
// leftmost one among equal ranks, until no adjacent pair has a merge. With ignore_merges (Llama-3), a
// pre-token that is itself in the vocabulary is emitted whole first.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace r1 {

// Open-addressing hash map from a token pair (left id, right id) to its merge (rank, merged id).
class MergeTable {
  public:
    struct Merge {
        int32_t rank = -1;
        int32_t result = -1;
    };
    void reserve(size_t n);
    // Later entries for the same pair replace earlier ones (HF builds a HashMap from the merges list).
    void insert(int32_t left, int32_t right, Merge m);
    const Merge* find(int32_t left, int32_t right) const {
        if (mask_ == 0) return nullptr;
        const uint64_t key = pack(left, right);
        for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (s.key == key) return &s.merge;
            if (s.key == kEmpty) return nullptr;
        }
    }
    size_t size() const { return size_; }

  private:
    static constexpr uint64_t kEmpty = ~uint64_t{0};
    struct Slot {
        uint64_t key = kEmpty;
        Merge merge;
    };
    static uint64_t pack(int32_t l, int32_t r) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
    }
    static size_t hash(uint64_t k) {
        k ^= k >> 33;
        k *= 0xff51afd7ed558ccdULL;
        k ^= k >> 33;
        return static_cast<size_t>(k);
    }
    void grow();
    std::vector<Slot> slots_;
    size_t mask_ = 0;
    size_t size_ = 0;
};

struct BpeScratch {
    struct Symbol {
        int32_t id;
        int32_t prev, next;  // linked list over positions; -1 at the ends
        bool alive;
    };
    struct Candidate {
        int32_t rank, pos, result;
    };
    std::vector<Symbol> symbols;
    std::vector<Candidate> heap;
};

struct BpeModel {
    std::array<int32_t, 256> byte_token{};  // id of the token for each single byte, -1 if absent
    MergeTable merges;
    // Raw bytes -> id of every normal (byte-level) vocabulary token; used by ignore_merges.
    std::unordered_map<std::string, int32_t> token_of_bytes;
    bool ignore_merges = false;

    // Appends the ids of one pre-token (raw bytes) to out.
    void encode(std::string_view piece, BpeScratch& scratch, std::vector<int32_t>& out) const;
};

}  // namespace r1
