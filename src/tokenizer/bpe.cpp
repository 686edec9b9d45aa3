// BPE merging (see bpe.h) and the merge hash table.
#include "tokenizer/bpe.h"

#include <algorithm>

namespace r1 {

void MergeTable::reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    if (cap <= slots_.size()) return;
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    size_ = 0;
    for (const Slot& s : old)
        if (s.key != kEmpty) insert(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key), s.merge);
}

void MergeTable::grow() {
    reserve(std::max<size_t>(16, slots_.size()));
}

void MergeTable::insert(int32_t left, int32_t right, Merge m) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const uint64_t key = pack(left, right);
    for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
        Slot& s = slots_[i];
        if (s.key == key) {
            s.merge = m;
            return;
        }
        if (s.key == kEmpty) {
            s.key = key;
            s.merge = m;
            ++size_;
            return;
        }
    }
}

namespace {
// Min-heap order on (rank, pos): std heaps are max-heaps, so "less" means "comes out later".
bool later(const BpeScratch::Candidate& a, const BpeScratch::Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
}
}  // namespace

void BpeModel::encode(std::string_view piece, BpeScratch& scratch, std::vector<int32_t>& out) const {
    if (piece.empty()) return;
    if (ignore_merges && piece.size() > 1) {
        const auto it = token_of_bytes.find(std::string(piece));
        if (it != token_of_bytes.end()) {
            out.push_back(it->second);
            return;
        }
    }

    auto& sym = scratch.symbols;
    sym.clear();
    for (char c : piece) {
        const int32_t id = byte_token[static_cast<unsigned char>(c)];
        if (id < 0) continue;  // a byte the vocabulary lacks is dropped, as HF does without an unk token
        const auto pos = static_cast<int32_t>(sym.size());
        sym.push_back({id, pos - 1, pos + 1, true});
    }
    if (sym.empty()) return;
    sym.back().next = -1;
    if (sym.size() == 1) {
        out.push_back(sym[0].id);
        return;
    }

    auto& heap = scratch.heap;
    heap.clear();
    for (size_t i = 0; i + 1 < sym.size(); ++i) {
        if (const MergeTable::Merge* m = merges.find(sym[i].id, sym[i + 1].id))
            heap.push_back({m->rank, static_cast<int32_t>(i), m->result});
    }
    std::make_heap(heap.begin(), heap.end(), later);

    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), later);
        const BpeScratch::Candidate top = heap.back();
        heap.pop_back();
        BpeScratch::Symbol& left = sym[top.pos];
        if (!left.alive || left.next < 0) continue;
        BpeScratch::Symbol& right = sym[left.next];
        // Stale entry: the pair at this position changed since it was queued.
        const MergeTable::Merge* m = merges.find(left.id, right.id);
        if (m == nullptr || m->result != top.result) continue;

        left.id = top.result;
        right.alive = false;
        left.next = right.next;
        if (right.next >= 0) sym[right.next].prev = top.pos;

        if (left.prev >= 0) {
            if (const MergeTable::Merge* pm = merges.find(sym[left.prev].id, left.id)) {
                heap.push_back({pm->rank, left.prev, pm->result});
                std::push_heap(heap.begin(), heap.end(), later);
            }
        }
        if (left.next >= 0) {
            if (const MergeTable::Merge* nm = merges.find(left.id, sym[left.next].id)) {
                heap.push_back({nm->rank, top.pos, nm->result});
                std::push_heap(heap.begin(), heap.end(), later);
            }
        }
    }
    for (int32_t i = 0; i >= 0; i = sym[i].next) out.push_back(sym[i].id);
}

}  // namespace r1
