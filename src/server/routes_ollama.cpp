// Ollama API: POST /api/chat, POST /api/generate (newline-delimited JSON streaming by default, or one object
// with "stream": false), GET /api/tags, POST /api/show, GET /api/ps, GET /api/version.
//
// The thought goes to message.thinking (chat) / thinking (generate), the answer to message.content /
// response. The final object has done: true, done_reason ("stop" | "length"), the counts and the durations
// in NANOSECONDS (total_duration, load_duration = 0 since the model is loaded at startup,
// prompt_eval_count/_duration for the prompt tokens actually evaluated (cache hits excluded),
// eval_count/_duration), and r1's reasoning_closed_by.
#include <memory>

#include "base/error.h"
#include "base/timer.h"
#include "server/request_options.h"
#include "server/server_impl.h"

#ifndef R1_VERSION
#define R1_VERSION "0.0.0"
#endif

namespace r1 {
namespace {

// options: num_ctx, num_predict, temperature, top_k, top_p, min_p, seed, stop, repeat_penalty, repeat_last_n,
// presence_penalty, frequency_penalty (+ r1's logit_bias). Unknown options are ignored, as Ollama does.
void parse_options(const json& b, GenRequest& req, int64_t server_ctx, int64_t default_max_tokens) {
    req.max_tokens = default_max_tokens;
    auto it = b.find("options");
    if (it == b.end() || it->is_null()) return;
    if (!it->is_object()) bad_field("options", "'options' must be an object");
    const json& o = *it;
    const std::string w = "options.";
    SamplingParams& sp = req.sampling;
    if (auto v = get_int(o, "num_ctx", w)) {
        if (*v < 1) bad_field("options.num_ctx", "'options.num_ctx' must be positive");
        if (*v > server_ctx)
            bad_field(
                "options.num_ctx",
                strfmt("'options.num_ctx' is %lld but this server's context is %lld per sequence; restart it "
                       "with a larger --ctx",
                       (long long)*v, (long long)server_ctx));
        req.n_ctx = *v;
    }
    if (auto v = get_int(o, "num_predict", w)) {
        if (*v == 0 || *v < -2)
            bad_field("options.num_predict",
                      "'options.num_predict' must be a positive count, or -1 / -2 (no limit)");
        req.max_tokens = *v > 0 ? *v : -1;
    }
    if (auto v = get_number(o, "temperature", w)) {
        if (*v < 0) bad_field("options.temperature", "'options.temperature' must be >= 0");
        sp.temperature = static_cast<float>(*v);
    }
    if (auto v = get_int(o, "top_k", w)) {
        if (*v < 0) bad_field("options.top_k", "'options.top_k' must be >= 0");
        sp.top_k = static_cast<int>(std::min<int64_t>(*v, 1 << 30));
    }
    if (auto v = get_number(o, "top_p", w)) {
        if (*v <= 0 || *v > 1) bad_field("options.top_p", "'options.top_p' must be in (0, 1]");
        sp.top_p = static_cast<float>(*v);
    }
    if (auto v = get_number(o, "min_p", w)) {
        if (*v < 0 || *v > 1) bad_field("options.min_p", "'options.min_p' must be in [0, 1]");
        sp.min_p = static_cast<float>(*v);
    }
    if (auto v = get_int(o, "seed", w)) sp.seed = static_cast<uint64_t>(*v);
    if (auto v = get_number(o, "repeat_penalty", w)) {
        if (*v <= 0) bad_field("options.repeat_penalty", "'options.repeat_penalty' must be > 0");
        sp.repeat_penalty = static_cast<float>(*v);
    }
    if (auto v = get_int(o, "repeat_last_n", w)) {
        if (*v < -1) bad_field("options.repeat_last_n", "'options.repeat_last_n' must be >= -1");
        sp.repeat_last_n = static_cast<int>(std::min<int64_t>(*v, 1 << 30));
    }
    if (auto v = get_number(o, "presence_penalty", w)) sp.presence_penalty = static_cast<float>(*v);
    if (auto v = get_number(o, "frequency_penalty", w)) sp.frequency_penalty = static_cast<float>(*v);
    req.stop = get_string_or_list(o, "stop", 16, w);
    req.logit_bias = parse_logit_bias(o, "logit_bias", w);
}

void reject_unsupported(const json& b) {
    if (auto it = b.find("tools"); it != b.end() && it->is_array() && !it->empty())
        bad_field("tools", "tool calls are not supported by this server");
    if (auto it = b.find("format");
        it != b.end() && !it->is_null() && !(it->is_string() && it->get<std::string>().empty()))
        bad_field("format", "structured output ('format') is not supported by this server");
    if (auto it = b.find("images"); it != b.end() && it->is_array() && !it->empty())
        bad_field("images", "images are not supported by this server");
}

class OllamaFormatter : public EventFormatter {
  public:
    OllamaFormatter(bool chat, bool stream, std::string model, int64_t t_received_ns)
        : chat_(chat), stream_(stream), model_(std::move(model)), t_received_ns_(t_received_ns) {}
    const char* content_type() const override {
        return stream_ ? "application/x-ndjson" : "application/json";
    }
    std::string heartbeat() const override { return " "; }  // whitespace before the next JSON value

