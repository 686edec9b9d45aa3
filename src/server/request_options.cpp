// Shared request fields and response pieces (request_options.h).
#include "server/request_options.h"

#include <atomic>
#include <cstdlib>
#include <random>

#include "base/error.h"

namespace r1 {
namespace {

int64_t checked_budget(const std::optional<int64_t>& b, const char* name) {
    if (!b) return -2;  // not given
    if (*b < -1)
        bad_field(name, strfmt("'%s' must be -1 (unlimited), 0 (no thinking) or a token count", name));
    return *b;
}

// A budget: 0 turns thinking off, N > 0 turns it on with that budget, -1 on without a limit; -2: not given.
void apply_budget(ThinkingChoice& t, int64_t b) {
    if (b == -2) return;
    t.enabled = b != 0;
    t.budget = b > 0 ? b : -1;
}

}  // namespace

// Order: the server's default budget, then the request's budgets, then its explicit on/off switches, which
// win.
ThinkingChoice openai_thinking(const json& body, int64_t default_budget, bool default_loops) {
    ThinkingChoice t;
    apply_budget(t, default_budget);
    t.detect_loops = default_loops;
    std::optional<bool> on;
    if (auto it = body.find("thinking"); it != body.end() && !it->is_null()) {
        if (!it->is_object())
            bad_field("thinking", "'thinking' must be an object like {\"type\": \"enabled\"}");
        const std::string type = get_string(*it, "type", "thinking.").value_or("enabled");
        if (type != "enabled" && type != "disabled")
            bad_field(
                "thinking.type",
                strfmt("'thinking.type' must be \"enabled\" or \"disabled\", got \"%s\"", type.c_str()));
        on = type == "enabled";
        apply_budget(t, checked_budget(get_int(*it, "budget_tokens", "thinking."), "thinking.budget_tokens"));
    }
    apply_budget(t, checked_budget(get_int(body, "reasoning_budget"), "reasoning_budget"));
    if (auto it = body.find("chat_template_kwargs"); it != body.end() && it->is_object())
        if (auto e = get_bool(*it, "enable_thinking", "chat_template_kwargs.")) on = *e;
    if (on) t.enabled = *on;
    if (auto l = get_bool(body, "reasoning_loop_detection")) t.detect_loops = *l;
    return t;
}

ThinkingChoice ollama_thinking(const json& body, int64_t default_budget, bool default_loops) {
    ThinkingChoice t;
    apply_budget(t, default_budget);
    t.detect_loops = default_loops;
    apply_budget(t, checked_budget(get_int(body, "reasoning_budget"), "reasoning_budget"));
    if (auto it = body.find("options"); it != body.end() && it->is_object()) {
        apply_budget(
            t, checked_budget(get_int(*it, "reasoning_budget", "options."), "options.reasoning_budget"));
        if (auto l = get_bool(*it, "reasoning_loop_detection", "options.")) t.detect_loops = *l;
    }
    if (auto it = body.find("think"); it != body.end() && !it->is_null()) {
        if (it->is_boolean()) {
            t.enabled = it->get<bool>();
        } else if (it->is_string()) {
            const std::string v = it->get<std::string>();
            if (v != "low" && v != "medium" && v != "high")
                bad_field("think",
                          strfmt("'think' must be true, false, \"low\", \"medium\" or \"high\", got \"%s\"",
                                 v.c_str()));
            t.enabled = true;  // one reasoning level: the model's own
        } else {
            bad_field("think", "'think' must be a boolean or \"low\" / \"medium\" / \"high\"");
        }
    }
    if (auto l = get_bool(body, "reasoning_loop_detection")) t.detect_loops = *l;
    return t;
}

std::vector<std::pair<int32_t, float>> parse_logit_bias(const json& body, const char* key,
                                                        const std::string& where) {
    std::vector<std::pair<int32_t, float>> out;
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return out;
    const std::string name = where + key;
    if (!it->is_object())
        bad_field(name, strfmt("'%s' must be an object {\"token id\": bias}", name.c_str()));
    if (it->size() > 1024) bad_field(name, strfmt("'%s' has more than 1024 entries", name.c_str()));
    for (const auto& [k, v] : it->items()) {
        char* end = nullptr;
        const long id = std::strtol(k.c_str(), &end, 10);
        if (k.empty() || *end != '\0' || id < 0 || id > INT32_MAX)
            bad_field(name, strfmt("'%s': key \"%s\" is not a token id", name.c_str(), k.c_str()));
        if (!v.is_number())
            bad_field(name, strfmt("'%s': the bias of token %s must be a number", name.c_str(), k.c_str()));
        const double b = v.get<double>();
        if (!(b >= -100.0 && b <= 100.0))
            bad_field(name,
                      strfmt("'%s': the bias of token %s must be in [-100, 100]", name.c_str(), k.c_str()));
        out.emplace_back(static_cast<int32_t>(id), static_cast<float>(b));
    }
    return out;
}

void apply_thinking(GenRequest& req, const ThinkingChoice& t, bool thinking_capable,
                    bool starts_in_reasoning) {
    req.split_reasoning = true;
    req.starts_in_reasoning = starts_in_reasoning;
    req.thinking_disabled = thinking_capable && !t.enabled;
    req.reasoning.budget = t.budget;
    req.reasoning.detect_loops = t.detect_loops;
}

json usage_json(const GenStats& s) {
    return json{{"prompt_tokens", s.n_prompt},
                {"completion_tokens", s.n_completion},
                {"total_tokens", s.n_prompt + s.n_completion},
                {"prompt_tokens_details", {{"cached_tokens", s.n_cached}}},
                {"completion_tokens_details", {{"reasoning_tokens", s.n_reasoning}}},
                {"prompt_cache_hit_tokens", s.n_cached},
                {"prompt_cache_miss_tokens", s.n_prompt - s.n_cached}};
}

json timings_json(const GenStats& s) {
    const double queued_ms = static_cast<double>(s.t_started_ns - s.t_queued_ns) * 1e-6;
    const double prompt_ms = static_cast<double>(s.t_prompt_done_ns - s.t_started_ns) * 1e-6;
    const double gen_ms = static_cast<double>(s.t_done_ns - s.t_prompt_done_ns) * 1e-6;
    return json{
        {"queued_ms", queued_ms},
        {"prompt_n", s.n_prompt - s.n_cached},
        {"prompt_ms", prompt_ms},
        {"predicted_n", s.n_completion},
        {"predicted_ms", gen_ms},
        {"predicted_per_second", gen_ms > 0 ? static_cast<double>(s.n_completion) * 1e3 / gen_ms : 0.0},
        {"slot", s.slot}};
}

std::string new_id(const char* prefix) {
    static std::atomic<uint64_t> counter{0};
    static const uint64_t salt = std::random_device{}() * 0x9E3779B97F4A7C15ull;
    const uint64_t n = counter.fetch_add(1);
    uint64_t x = (n + salt) * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 31;
    return strfmt("%s%016llx%08llx", prefix, static_cast<unsigned long long>(x),
                  static_cast<unsigned long long>(n & 0xffffffffull));
}

}  // namespace r1
