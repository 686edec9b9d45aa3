// Checkpoint: one safetensors file, or the shards listed by a Hugging Face `model.safetensors.index.json`
//   { "metadata": {"total_size": n}, "weight_map": { "<tensor>": "model-00001-of-00002.safetensors", ... } }
// Every shard is mapped once; every tensor the index names must be in the shard it names. Shard names are
// paths relative to the checkpoint directory and may not leave it (absolute paths and ".." are rejected).
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/log.h"
#include "formats/safetensors.h"

namespace r1::safetensors {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kIndexName = "model.safetensors.index.json";

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_dir(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_file(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::vector<std::string> files_ending_with(const std::string& dir, const std::string& suffix) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::string name = e.path().filename().string();
        if (ends_with(name, suffix) && is_file(e.path().string())) out.push_back(name);
    }
    if (ec) fail("cannot list directory '%s': %s", dir.c_str(), ec.message().c_str());
    std::sort(out.begin(), out.end());
    return out;
}

// Shard names come from a file; they must stay inside the checkpoint directory.
void check_shard_name(const std::string& index, const std::string& tensor, const std::string& shard) {
    if (shard.empty()) fail("%s: tensor '%s' has an empty shard name", index.c_str(), tensor.c_str());
    fs::path p(shard);
    bool escapes = p.is_absolute() || shard.find('\0') != std::string::npos;
    for (const auto& part : p)
        if (part == "..") escapes = true;
    if (escapes)
        fail(
            "%s: tensor '%s' names shard '%s', which is outside the checkpoint directory (shard names must "
            "be "
            "relative paths without '..')",
            index.c_str(), tensor.c_str(), shard.c_str());
}

}  // namespace

std::unique_ptr<Checkpoint> Checkpoint::open(const std::string& path) {
    auto ck = std::make_unique<Checkpoint>();
    std::string index;
    if (is_dir(path)) {
        ck->dir_ = path;
        std::string candidate = (fs::path(path) / kIndexName).string();
        if (is_file(candidate)) {
            index = candidate;
        } else {
            std::vector<std::string> indexes = files_ending_with(path, ".safetensors.index.json");
            std::vector<std::string> files = files_ending_with(path, ".safetensors");
            if (indexes.size() == 1) {
                index = (fs::path(path) / indexes[0]).string();
            } else if (files.size() == 1) {
                ck->shards_.push_back(File::open((fs::path(path) / files[0]).string()));
            } else if (files.empty()) {
                fail("'%s' has no .safetensors file (expected model.safetensors or %s)", path.c_str(),
                     kIndexName);
            } else {
                fail("'%s' has %zu .safetensors files but no %s to say which tensor is in which",
                     path.c_str(), files.size(), kIndexName);
            }
        }
    } else if (ends_with(path, ".index.json")) {
        index = path;
        ck->dir_ = fs::path(path).parent_path().string();
    } else {
        ck->shards_.push_back(File::open(path));
        ck->dir_ = fs::path(path).parent_path().string();
    }
    if (ck->dir_.empty()) ck->dir_.assign(1, '.');  // (not `= "."`: g++ 12 warns falsely, bug 105329)

    if (index.empty()) {
        for (const TensorRef& t : ck->shards_[0]->tensors()) ck->by_name_.emplace(t.name, &t);
        return ck;
    }

    ck->index_path_ = index;
    json j = json::parse(read_file(index), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) fail("%s: not valid JSON", index.c_str());
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
        fail("%s: expected an object with a \"weight_map\" object (tensor name -> shard file)",
             index.c_str());
    const json& weight_map = j["weight_map"];
    if (weight_map.empty()) fail("%s: \"weight_map\" is empty", index.c_str());

    // Validate every entry first, then open the shards in name order (model-00001-of-N first).
    std::map<std::string, size_t> shard_index;  // shard name -> position in shards_
    for (const auto& [tensor, shard_json] : weight_map.items()) {
        if (!shard_json.is_string())
            fail("%s: weight_map entry for '%s' is JSON %s, expected a shard file name", index.c_str(),
                 tensor.c_str(), shard_json.type_name());
        const std::string& shard = shard_json.get_ref<const std::string&>();
        check_shard_name(index, tensor, shard);
        if (shard_index.count(shard)) continue;
        std::string shard_path = (fs::path(ck->dir_) / shard).string();
        if (!is_file(shard_path))
            fail("%s: shard '%s' (for tensor '%s') does not exist in '%s'", index.c_str(), shard.c_str(),
                 tensor.c_str(), ck->dir_.c_str());
        shard_index.emplace(shard, 0);
    }
    for (auto& [shard, position] : shard_index) {
        position = ck->shards_.size();
        ck->shards_.push_back(File::open((fs::path(ck->dir_) / shard).string()));
    }
    for (const auto& [tensor, shard_json] : weight_map.items()) {
        const std::string& shard = shard_json.get_ref<const std::string&>();
        const TensorRef* t = ck->shards_[shard_index.at(shard)]->find_tensor(tensor);
        if (!t)
            fail("%s: tensor '%s' should be in shard '%s', but that file has no such tensor", index.c_str(),
                 tensor.c_str(), shard.c_str());
        ck->by_name_.emplace(tensor, t);
    }
    for (const auto& file : ck->shards_) {
        size_t unlisted = 0;
        for (const TensorRef& t : file->tensors())
            if (!ck->by_name_.count(t.name)) unlisted++;
        if (unlisted)
            R1_LOG_WARN("%s: %zu tensors in '%s' are not in the index and are ignored", index.c_str(),
                        unlisted, file->path().c_str());
    }
    return ck;
}

const TensorRef* Checkpoint::find_tensor(std::string_view name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
}

std::vector<const TensorRef*> Checkpoint::tensors() const {
    std::vector<const TensorRef*> out;
    out.reserve(by_name_.size());
    for (const auto& [name, t] : by_name_) out.push_back(t);
    return out;
}

const File& Checkpoint::shard_of(const TensorRef* t) const {
    std::less<const TensorRef*> before;
    for (const auto& file : shards_) {
        const auto& ts = file->tensors();
        if (!ts.empty() && !before(t, &ts.front()) && !before(&ts.back(), t)) return *file;
    }
    assert_failed(__FILE__, __LINE__, "shard_of(t)", "tensor '%s' does not belong to this checkpoint",
                  t->name.c_str());
}

}  // namespace r1::safetensors
