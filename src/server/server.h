// r1 serve: an HTTP server with the OpenAI/DeepSeek and Ollama APIs and a web chat, over one loaded model.
//
//   ServerOptions o;  o.model_path = "model.gguf";  o.port = 0;   // 0: any free port
//   Server srv(o);              // loads the model (throws r1::Error)
//   int port = srv.start();     // binds and starts the inference thread and the HTTP threads
//   ...                         // serve until
//   srv.stop();
//
// Threads: one inference thread (the Scheduler) owns the model; a pool of HTTP threads parses requests,
// renders and tokenises prompts, enqueues them and streams the events back. Routes: see docs/server.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "model/kv_cache.h"

namespace r1 {

struct ServerOptions {
    std::string model_path;
    std::string alias;  // model name in the APIs; default: the file name without .gguf
    std::string host = "127.0.0.1";
    int port = 8080;              // 0: any free port (Server::start returns it)
    int n_parallel = 4;           // sequences decoded together
    int64_t n_ctx = 4096;         // context per sequence
    int64_t n_batch = 512;        // max tokens per forward call
    int64_t prefill_chunk = 128;  // prompt tokens per step while other sequences decode
    CacheType cache_type = CacheType::BF16;
    std::string api_key;               // non-empty: every route but /health (and the page at /) needs it
    std::string chat_format;           // override of the format detected from the model's template
    size_t max_body_bytes = 8u << 20;  // larger request bodies get 413
    int http_threads = 64;             // each streaming client holds one
    int64_t default_max_tokens = -1;   // when a request gives none; -1: until the context is full
    bool loop_detection = true;        // default of the per-request switch
    int64_t reasoning_budget = -1;     // default per-request budget; -1: unlimited
};

class Server {
  public:
    explicit Server(const ServerOptions& opt);  // loads the model; throws r1::Error
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds host:port and starts serving in background threads; returns the bound port. Throws r1::Error if
    // the address cannot be bound.
    int start();
    // Blocks until stop() is called (from another thread).
    void wait();
    void stop();

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace r1