    std::string delta(const std::string& reasoning, const std::string& content) override {
        if (!stream_) {
            reasoning_ += reasoning;
            content_ += content;
            return {};
        }
        json j = base(false);
        put_text(j, reasoning, content);
        return line(j);
    }

    std::string done(const GenStats& s) override {
        json j = base(true);
        if (stream_)
            put_text(j, {}, {});
        else
            put_text(j, reasoning_, content_);
        j["done_reason"] = gen_finish_name(s.finish);
        j["total_duration"] = s.t_done_ns - t_received_ns_;
        j["load_duration"] = 0;
        j["prompt_eval_count"] = s.n_prompt - s.n_cached;
        j["prompt_eval_duration"] = s.t_prompt_done_ns - s.t_started_ns;
        j["eval_count"] = s.n_completion;
        j["eval_duration"] = s.t_done_ns - s.t_prompt_done_ns;
        const char* closed = reasoning_close_name(s.reasoning_closed);
        j["reasoning_closed_by"] = closed ? json(closed) : json(nullptr);
        return line(j);
    }

    std::string error(const std::string& message) override { return line(json{{"error", message}}); }

  private:
    json base(bool done) const {
        return json{{"model", model_}, {"created_at", rfc3339_now()}, {"done", done}};
    }
    void put_text(json& j, const std::string& reasoning, const std::string& content) const {
        if (chat_) {
            j["message"] = json{{"role", "assistant"}, {"content", content}};
            if (!reasoning.empty()) j["message"]["thinking"] = reasoning;
        } else {
            j["response"] = content;
            if (!reasoning.empty()) j["thinking"] = reasoning;
        }
    }
    std::string line(const json& j) const {
        return j.dump(-1, ' ', false, json::error_handler_t::replace) + (stream_ ? "\n" : "");
    }

