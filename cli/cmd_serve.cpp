// r1 serve: the OpenAI/DeepSeek- and Ollama-compatible HTTP server with continuous batching and a web chat.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "cli/common.h"
#include "server/server.h"

namespace r1::cli {

void add_serve(CLI::App& app) {
    struct Opts {
        ServerOptions s;
        int threads = 0;
        std::string cache_type = "bf16";
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("serve", "HTTP server: OpenAI/DeepSeek and Ollama APIs, web chat at /");
    cmd->option_defaults()->always_capture_default();
    cmd->footer(
        "Routes: POST /v1/chat/completions, /v1/completions; GET /v1/models; POST /api/chat, /api/generate,\n"
        "/api/show; GET /api/tags, /api/ps, /api/version; GET /health, /metrics; the web chat at GET /.\n"
        "Up to --parallel requests are decoded together in one batched forward pass; more wait in a queue.\n"
        "--ctx is the context of EACH sequence (the KV cache holds parallel x ctx tokens).\n"
        "Example: r1 serve -m model.gguf --parallel 4 --ctx 8192   then open http://127.0.0.1:8080/");
    cmd->add_option("-m,--model", o->s.model_path, "GGUF model file")->required();
    cmd->add_option("--alias", o->s.alias, "model name in the APIs (default: the file name without .gguf)");
    cmd->add_option("--host", o->s.host, "address to bind (default 127.0.0.1: this machine only)");
    cmd->add_option("--port", o->s.port, "port (0: any free port, printed at startup)")
        ->check(CLI::Range(0, 65535));
    cmd->add_option("--parallel", o->s.n_parallel, "sequences decoded together (slots)")
        ->check(CLI::Range(1, 256));
    cmd->add_option("-c,--ctx", o->s.n_ctx, "context per sequence in tokens (prompt + output)")
        ->check(CLI::Range(int64_t{8}, int64_t{1} << 24));
    add_cache_type_flag(cmd, o->cache_type);
    cmd->add_option("-b,--batch", o->s.n_batch, "max tokens in one forward call")
        ->check(CLI::Range(8, 1 << 16));
    cmd->add_option("--prefill-chunk", o->s.prefill_chunk,
                    "max prompt tokens per step while other sequences decode (smaller: smoother streams)")
        ->check(CLI::Range(1, 1 << 16));
    cmd->add_option("--api-key", o->s.api_key,
                    "require 'Authorization: Bearer KEY' on every route but /health and /");
    cmd->add_option(
        "--chat-format", o->s.chat_format,
        "override the template: deepseek-r1, deepseek-v3, deepseek-v3.1, llama3, llama3.1, chatml");
    cmd->add_option("-n,--max-tokens", o->s.default_max_tokens,
                    "default completion limit when a request sets none (-1: until the context is full)");
    cmd->add_option(
        "--reasoning-budget", o->s.reasoning_budget,
        "default reasoning budget in tokens (-1: unlimited, 0: no thinking); requests can override");
    cmd->add_flag("!--no-loop-detection", o->s.loop_detection,
                  "do not close looping reasoning by default (requests can turn it on)");
    cmd->add_option("--max-body", o->s.max_body_bytes, "largest request body in bytes (larger: 413)");
    cmd->add_option("--http-threads", o->s.http_threads,
                    "HTTP worker threads (each streaming client holds one)")
        ->check(CLI::Range(4, 4096));
    cmd->add_option("-t,--threads", o->threads, "compute threads (0 = all cores)");
    cmd->callback([o] {
        apply_threads(o->threads);
        o->s.cache_type = cache_type_from_name(o->cache_type);
        // SIGINT/SIGTERM end the server cleanly: block them here (threads inherit the mask) and wait for them
        // on a thread of our own, which stops the server.
        sigset_t sigs;
        sigemptyset(&sigs);
        sigaddset(&sigs, SIGINT);
        sigaddset(&sigs, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
        signal(SIGPIPE, SIG_IGN);

        Server server(o->s);
        const int port = server.start();
        std::fprintf(stderr, "r1 serve: listening on http://%s:%d/ (%d slots x %lld tokens, %s KV cache)%s\n",
                     o->s.host.c_str(), port, o->s.n_parallel, static_cast<long long>(o->s.n_ctx),
                     o->cache_type.c_str(), o->s.api_key.empty() ? "" : ", API key required");
        std::fflush(stderr);
        std::thread waiter([&server, sigs] {
            int sig = 0;
            sigwait(&sigs, &sig);
            std::fprintf(stderr, "r1 serve: signal %d, stopping\n", sig);
            server.stop();
        });
        server.wait();
        // wait() returns only after stop(), which only the waiter calls.
        waiter.join();
    });
}

}  // namespace r1::cli
