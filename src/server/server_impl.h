// Internals of r1::Server shared by the route files (routes_openai.cpp, routes_ollama.cpp, routes_misc.cpp):
// the loaded model and its description, the scheduler, HTTP counters, and the helper that streams one
// generation's events to a client in the shape an EventFormatter gives them.
#pragma once

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/chat.h"
#include "model/model.h"
#include "server/api_util.h"
#include "server/scheduler.h"
#include "server/server.h"
#include "tokenizer/tokenizer.h"

namespace r1 {

// What /v1/models, /api/tags, /api/show and /api/ps report about the model file.
struct ModelInfo {
    std::string name;  // alias or file stem
    std::string path;
    uint64_t size = 0;     // file bytes
    int64_t modified = 0;  // unix seconds
    std::string modified_rfc3339;
    std::string digest;  // hex FNV-1a-64 of the metadata and tensor table (not a sha256 of the blob)
    std::string family;  // architecture ("qwen2", "llama")
    int64_t n_params = 0;
    std::string parameter_size;  // "1.5B", "92M"
    std::string quantization;    // most common weight type ("Q4_K", "F32")
};

// Turns a request's events into response bytes. One instance per request, used by one HTTP thread.
class EventFormatter {
  public:
    virtual ~EventFormatter() = default;
    virtual const char* content_type() const = 0;
    // Bytes sent after a quiet spell so a client that left is noticed (the write fails) even before the next
    // token: an SSE comment, or a space before the next JSON value (valid JSON whitespace).
    virtual std::string heartbeat() const = 0;
    virtual std::string begin() { return {}; }
    virtual std::string delta(const std::string& reasoning, const std::string& content) = 0;
    virtual std::string done(const GenStats& stats) = 0;
    virtual std::string error(const std::string& message) = 0;
};

// Streams a submitted generation to the response with a chunked content provider. The client leaving (a write
// failing) cancels the generation, which frees its slot at the next scheduler step.
void send_generation(httplib::Response& res, std::shared_ptr<GenChannel> ch,
                     std::shared_ptr<EventFormatter> f);

struct HttpCounters {
    std::mutex mu;
    std::map<std::pair<std::string, int>, int64_t> responses;  // (route, status) -> count
    void add(const std::string& route, int status) {
        std::lock_guard<std::mutex> lk(mu);
        responses[{route, status}]++;
    }
};

struct Server::Impl {
    ServerOptions opt;
    std::unique_ptr<Model> model;
    std::unique_ptr<Tokenizer> tok;
    ChatFormat format = ChatFormat::DeepSeekR1;
    bool thinking_capable = false;  // the format has a thinking switch (R1, V3.1, ChatML)
    ModelInfo info;
    std::unique_ptr<Scheduler> sched;
    httplib::Server http;
    std::thread http_thread;
    int port = 0;
    int listen_fd = -1;
    int64_t t_start_ns = 0;
    HttpCounters counters;
    std::mutex stop_mu;
    std::condition_variable stop_cv;
    bool stopped = false;

    void register_routes();
    void register_openai();
    void register_ollama();
    void register_misc();

    // True if the request may pass (no key configured, or the right Bearer token).
    bool authorized(const httplib::Request& req) const;
    // The requested model must be ours: absent/empty is fine (the one loaded), "NAME" or "NAME:latest".
    // Otherwise 404 model_not_found.
    void check_model(const json& body) const;
    // A chat rendered with the model's template and tokenised; sets *starts_in_reasoning.
    std::vector<int32_t> chat_prompt(const std::vector<ChatMessage>& messages, bool thinking,
                                     bool* starts_in_reasoning) const;
    // Raw text tokenised for completion (BOS added when the model wants it).
    std::vector<int32_t> text_prompt(const std::string& text) const;
    // Submits, turning a SubmitError into 400 (bad values, prompt too long) or 503 (shutting down).
    std::shared_ptr<GenChannel> submit(GenRequest req) const;
};

// Wraps a route handler: JSON errors in the API's style for ApiError (its status), r1::Error and JSON type
// errors (400), anything else (500); counts the response.
using RouteFn = std::function<void(const httplib::Request&, httplib::Response&)>;
httplib::Server::Handler api_route(Server::Impl& s, ApiStyle style, const char* name, RouteFn fn);

void set_json(httplib::Response& res, const json& body, int status = 200);

}  // namespace r1