    bool chat_, stream_;
    std::string model_;
    int64_t t_received_ns_;
    std::string reasoning_, content_;
};

std::vector<ChatMessage> parse_messages(const json& b) {
    std::vector<ChatMessage> out;
    auto it = b.find("messages");
    if (it == b.end() || it->is_null()) return out;
    if (!it->is_array()) bad_field("messages", "'messages' must be an array");
    for (size_t i = 0; i < it->size(); i++) {
        const json& m = (*it)[i];
        const std::string where = strfmt("messages[%zu]", i);
        if (!m.is_object()) bad_field(where, strfmt("'%s' must be an object", where.c_str()));
        ChatMessage cm;
        cm.role = get_string(m, "role", where + ".").value_or("");
        if (cm.role != "system" && cm.role != "user" && cm.role != "assistant")
            bad_field(where + ".role",
                      strfmt("'%s.role' must be \"system\", \"user\" or \"assistant\", got \"%s\"",
                             where.c_str(), cm.role.c_str()));
        cm.content = get_string(m, "content", where + ".").value_or("");
        out.push_back(std::move(cm));
    }
    return out;
}

}  // namespace

void Server::Impl::register_ollama() {
    const std::string tagged = info.name + ":latest";
    auto details = [this] {
        return json{{"parent_model", ""},
                    {"format", "gguf"},
                    {"family", info.family},
                    {"families", json::array({info.family})},
                    {"parameter_size", info.parameter_size},
                    {"quantization_level", info.quantization}};
    };
    // An empty prompt / no messages loads the model in Ollama; here it is always loaded.
    auto load_reply = [this](bool chat) {
        json j{{"model", info.name}, {"created_at", rfc3339_now()}, {"done", true}, {"done_reason", "load"}};
        if (chat)
            j["message"] = json{{"role", "assistant"}, {"content", ""}};
        else
            j["response"] = "";
        return j;
    };

    auto chat = [this, load_reply](const httplib::Request& hreq, httplib::Response& res) {
        const int64_t t0 = now_ns();
        const json b = parse_body(hreq.body);
        check_model(b);
        reject_unsupported(b);
        const bool stream = get_bool(b, "stream").value_or(true);
        GenRequest req;
        parse_options(b, req, opt.n_ctx, opt.default_max_tokens);
        const ThinkingChoice think = ollama_thinking(b, opt.reasoning_budget, opt.loop_detection);
        const std::vector<ChatMessage> messages = parse_messages(b);
        if (messages.empty()) return set_json(res, load_reply(true));
        bool starts = false;
        req.prompt = chat_prompt(messages, think.enabled, &starts);
        apply_thinking(req, think, thinking_capable, starts);
        auto ch = submit(std::move(req));
        send_generation(res, ch, std::make_shared<OllamaFormatter>(true, stream, info.name, t0));
    };
    auto generate = [this, load_reply](const httplib::Request& hreq, httplib::Response& res) {
        const int64_t t0 = now_ns();
        const json b = parse_body(hreq.body);
        check_model(b);
        reject_unsupported(b);
        const bool stream = get_bool(b, "stream").value_or(true);
        GenRequest req;
        parse_options(b, req, opt.n_ctx, opt.default_max_tokens);
        const std::string prompt = get_string(b, "prompt").value_or("");
        const std::string system = get_string(b, "system").value_or("");
        if (auto t = get_string(b, "template"); t && !t->empty())
            bad_field("template", "custom templates are not supported; the model's chat template is used");
        if (auto s = get_string(b, "suffix"); s && !s->empty())
            bad_field("suffix", "suffix is not supported");
        if (prompt.empty()) return set_json(res, load_reply(false));
        if (get_bool(b, "raw").value_or(false)) {
            req.prompt = text_prompt(prompt);
            req.split_reasoning = false;
        } else {
            const ThinkingChoice think = ollama_thinking(b, opt.reasoning_budget, opt.loop_detection);
            std::vector<ChatMessage> messages;
            if (!system.empty()) messages.push_back({"system", system});
            messages.push_back({"user", prompt});
            bool starts = false;
            req.prompt = chat_prompt(messages, think.enabled, &starts);
            apply_thinking(req, think, thinking_capable, starts);
        }
        auto ch = submit(std::move(req));
        send_generation(res, ch, std::make_shared<OllamaFormatter>(false, stream, info.name, t0));
    };
    auto tags = [this, tagged, details](const httplib::Request&, httplib::Response& res) {
        json m{{"name", tagged},    {"model", tagged},       {"modified_at", info.modified_rfc3339},
               {"size", info.size}, {"digest", info.digest}, {"details", details()}};
        set_json(res, json{{"models", json::array({m})}});
    };
    auto show = [this, details](const httplib::Request& hreq, httplib::Response& res) {
        json b = parse_body(hreq.body);
        if (!b.contains("model") && b.contains("name")) b["model"] = b["name"];  // older clients send "name"
        if (!get_string(b, "model")) bad_field("model", "'model' is required");
        check_model(b);
        const ModelConfig& c = model->config();
        const std::string f = info.family;
        json mi{{"general.architecture", f},
                {"general.name", c.name},
                {"general.parameter_count", info.n_params},
                {f + ".context_length", c.n_ctx_train},
                {f + ".embedding_length", c.n_embd},
                {f + ".block_count", c.n_layer},
                {f + ".feed_forward_length", c.n_ff},
                {f + ".attention.head_count", c.n_head},
                {f + ".attention.head_count_kv", c.n_head_kv},
                {f + ".rope.freq_base", c.rope_theta},
                {"tokenizer.ggml.vocab_size", c.n_vocab}};
        json caps = json::array({"completion"});
        if (thinking_capable) caps.push_back("thinking");
        set_json(res, json{{"modelfile", "FROM " + info.path + "\n"},
                           {"parameters", strfmt("num_ctx %lld", static_cast<long long>(opt.n_ctx))},
                           {"template", tok->chat_template()},
                           {"chat_format", chat_format_name(format)},
                           {"details", details()},
                           {"model_info", mi},
                           {"capabilities", caps},
                           {"modified_at", info.modified_rfc3339}});
    };
    auto ps = [this, tagged, details](const httplib::Request&, httplib::Response& res) {
        json m{{"name", tagged},       {"model", tagged},
               {"size", info.size},    {"digest", info.digest},
               {"details", details()}, {"expires_at", "2262-04-11T23:47:16Z"},  // never unloaded
               {"size_vram", 0},       {"context_length", opt.n_ctx}};
        set_json(res, json{{"models", json::array({m})}});
    };
    auto version = [](const httplib::Request&, httplib::Response& res) {
        set_json(res, json{{"version", R1_VERSION}});
    };
    http.Post("/api/chat", api_route(*this, ApiStyle::Ollama, "api/chat", chat));
    http.Post("/api/generate", api_route(*this, ApiStyle::Ollama, "api/generate", generate));
    http.Get("/api/tags", api_route(*this, ApiStyle::Ollama, "api/tags", tags));
    http.Post("/api/show", api_route(*this, ApiStyle::Ollama, "api/show", show));
    http.Get("/api/ps", api_route(*this, ApiStyle::Ollama, "api/ps", ps));
    http.Get("/api/version", api_route(*this, ApiStyle::Ollama, "api/version", version));
}

}  // namespace r1
