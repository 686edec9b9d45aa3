// Request fields shared by the OpenAI and Ollama routes -> GenRequest pieces: sampling values, the thinking
// switch and reasoning budget, logit bias; and GenStats -> the usage/timing objects of the responses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/api_util.h"
#include "server/scheduler.h"

namespace r1 {

// Thinking on/off, budget and loop detection, from (OpenAI) `thinking: {"type": "enabled"|"disabled",
// "budget_tokens": N}`, `reasoning_budget: N`, `chat_template_kwargs: {"enable_thinking": bool}`,
// `reasoning_loop_detection: bool`, or (Ollama) `think: bool|"low"|"medium"|"high"`, `reasoning_budget`,
// `options.reasoning_budget`. A budget of 0 disables thinking (the answer starts at once).
struct ThinkingChoice {
    bool enabled = true;
    int64_t budget = -1;  // -1: unlimited
    bool detect_loops = true;
};
ThinkingChoice openai_thinking(const json& body, int64_t default_budget, bool default_loops);
ThinkingChoice ollama_thinking(const json& body, int64_t default_budget, bool default_loops);

// `logit_bias`: {"token id": bias in [-100, 100], ...} (OpenAI's shape; keys are decimal token ids).
std::vector<std::pair<int32_t, float>> parse_logit_bias(const json& body, const char* key,
                                                        const std::string& where);

// Fills the shared GenRequest fields from a chat's ThinkingChoice.
void apply_thinking(GenRequest& req, const ThinkingChoice& t, bool thinking_capable,
                    bool starts_in_reasoning);

// OpenAI-style usage {prompt_tokens, completion_tokens, total_tokens, prompt_tokens_details.cached_tokens,
// completion_tokens_details.reasoning_tokens, prompt_cache_hit_tokens, prompt_cache_miss_tokens}.
json usage_json(const GenStats& s);
// llama.cpp-style timings {queued_ms, prompt_n, prompt_ms, predicted_n, predicted_ms, predicted_per_second}.
json timings_json(const GenStats& s);

// A new response id: prefix + 24 hex digits.
std::string new_id(const char* prefix);

}  // namespace r1
