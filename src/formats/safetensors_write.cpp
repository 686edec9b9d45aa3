// safetensors writer. The header lists tensors in the order they were added; the data is written contiguously
// (as the reference loader requires: no gaps) ordered by element size, largest first, after a header padded
// with spaces to a multiple of 8 bytes, so every tensor starts aligned to its element size. Bytes are
// streamed into a temporary file renamed over the destination at the end.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/progress.h"
#include "formats/output_file.h"
#include "formats/safetensors.h"

namespace r1::safetensors {
namespace {

constexpr uint64_t kProgressMinBytes = 64ull << 20;

// JSON string literal; names that are not valid UTF-8 cannot be stored in the header.
std::string json_quote(const std::string& s, const char* what) {
    try {
        return nlohmann::json(s).dump();
    } catch (const nlohmann::json::exception&) {
        fail("safetensors writer: %s '%s' is not valid UTF-8", what, s.c_str());
    }
}

}  // namespace

void Writer::set_metadata(const std::string& key, const std::string& value) {
    metadata_[key] = value;
}

void Writer::add_tensor(const std::string& name, DType type, const std::vector<int64_t>& shape,
                        const void* data, size_t nbytes) {
    add(name, type, shape, data, nbytes, /*copy=*/true);
}

void Writer::add_tensor_view(const std::string& name, DType type, const std::vector<int64_t>& shape,
                             const void* data, size_t nbytes) {
    add(name, type, shape, data, nbytes, /*copy=*/false);
}

void Writer::add(const std::string& name, DType type, const std::vector<int64_t>& shape, const void* data,
                 size_t nbytes, bool copy) {
    if (name.empty()) fail("safetensors writer: tensor names must not be empty");
    if (name == "__metadata__")
        fail("safetensors writer: '__metadata__' is reserved and cannot name a tensor");
    if (!dtype_to_safetensors(type))
        fail("safetensors writer: tensor '%s' has type %s, which safetensors cannot store", name.c_str(),
             dtype_name(type));
    uint64_t numel = 1;
    for (int64_t d : shape) {
        if (d < 0)
            fail("safetensors writer: tensor '%s' has a negative dimension in %s", name.c_str(),
                 shape_str(shape).c_str());
        if (__builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel))
            fail("safetensors writer: tensor '%s' shape %s overflows", name.c_str(),
                 shape_str(shape).c_str());
    }
    uint64_t expected = 0;
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_info(type).block_bytes), &expected) ||
        expected != nbytes)
        fail("safetensors writer: tensor '%s' (%s, shape %s) needs %llu bytes but %zu were given",
             name.c_str(), dtype_to_safetensors(type), shape_str(shape).c_str(),
             static_cast<unsigned long long>(expected), nbytes);
    if (nbytes > 0 && !data) fail("safetensors writer: tensor '%s' has no data", name.c_str());
    if (!names_.insert(name).second) fail("safetensors writer: duplicate tensor name '%s'", name.c_str());

    Entry e;
    e.name = name;
    e.type = type;
    e.shape = shape;
    e.nbytes = nbytes;
    const uint8_t* p = static_cast<const uint8_t*>(data);
    if (copy)
        e.bytes.assign(p, p + nbytes);
    else
        e.view = p;
    entries_.push_back(std::move(e));
}

void Writer::write(const std::string& path) const {
    // Data order: element size descending (stable), so each tensor starts at a multiple of its element size.
    std::vector<size_t> order(entries_.size());
    for (size_t k = 0; k < order.size(); k++) order[k] = k;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return dtype_info(entries_[a].type).block_bytes > dtype_info(entries_[b].type).block_bytes;
    });
    std::vector<uint64_t> begin(entries_.size());
    uint64_t total = 0;
    for (size_t k : order) {
        begin[k] = total;
        total += entries_[k].nbytes;
    }

    std::string header = "{";
    if (!metadata_.empty()) {
        header += "\"__metadata__\":{";
        bool first = true;
        for (const auto& [k, v] : metadata_) {
            if (!first) header += ',';
            header += json_quote(k, "metadata key");
            header += ':';
            header += json_quote(v, "metadata value");
            first = false;
        }
        header += "}";
    }
    for (size_t k = 0; k < entries_.size(); k++) {
        const Entry& e = entries_[k];
        if (header.size() > 1) header += ",";
        header += json_quote(e.name, "tensor name") + ":{\"dtype\":\"" + dtype_to_safetensors(e.type) +
                  "\",\"shape\":[";
        for (size_t d = 0; d < e.shape.size(); d++) {
            if (d) header += ',';
            header += std::to_string(e.shape[d]);
        }
        header += "],\"data_offsets\":[" + std::to_string(begin[k]) + "," +
                  std::to_string(begin[k] + e.nbytes) + "]}";
    }
    header += "}";
    header.append((8 - header.size() % 8) % 8, ' ');  // 8 + N is then a multiple of 8

    AtomicOutputFile out(path);
    uint64_t n = header.size();
    out.write(&n, 8);
    out.write(header.data(), header.size());
    std::unique_ptr<ProgressBar> bar;
    if (total >= kProgressMinBytes)
        bar = std::make_unique<ProgressBar>("writing " + path, static_cast<int64_t>(total >> 20), "MiB");
    uint64_t done = 0;
    for (size_t k : order) {
        const Entry& e = entries_[k];
        const uint8_t* p = e.view ? e.view : e.bytes.data();
        constexpr size_t kSlice = 64u << 20;
        for (size_t at = 0; at < e.nbytes; at += kSlice) {
            size_t len = std::min(kSlice, e.nbytes - at);
            out.write(p + at, len);
            done += len;
            if (bar) bar->update(static_cast<int64_t>(done >> 20));
        }
    }
    out.commit();
    if (bar) bar->finish();
}

}  // namespace r1::safetensors
