// r1::Server (server.h): model loading and description, the httplib setup (listen backlog, thread pool, body
// limit, auth, JSON errors for everything httplib itself rejects), prompts, and streaming one generation.
#include "server/server.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "base/error.h"
#include "base/log.h"
#include "base/timer.h"
#include "formats/gguf.h"
#include "server/server_impl.h"
#include "tensor/dtype.h"

namespace r1 {
namespace {

std::string file_stem(const std::string& path) {
    std::string name = std::filesystem::path(path).filename().string();
    if (name.size() > 5 && name.substr(name.size() - 5) == ".gguf") name.resize(name.size() - 5);
    return name.empty() ? "model" : name;
}

std::string human_count(int64_t n) {
    const double d = static_cast<double>(n);
    if (d >= 1e9) return strfmt("%.1fB", d / 1e9);
    if (d >= 1e6) return strfmt("%.0fM", d / 1e6);
    if (d >= 1e3) return strfmt("%.0fK", d / 1e3);
    return strfmt("%lld", static_cast<long long>(n));
}

ModelInfo describe(const Model& m, const std::string& path, const std::string& alias) {
    ModelInfo info;
    info.name = alias.empty() ? file_stem(path) : alias;
    info.path = path;
    const gguf::File& f = m.file();
    info.size = f.file_size();
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) info.modified = static_cast<int64_t>(st.st_mtime);
    char buf[64];
    std::tm tm{};
    const std::time_t mtime = static_cast<std::time_t>(info.modified);
    gmtime_r(&mtime, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    info.modified_rfc3339 = buf;
    info.family = arch_name(m.config().arch);
    // FNV-1a over the metadata + tensor table bytes and the file size: a cheap identity for the file.
    uint64_t h = 1469598103934665603ull;
    const uint8_t* p = f.mapping().data();
    for (size_t i = 0; i < f.data_offset(); i++) h = (h ^ p[i]) * 1099511628211ull;
    h = (h ^ info.size) * 1099511628211ull;
    info.digest = strfmt("%016llx", static_cast<unsigned long long>(h));
    std::map<std::string, int64_t> by_type;  // elements per weight type, matrices only
    for (const TensorRef& t : f.tensors()) {
        int64_t n = 1;
        for (int64_t d : t.shape) n *= d;
        info.n_params += n;
        if (t.shape.size() >= 2) by_type[dtype_name(t.type)] += n;
    }
    info.parameter_size = human_count(info.n_params);
    int64_t best = -1;
    for (const auto& [name, n] : by_type)
        if (n > best) best = n, info.quantization = name;
    std::transform(info.quantization.begin(), info.quantization.end(), info.quantization.begin(), ::toupper);
    return info;
}

}  // namespace

// ---- Server ----

Server::Server(const ServerOptions& opt) : impl_(std::make_unique<Impl>()) {
    Impl& s = *impl_;
    s.opt = opt;
    if (opt.model_path.empty()) fail("no model given (-m MODEL.gguf)");
    if (opt.n_parallel < 1 || opt.n_parallel > 256)
        fail("--parallel must be in [1, 256] (got %d)", opt.n_parallel);
    if (opt.http_threads < opt.n_parallel + 2)
        fail("--http-threads (%d) must exceed --parallel (%d) by at least 2", opt.http_threads,
             opt.n_parallel);
    s.model = Model::load(opt.model_path);
    s.tok = Tokenizer::from_gguf(s.model->file());
    s.format = opt.chat_format.empty() ? detect_chat_format(s.tok->chat_template())
                                       : chat_format_from_name(opt.chat_format);
    s.thinking_capable = s.format == ChatFormat::DeepSeekR1 || s.format == ChatFormat::DeepSeekV31 ||
                         s.format == ChatFormat::ChatML;
    s.info = describe(*s.model, opt.model_path, opt.alias);
    if (opt.n_ctx > s.model->config().n_ctx_train)
        R1_LOG_WARN("context %lld is larger than the %lld tokens the model was trained for",
                    static_cast<long long>(opt.n_ctx), static_cast<long long>(s.model->config().n_ctx_train));
    SchedulerOptions so;
    so.n_parallel = opt.n_parallel;
    so.n_ctx = opt.n_ctx;
    so.n_batch = std::max<int64_t>(opt.n_batch, 8 * opt.n_parallel);
    so.prefill_chunk = opt.prefill_chunk;
    so.cache_type = opt.cache_type;
    s.sched = std::make_unique<Scheduler>(*s.model, *s.tok, so);
}

Server::~Server() {
    stop();
}

int Server::start() {
    Impl& s = *impl_;
    s.t_start_ns = now_ns();
    s.sched->start();
    const int n_threads = s.opt.http_threads;
    s.http.new_task_queue = [n_threads] { return new httplib::ThreadPool(static_cast<size_t>(n_threads)); };
    s.http.set_payload_max_length(s.opt.max_body_bytes);
    s.http.set_read_timeout(30, 0);
    s.http.set_write_timeout(30, 0);
    s.http.set_keep_alive_max_count(1000);
    s.http.set_tcp_nodelay(true);
    s.register_routes();

    // Debian's libcpp-httplib is compiled with a listen backlog of 5, so more than ~6 simultaneous connects
    // lose SYNs and stall a second each: capture the socket, bind, then listen() again with a real backlog.
    int fd = -1;
    s.http.set_socket_options([&fd](int sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        fd = sock;
    });
    if (s.opt.port == 0) {
        s.port = s.http.bind_to_any_port(s.opt.host);
        if (s.port <= 0) fail("cannot bind to %s (any port)", s.opt.host.c_str());
    } else {
        if (!s.http.bind_to_port(s.opt.host, s.opt.port))
            fail("cannot bind to %s:%d (in use, or not an address of this machine?)", s.opt.host.c_str(),
                 s.opt.port);
        s.port = s.opt.port;
    }
    if (fd >= 0) ::listen(fd, 512);
    s.listen_fd = fd;
    s.http_thread = std::thread([&s] { s.http.listen_after_bind(); });
    return s.port;
}

void Server::wait() {
    Impl& s = *impl_;
    std::unique_lock<std::mutex> lk(s.stop_mu);
    s.stop_cv.wait(lk, [&] { return s.stopped; });
}

void Server::stop() {
    Impl& s = *impl_;
    {
        std::lock_guard<std::mutex> lk(s.stop_mu);
        if (s.stopped) return;
        s.stopped = true;
    }
    // The scheduler first: open streams get their Error event and end, so the HTTP threads can finish.
    s.sched->stop();
    s.http.stop();
    if (s.http_thread.joinable()) s.http_thread.join();
    s.stop_cv.notify_all();
}

// ---- Impl helpers ----

bool Server::Impl::authorized(const httplib::Request& req) const {
    if (opt.api_key.empty()) return true;
    const std::string h = req.get_header_value("Authorization");
    const std::string want = "Bearer " + opt.api_key;
    if (h.size() != want.size()) return false;
    unsigned diff = 0;  // constant time in the key's length
    for (size_t i = 0; i < h.size(); i++) diff |= static_cast<unsigned char>(h[i] ^ want[i]);
    return diff == 0;
}

void Server::Impl::check_model(const json& body) const {
    const std::optional<std::string> m = get_string(body, "model");
    if (!m || m->empty() || *m == info.name || *m == info.name + ":latest") return;
    throw ApiError(404,
                   strfmt("model '%s' not found; this server serves '%s'", m->c_str(), info.name.c_str()),
                   "invalid_request_error", "model", "model_not_found");
}

std::vector<int32_t> Server::Impl::chat_prompt(const std::vector<ChatMessage>& messages, bool thinking,
                                               bool* starts_in_reasoning) const {
    RenderOptions ro;
    if (tok->add_bos() && tok->bos() >= 0) ro.bos_text = tok->token_text(tok->bos());
    ro.add_generation_prompt = true;
    ro.enable_thinking = thinking;
    const ChatPrompt p = render_chat(format, messages, ro);
    *starts_in_reasoning = p.starts_in_reasoning;
    return tok->encode(p.text, /*parse_special=*/true);
}

std::vector<int32_t> Server::Impl::text_prompt(const std::string& text) const {
    std::vector<int32_t> ids;
    if (tok->add_bos() && tok->bos() >= 0) ids.push_back(tok->bos());
    const std::vector<int32_t> body = tok->encode(text, /*parse_special=*/true);
    ids.insert(ids.end(), body.begin(), body.end());
    return ids;
}

std::shared_ptr<GenChannel> Server::Impl::submit(GenRequest req) const {
    try {
        return sched->submit(std::move(req));
    } catch (const SubmitError& e) {
        switch (e.kind) {
            case SubmitError::Kind::ContextExceeded:
                throw ApiError(400, e.what(), "invalid_request_error", "messages", "context_length_exceeded");
            case SubmitError::Kind::ShuttingDown:
                throw ApiError(503, e.what(), "server_error");
            case SubmitError::Kind::BadRequest:
                break;
        }
        throw ApiError(400, e.what());
    }
}

void set_json(httplib::Response& res, const json& body, int status) {
    res.status = status;
    res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

httplib::Server::Handler api_route(Server::Impl& s, ApiStyle style, const char* name, RouteFn fn) {
    (void)s;
    return [style, name, fn](const httplib::Request& req, httplib::Response& res) {
        try {
            fn(req, res);
        } catch (const ApiError& e) {
            set_json(res, error_body(style, e.status, e.what(), e.type, e.param, e.code), e.status);
        } catch (const Error& e) {
            set_json(res, error_body(style, 400, e.what()), 400);
        } catch (const json::exception& e) {
            set_json(res, error_body(style, 400, strfmt("bad request: %s", e.what())), 400);
        } catch (const std::exception& e) {
            R1_LOG_ERROR("%s: %s", name, e.what());
            set_json(res, error_body(style, 500, strfmt("internal error: %s", e.what())), 500);
        }
    };
}

// ---- streaming one generation ----

void send_generation(httplib::Response& res, std::shared_ptr<GenChannel> ch,
                     std::shared_ptr<EventFormatter> f) {
    struct State {
        bool begun = false;
        int64_t quiet_since_ns = 0;
    };
    auto st = std::make_shared<State>();
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        f->content_type(),
        [ch, f, st](size_t /*offset*/, httplib::DataSink& sink) -> bool {
            auto write = [&](const std::string& bytes) {
                if (bytes.empty()) return true;
                if (sink.write(bytes.data(), bytes.size())) return true;
                ch->cancel();  // the client is gone
                return false;
            };
            if (!st->begun) {
                st->begun = true;
                st->quiet_since_ns = now_ns();
                if (!write(f->begin())) return false;
            }
            std::vector<GenEvent> events;
            if (!ch->pop_all(events, std::chrono::milliseconds(100))) {
                if (now_ns() - st->quiet_since_ns > 500'000'000) {
                    st->quiet_since_ns = now_ns();
                    return write(f->heartbeat());
                }
                return true;
            }
            st->quiet_since_ns = now_ns();
            for (const GenEvent& e : events) {
                switch (e.kind) {
                    case GenEvent::Kind::Delta:
                        if (!write(f->delta(e.reasoning, e.content))) return false;
                        break;
                    case GenEvent::Kind::Done:
                        if (!write(f->done(e.stats))) return false;
                        sink.done();
                        return true;
                    case GenEvent::Kind::Error:
                        write(f->error(e.error));
                        sink.done();
                        return true;
                }
            }
            return true;
        },
        [ch](bool success) {
            if (!success) ch->cancel();
        });
}

void Server::Impl::register_routes() {
    // Auth before routing: every route but /health and the static page.
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        if (req.path == "/health" || (req.method == "GET" && (req.path == "/" || req.path == "/index.html")))
            return httplib::Server::HandlerResponse::Unhandled;
        if (authorized(req)) return httplib::Server::HandlerResponse::Unhandled;
        const ApiStyle style = req.path.rfind("/api/", 0) == 0 ? ApiStyle::Ollama : ApiStyle::OpenAI;
        set_json(res,
                 error_body(style, 401, "invalid or missing API key (send 'Authorization: Bearer KEY')",
                            "authentication_error", {}, "invalid_api_key"),
                 401);
        res.set_header("WWW-Authenticate", "Bearer");
        return httplib::Server::HandlerResponse::Handled;
    });
    // Errors httplib produces itself (unknown path 404, body too large 413, bad request line 400) get a JSON
    // body too; our own error responses already have one.
    http.set_error_handler(
        httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
            if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
            std::string msg;
            if (res.status == 404)
                msg = strfmt("no route for %s %s", req.method.c_str(), req.path.c_str());
            else if (res.status == 413)
                msg = strfmt("the request body is larger than the server's limit of %zu bytes",
                             opt.max_body_bytes);
            else
                msg = strfmt("HTTP %d", res.status);
            const ApiStyle style = req.path.rfind("/api/", 0) == 0 ? ApiStyle::Ollama : ApiStyle::OpenAI;
            res.set_content(error_body(style, res.status, msg).dump(), "application/json");
            return httplib::Server::HandlerResponse::Handled;
        }));
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
            std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        set_json(res, error_body(ApiStyle::OpenAI, 500, "internal error: " + what), 500);
    });
    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
        static const char* known[] = {"/",
                                      "/health",
                                      "/metrics",
                                      "/v1/models",
                                      "/v1/chat/completions",
                                      "/v1/completions",
                                      "/chat/completions",
                                      "/api/chat",
                                      "/api/generate",
                                      "/api/tags",
                                      "/api/show",
                                      "/api/ps",
                                      "/api/version"};
        std::string route = "other";
        for (const char* k : known)
            if (req.path == k) route = k;
        if (req.path.rfind("/v1/models/", 0) == 0) route = "/v1/models/{id}";
        counters.add(route, res.status);
        R1_LOG_DEBUG("%s %s -> %d", req.method.c_str(), req.path.c_str(), res.status);
    });
    register_openai();
    register_ollama();
    register_misc();
}

}  // namespace r1
