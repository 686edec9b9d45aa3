// OpenAI / DeepSeek API: POST /v1/chat/completions, POST /v1/completions, GET /v1/models[/{id}] (also without
// the /v1 prefix, as DeepSeek serves them).
//
// Chat responses carry the thought in message.reasoning_content apart from message.content; streaming (SSE)
// sends a role chunk, then delta.reasoning_content chunks, then delta.content chunks, a final chunk with
// finish_reason, an optional usage chunk (stream_options.include_usage) and "data: [DONE]". Each choice also
// says why the thought ended: reasoning_closed_by = "model" | "budget" | "loop" | "disabled" | null.
#include <memory>

#include "base/error.h"
#include "server/request_options.h"
#include "server/server_impl.h"

namespace r1 {
namespace {

constexpr size_t kMaxStops = 16;

// Sampling fields common to chat and completions. OpenAI ranges: temperature [0, 2], penalties [-2, 2].
void parse_sampling(const json& b, GenRequest& req, int64_t default_max_tokens) {
    SamplingParams& sp = req.sampling;
    if (auto v = get_number(b, "temperature")) {
        if (*v < 0 || *v > 2) bad_field("temperature", "'temperature' must be in [0, 2]");
        sp.temperature = static_cast<float>(*v);
    }
    if (auto v = get_number(b, "top_p")) {
        if (*v <= 0 || *v > 1) bad_field("top_p", "'top_p' must be in (0, 1]");
        sp.top_p = static_cast<float>(*v);
    }
    if (auto v = get_int(b, "top_k")) {
        if (*v < 0) bad_field("top_k", "'top_k' must be >= 0");
        sp.top_k = static_cast<int>(std::min<int64_t>(*v, 1 << 30));
    }
    if (auto v = get_number(b, "min_p")) {
        if (*v < 0 || *v > 1) bad_field("min_p", "'min_p' must be in [0, 1]");
        sp.min_p = static_cast<float>(*v);
    }
    if (auto v = get_number(b, "presence_penalty")) {
        if (*v < -2 || *v > 2) bad_field("presence_penalty", "'presence_penalty' must be in [-2, 2]");
        sp.presence_penalty = static_cast<float>(*v);
    }
    if (auto v = get_number(b, "frequency_penalty")) {
        if (*v < -2 || *v > 2) bad_field("frequency_penalty", "'frequency_penalty' must be in [-2, 2]");
        sp.frequency_penalty = static_cast<float>(*v);
    }
    if (auto v = get_number(b, "repeat_penalty")) {
        if (*v <= 0) bad_field("repeat_penalty", "'repeat_penalty' must be > 0");
        sp.repeat_penalty = static_cast<float>(*v);
    }
    if (auto v = get_int(b, "seed")) sp.seed = static_cast<uint64_t>(*v);
    std::optional<int64_t> max_tokens = get_int(b, "max_completion_tokens");
    const char* max_name = "max_completion_tokens";
    if (!max_tokens) max_tokens = get_int(b, "max_tokens"), max_name = "max_tokens";
    if (max_tokens) {
        if (*max_tokens < 1)
            bad_field(max_name,
                      strfmt("'%s' must be at least 1, got %lld", max_name, (long long)*max_tokens));
        req.max_tokens = *max_tokens;
    } else {
        req.max_tokens = default_max_tokens;
    }
    req.stop = get_string_or_list(b, "stop", kMaxStops);
    req.logit_bias = parse_logit_bias(b, "logit_bias", "");
    if (auto n = get_int(b, "n"); n && *n != 1) bad_field("n", "only n = 1 is supported");
    if (auto lp = get_bool(b, "logprobs"); lp && *lp)
        bad_field("logprobs", "logprobs are not supported by this server");
    if (auto v = get_int(b, "top_logprobs"); v && *v > 0)
        bad_field("top_logprobs", "logprobs are not supported by this server");
}

bool stream_flag(const json& b, bool* include_usage) {
    const bool stream = get_bool(b, "stream").value_or(false);
    *include_usage = false;
    if (auto it = b.find("stream_options"); it != b.end() && !it->is_null()) {
        if (!it->is_object()) bad_field("stream_options", "'stream_options' must be an object");
        *include_usage = get_bool(*it, "include_usage", "stream_options.").value_or(false);
    }
    return stream;
}

json closed_by(const GenStats& s) {
    const char* n = reasoning_close_name(s.reasoning_closed);
    return n ? json(n) : json(nullptr);
}

std::string sse(const json& j) {
    return "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

// Chat (chat=true) and text completions, streamed (SSE) or as one JSON body.
class OpenAIFormatter : public EventFormatter {
  public:
    OpenAIFormatter(bool chat, bool stream, bool include_usage, std::string model)
        : chat_(chat), stream_(stream), include_usage_(include_usage), model_(std::move(model)) {
        id_ = new_id(chat ? "chatcmpl-" : "cmpl-");
        created_ = unix_now();
    }
    const char* content_type() const override { return stream_ ? "text/event-stream" : "application/json"; }
    std::string heartbeat() const override { return stream_ ? ": keep-alive\n\n" : " "; }

    std::string begin() override {
        if (!stream_ || !chat_) return {};
        return sse(chunk(json{{"role", "assistant"}, {"content", nullptr}}, nullptr));
    }

    std::string delta(const std::string& reasoning, const std::string& content) override {
        if (!stream_) {
            reasoning_ += reasoning;
            content_ += content;
            return {};
        }
        std::string out;
        if (!chat_) {  // completions have no thought: everything is text
            if (!reasoning.empty()) out += sse(chunk(json(reasoning), nullptr));
            if (!content.empty()) out += sse(chunk(json(content), nullptr));
            return out;
        }
        if (!reasoning.empty())
            out += sse(chunk(json{{"reasoning_content", reasoning}, {"content", nullptr}}, nullptr));
        if (!content.empty())
            out += sse(chunk(json{{"content", content}, {"reasoning_content", nullptr}}, nullptr));
        return out;
    }

    std::string done(const GenStats& s) override {
        const char* finish = gen_finish_name(s.finish);
        if (!stream_) {
            json choice{{"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish}};
            if (chat_) {
                choice["message"] =
                    json{{"role", "assistant"},
                         {"content", content_},
                         {"reasoning_content", reasoning_.empty() ? json(nullptr) : json(reasoning_)}};
                choice["reasoning_closed_by"] = closed_by(s);
            } else {
                choice["text"] = reasoning_ + content_;
            }
            json j{{"id", id_},
                   {"object", chat_ ? "chat.completion" : "text_completion"},
                   {"created", created_},
                   {"model", model_},
                   {"system_fingerprint", "r1.cpp"},
                   {"choices", json::array({choice})},
                   {"usage", usage_json(s)},
                   {"timings", timings_json(s)}};
            return j.dump(-1, ' ', false, json::error_handler_t::replace);
        }
        json last = chunk(chat_ ? json::object() : json(""), finish);
        if (chat_) last["choices"][0]["reasoning_closed_by"] = closed_by(s);
        last["timings"] = timings_json(s);
        std::string out = sse(last);
        if (include_usage_) {
            json u = chunk(nullptr, nullptr);
            u["choices"] = json::array();
            u["usage"] = usage_json(s);
            out += sse(u);
        }
        return out + "data: [DONE]\n\n";
    }

    std::string error(const std::string& message) override {
        const json e = error_body(ApiStyle::OpenAI, 500, message, "server_error");
        return stream_ ? sse(e) + "data: [DONE]\n\n" : e.dump();
    }

  private:
    // One chunk; `payload` is the delta (chat) or the text (completions).
    json chunk(const json& payload, const char* finish) const {
        json choice{
            {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish ? json(finish) : json(nullptr)}};
        if (chat_)
            choice["delta"] = payload;
        else
            choice["text"] = payload;
        json j{{"id", id_},
               {"object", chat_ ? "chat.completion.chunk" : "text_completion"},
               {"created", created_},
               {"model", model_},
               {"system_fingerprint", "r1.cpp"},
               {"choices", json::array({choice})}};
        if (include_usage_) j["usage"] = nullptr;
        return j;
    }

    bool chat_, stream_, include_usage_;
    std::string model_, id_;
    int64_t created_;
    std::string reasoning_, content_;
};

std::vector<ChatMessage> parse_messages(const json& b) {
    auto it = b.find("messages");
    if (it == b.end() || it->is_null()) bad_field("messages", "'messages' is required");
    if (!it->is_array() || it->empty()) bad_field("messages", "'messages' must be a non-empty array");
    std::vector<ChatMessage> out;
    for (size_t i = 0; i < it->size(); i++) {
        const json& m = (*it)[i];
        const std::string where = strfmt("messages[%zu]", i);
        if (!m.is_object()) bad_field(where, strfmt("'%s' must be an object", where.c_str()));
        ChatMessage cm;
        cm.role = get_string(m, "role", where + ".").value_or("");
        if (cm.role == "developer") cm.role = "system";  // OpenAI's newer name for the system role
        if (cm.role != "system" && cm.role != "user" && cm.role != "assistant")
            bad_field(where + ".role",
                      strfmt("'%s.role' must be \"system\", \"user\" or \"assistant\" (tool calls are "
                             "not supported), got \"%s\"",
                             where.c_str(), cm.role.c_str()));
        cm.content = message_text(m.contains("content") ? m["content"] : json(nullptr), where + ".content");
        out.push_back(std::move(cm));
    }
    return out;
}

void reject_unsupported(const json& b) {
    if (auto it = b.find("tools"); it != b.end() && it->is_array() && !it->empty())
        bad_field("tools", "tool calls are not supported by this server");
    if (auto it = b.find("response_format"); it != b.end() && it->is_object()) {
        const std::string type = get_string(*it, "type", "response_format.").value_or("text");
        if (type != "text")
            bad_field("response_format", "only response_format {\"type\": \"text\"} is supported");
    }
}

}  // namespace

void Server::Impl::register_openai() {
    auto chat = [this](const httplib::Request& hreq, httplib::Response& res) {
        const json b = parse_body(hreq.body);
        check_model(b);
        reject_unsupported(b);
        GenRequest req;
        parse_sampling(b, req, opt.default_max_tokens);
        bool include_usage = false;
        const bool stream = stream_flag(b, &include_usage);
        const ThinkingChoice think = openai_thinking(b, opt.reasoning_budget, opt.loop_detection);
        const std::vector<ChatMessage> messages = parse_messages(b);
        bool starts = false;
        req.prompt = chat_prompt(messages, think.enabled, &starts);
        apply_thinking(req, think, thinking_capable, starts);
        auto ch = submit(std::move(req));
        send_generation(res, ch, std::make_shared<OpenAIFormatter>(true, stream, include_usage, info.name));
    };
    auto completions = [this](const httplib::Request& hreq, httplib::Response& res) {
        const json b = parse_body(hreq.body);
        check_model(b);
        GenRequest req;
        parse_sampling(b, req, opt.default_max_tokens);
        bool include_usage = false;
        const bool stream = stream_flag(b, &include_usage);
        if (auto e = get_bool(b, "echo"); e && *e) bad_field("echo", "echo is not supported");
        if (auto s = get_string(b, "suffix"); s && !s->empty())
            bad_field("suffix", "suffix is not supported");
        if (auto n = get_int(b, "best_of"); n && *n != 1)
            bad_field("best_of", "only best_of = 1 is supported");
        auto it = b.find("prompt");
        std::string prompt;
        if (it == b.end() || it->is_null()) bad_field("prompt", "'prompt' is required");
        if (it->is_string()) {
            prompt = it->get<std::string>();
        } else if (it->is_array() && it->size() == 1 && (*it)[0].is_string()) {
            prompt = (*it)[0].get<std::string>();
        } else {
            bad_field("prompt", "'prompt' must be a string (or an array of one string)");
        }
        req.prompt = text_prompt(prompt);
        req.split_reasoning = false;
        auto ch = submit(std::move(req));
        send_generation(res, ch, std::make_shared<OpenAIFormatter>(false, stream, include_usage, info.name));
    };
    auto model_obj = [this] {
        return json{{"id", info.name},
                    {"object", "model"},
                    {"created", info.modified},
                    {"owned_by", "r1.cpp"},
                    {"meta",
                     {{"n_ctx", opt.n_ctx},
                      {"n_params", info.n_params},
                      {"size", info.size},
                      {"n_vocab", model->config().n_vocab}}}};
    };
    auto models = [model_obj](const httplib::Request&, httplib::Response& res) {
        set_json(res, json{{"object", "list"}, {"data", json::array({model_obj()})}});
    };
    auto model_one = [this, model_obj](const httplib::Request& req, httplib::Response& res) {
        const std::string id = req.matches.size() > 1 ? std::string(req.matches[1]) : std::string();
        if (id != info.name)
            throw ApiError(
                404, strfmt("model '%s' not found; this server serves '%s'", id.c_str(), info.name.c_str()),
                "invalid_request_error", "model", "model_not_found");
        set_json(res, model_obj());
    };
    for (const char* prefix : {"/v1", ""}) {
        const std::string p = prefix;
        http.Post(p + "/chat/completions", api_route(*this, ApiStyle::OpenAI, "chat", chat));
        http.Post(p + "/completions", api_route(*this, ApiStyle::OpenAI, "completions", completions));
        http.Get(p + "/models", api_route(*this, ApiStyle::OpenAI, "models", models));
        http.Get(p + R"(/models/([^/]+))", api_route(*this, ApiStyle::OpenAI, "models", model_one));
    }
}

}  // namespace r1
