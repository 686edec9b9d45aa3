// The HTTP layer in-process, with httplib's client and raw sockets: hostile and malformed requests get the
// right 4xx with a JSON error and the server keeps serving; the API key guards every route but /health and
// the page; /metrics speaks Prometheus; a streaming client that disconnects frees its slot at once; the
// Ollama stream is NDJSON with nanosecond durations.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "base/timer.h"
#include "server/server.h"
#include "server/server_test_util.h"

namespace r1 {
namespace {

using json = nlohmann::json;

class HttpTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        ServerOptions o;
        o.model_path = test::tiny_model_path();
        o.alias = "tiny-r1";
        o.port = 0;
        o.n_parallel = 1;  // one slot: the disconnect test sees it freed
        o.n_ctx = 4096;
        o.api_key = "secret-key";
        o.max_body_bytes = 64 * 1024;
        o.http_threads = 16;
        server_ = new Server(o);
        port_ = server_->start();
    }
    static void TearDownTestSuite() {
        server_->stop();
        delete server_;
    }
    static httplib::Client client(bool with_key = true) {
        httplib::Client c("127.0.0.1", port_);
        c.set_read_timeout(60, 0);
        if (with_key) c.set_default_headers({{"Authorization", "Bearer secret-key"}});
        return c;
    }
    static httplib::Result post(const std::string& path, const std::string& body, bool with_key = true) {
        return client(with_key).Post(path.c_str(), body, "application/json");
    }
    // Asserts an error response: status, JSON body with a message (OpenAI: error.message; Ollama: error).
    static json expect_error(const httplib::Result& r, int status, const std::string& needle = {}) {
        EXPECT_TRUE(r) << "no response";
        if (!r) return {};
        EXPECT_EQ(r->status, status) << r->body;
        json j = json::parse(r->body, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << r->body;
        EXPECT_TRUE(j.contains("error")) << r->body;
        const std::string msg = j["error"].is_string() ? j["error"].get<std::string>()
                                                       : j["error"].value("message", std::string());
        EXPECT_FALSE(msg.empty()) << r->body;
        if (!needle.empty()) EXPECT_NE(msg.find(needle), std::string::npos) << msg;
        return j;
    }
    static void expect_still_serving() {
        auto r =
            post("/v1/chat/completions",
                 R"({"messages":[{"role":"user","content":"still there?"}],"max_tokens":4,"temperature":0})");
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200) << r->body;
        const json j = json::parse(r->body);
        EXPECT_EQ(j["usage"]["completion_tokens"], 4);
    }
    static json health() {
        auto r = client(false).Get("/health");
        return r ? json::parse(r->body) : json();
    }

    static Server* server_;
    static int port_;
};
Server* HttpTest::server_ = nullptr;
int HttpTest::port_ = 0;

TEST_F(HttpTest, ApiKeyGuardsEverythingButHealthAndThePage) {
    auto h = client(false).Get("/health");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->status, 200);
    auto page = client(false).Get("/");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_NE(page->body.find("<title>r1.cpp chat</title>"), std::string::npos);
    expect_error(client(false).Get("/v1/models"), 401, "API key");
    expect_error(client(false).Get("/metrics"), 401);
    expect_error(client(false).Get("/api/tags"), 401);
    httplib::Client wrong("127.0.0.1", port_);
    wrong.set_default_headers({{"Authorization", "Bearer secret-kez"}});
    expect_error(wrong.Get("/v1/models"), 401);
    const json j = expect_error(post("/api/chat", "{}", false), 401);
    EXPECT_TRUE(j["error"].is_string());  // Ollama's error shape on /api/*
    auto ok = client().Get("/v1/models");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
    EXPECT_EQ(json::parse(ok->body)["data"][0]["id"], "tiny-r1");
    expect_still_serving();
}

TEST_F(HttpTest, MalformedAndHostileRequestsGet4xx) {
    const std::string chat = "/v1/chat/completions";
    expect_error(post(chat, "{not json"), 400, "not valid JSON");
    expect_error(post(chat, ""), 400, "empty");
    expect_error(post(chat, "[1,2,3]"), 400, "JSON object");
    expect_error(post(chat, R"({"messages":"hi"})"), 400, "messages");
    expect_error(post(chat, R"({"messages":[]})"), 400, "messages");
    expect_error(post(chat, R"({"messages":[{"role":"user","content":42}]})"), 400, "content");
    expect_error(post(chat, R"({"messages":[{"role":"tool","content":"x"}]})"), 400, "role");
    const std::string m = R"("messages":[{"role":"user","content":"hi"}])";
    json e = expect_error(post(chat, "{" + m + R"(,"max_tokens":-5})"), 400, "max_tokens");
    EXPECT_EQ(e["error"]["param"], "max_tokens");
    expect_error(post(chat, "{" + m + R"(,"max_tokens":0})"), 400, "max_tokens");
    expect_error(post(chat, "{" + m + R"(,"max_tokens":"ten"})"), 400, "integer");
    e = expect_error(post(chat, "{" + m + R"(,"temperature":"hot"})"), 400, "temperature");
    EXPECT_EQ(e["error"]["param"], "temperature");
    expect_error(post(chat, "{" + m + R"(,"temperature":7})"), 400, "temperature");
    expect_error(post(chat, "{" + m + R"(,"top_p":0})"), 400, "top_p");
    expect_error(post(chat, "{" + m + R"(,"stream":"yes"})"), 400, "stream");
    expect_error(post(chat, "{" + m + R"(,"stop":[1,2]})"), 400, "stop");
    expect_error(post(chat, "{" + m + R"(,"n":3})"), 400, "n = 1");
    expect_error(post(chat, "{" + m + R"(,"logprobs":true})"), 400, "logprobs");
    expect_error(post(chat, "{" + m + R"(,"logit_bias":{"abc":1}})"), 400, "token id");
    expect_error(post(chat, "{" + m + R"(,"logit_bias":{"5":1000}})"), 400, "[-100, 100]");
    expect_error(post(chat, "{" + m + R"(,"logit_bias":{"999999999":1}})"), 400, "vocabulary");
    expect_error(post(chat, "{" + m + R"(,"thinking":{"type":"maybe"}})"), 400, "thinking.type");
    expect_error(post(chat, "{" + m + R"(,"reasoning_budget":-7})"), 400, "reasoning_budget");
    expect_error(post(chat, "{" + m + R"(,"tools":[{"type":"function"}]})"), 400, "tool");
    e = expect_error(post(chat, "{" + m + R"(,"model":"gpt-5"})"), 404, "gpt-5");
    EXPECT_EQ(e["error"]["code"], "model_not_found");
    expect_error(client().Get("/v1/models/gpt-5"), 404);
    expect_error(post("/v1/completions", R"({"prompt":17})"), 400, "prompt");
    // Ollama routes answer in Ollama's shape.
    e = expect_error(post("/api/chat", R"({"model":"nope","messages":[]})"), 404, "nope");
    EXPECT_TRUE(e["error"].is_string());
    expect_error(post("/api/generate", R"({"prompt":"x","options":{"num_predict":-9}})"), 400, "num_predict");
    expect_error(post("/api/generate", R"({"prompt":"x","options":{"num_ctx":100000}})"), 400, "num_ctx");
    expect_error(post("/api/generate", R"({"prompt":"x","options":{"temperature":"warm"}})"), 400,
                 "temperature");
    expect_error(post("/api/chat", R"({"messages":[{"role":"user","content":"x"}],"think":"sometimes"})"),
                 400, "think");
    expect_error(post("/api/show", R"({})"), 400, "model");
    // Unknown routes and methods.
    expect_error(client().Get("/v2/everything"), 404);
    expect_error(client().Get("/v1/chat/completions"), 404);
    expect_still_serving();
}

TEST_F(HttpTest, OversizedBodyGets413AndPromptTooLongGets400) {
    std::string huge = R"({"messages":[{"role":"user","content":")" + std::string(200 * 1024, 'a') + "\"}]}";
    expect_error(post("/v1/chat/completions", huge), 413, "limit");
    // Within the body limit but far beyond the 4096-token context.
    std::string words;
    for (int i = 0; i < 6000; i++) words += " w" + std::to_string(i % 50);
    const std::string body = json{{"messages", {{{"role", "user"}, {"content", words}}}}}.dump();
    ASSERT_LT(body.size(), 64u * 1024u);
    const json e = expect_error(post("/v1/chat/completions", body), 400, "context holds 4096");
    EXPECT_EQ(e["error"]["code"], "context_length_exceeded");
    expect_error(post("/api/generate", json{{"prompt", words}}.dump()), 400, "context");
    expect_still_serving();
}

TEST_F(HttpTest, MetricsArePrometheusText) {
    expect_still_serving();
    auto r = client().Get("/metrics");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_NE(r->get_header_value("Content-Type").find("text/plain"), std::string::npos);
    for (const char* name :
         {"r1_requests_total{route=\"/v1/chat/completions\",status=\"200\"}",
          "# TYPE r1_prompt_tokens_total counter", "r1_generation_tokens_total",
          "r1_prompt_tokens_per_second", "r1_generation_tokens_per_second", "r1_queue_depth 0",
          "r1_slots_busy 0", "r1_slots_total 1", "r1_generations_total{result=\"done\"}"})
        EXPECT_NE(r->body.find(name), std::string::npos) << name << "\n" << r->body;
    // Every sample line is "name[{labels}] number".
    std::istringstream lines(r->body);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty() || line[0] == '#') continue;
        const size_t sp = line.rfind(' ');
        ASSERT_NE(sp, std::string::npos) << line;
        char* end = nullptr;
        std::strtod(line.c_str() + sp + 1, &end);
        EXPECT_EQ(*end, '\0') << line;
    }
}

// Sends a raw HTTP request on a new socket; returns the fd.
int raw_request(int port, const std::string& body) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
    const std::string req =
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret-key\r\n"
        "Content-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return -1;
    return fd;
}

TEST_F(HttpTest, ClientThatDisconnectsFreesItsSlot) {
    // A stream that would run until the 4096-token context is full; read a little of it, then hang up.
    const int fd = raw_request(
        port_, R"({"messages":[{"role":"user","content":"go on forever"}],"stream":true,"temperature":0})");
    ASSERT_GE(fd, 0);
    std::string got;
    char buf[4096];
    while (got.find("reasoning_content") == std::string::npos) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        ASSERT_GT(n, 0);
        got.append(buf, static_cast<size_t>(n));
    }
    EXPECT_EQ(health()["slots_processing"], 1);
    ::close(fd);
    const double t0 = now_s();
    while (health()["slots_processing"] != 0 && now_s() - t0 < 5)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(health()["slots_processing"], 0);
    EXPECT_LT(now_s() - t0, 2.0);
    auto m = client().Get("/metrics");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->body.find("r1_generations_total{result=\"cancelled\"} 0"), std::string::npos);
    expect_still_serving();
}

TEST_F(HttpTest, QueuedRequestWaitsForTheSlotAndItsBodyStaysValidJson) {
    // The only slot is busy with an endless stream; a plain request queues behind it, receiving heartbeat
    // whitespace meanwhile, and completes once the stream's client hangs up.
    const int fd = raw_request(
        port_, R"({"messages":[{"role":"user","content":"busy"}],"stream":true,"temperature":0})");
    ASSERT_GE(fd, 0);
    char buf[1024];
    ASSERT_GT(::recv(fd, buf, sizeof buf, 0), 0);
    int status = 0;
    std::string body;
    std::thread t([&] {
        auto r = post("/v1/chat/completions",
                      R"({"messages":[{"role":"user","content":"queued"}],"max_tokens":3,"temperature":0})");
        if (r) status = r->status, body = r->body;
    });
    const double t0 = now_s();
    // The stream's first bytes can arrive while it is itself still queued: wait until it holds the slot and
    // the plain request waits, seen in one read (a second read could see a later state).
    json h;
    auto settled = [&] { return h["queue_depth"] == 1 && h["slots_processing"] == 1; };
    while (h = health(), !settled() && now_s() - t0 < 5)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(settled()) << h.dump();
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // > the 0.5 s heartbeat interval
    EXPECT_EQ(health()["queue_depth"], 1) << "the queued request left the queue while the slot was busy";
    ::close(fd);
    t.join();
    ASSERT_EQ(status, 200) << body;
    EXPECT_EQ(body[0], ' ') << "heartbeat whitespace before the JSON value";
    const json j = json::parse(body);
    EXPECT_EQ(j["usage"]["completion_tokens"], 3);
    EXPECT_GT(j["timings"]["queued_ms"].get<double>(), 1000.0);
}

TEST_F(HttpTest, ThinkingSwitchesAndBudgetsCombine) {
    auto closed_by = [](const std::string& extra) {
        auto r = post(
            "/v1/chat/completions",
            R"({"messages":[{"role":"user","content":"x"}],"max_tokens":2,"temperature":0)" + extra + "}");
        EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
        return r ? json::parse(r->body)["choices"][0]["reasoning_closed_by"] : json();
    };
    EXPECT_EQ(closed_by(""), nullptr);  // thinking on, still inside the thought after 2 tokens
    EXPECT_EQ(closed_by(R"(,"reasoning_budget":0)"), "disabled");
    EXPECT_EQ(closed_by(R"(,"thinking":{"type":"disabled"},"reasoning_budget":50)"), "disabled");
    EXPECT_EQ(closed_by(R"(,"chat_template_kwargs":{"enable_thinking":false})"), "disabled");
    EXPECT_EQ(closed_by(R"(,"thinking":{"type":"enabled","budget_tokens":0})"), nullptr);  // the switch wins
}

TEST_F(HttpTest, OllamaStreamIsNdjsonWithNanosecondDurations) {
    auto r = post("/api/chat", R"({"model":"tiny-r1:latest","messages":[{"role":"user","content":"hi"}],
                                  "options":{"temperature":0,"num_predict":12}})");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_NE(r->get_header_value("Content-Type").find("application/x-ndjson"), std::string::npos);
    std::istringstream lines(r->body);
    std::string line, thinking;
    json last;
    int n = 0;
    while (std::getline(lines, line)) {
        if (line.find_first_not_of(' ') == std::string::npos) continue;
        last = json::parse(line);
        n++;
        if (!last["done"].get<bool>()) thinking += last["message"].value("thinking", "");
    }
    EXPECT_GE(n, 2);
    EXPECT_FALSE(thinking.empty());
    ASSERT_TRUE(last["done"].get<bool>());
    EXPECT_EQ(last["done_reason"], "length");
    EXPECT_EQ(last["eval_count"], 12);
    const int64_t total = last["total_duration"], eval = last["eval_duration"],
                  prompt = last["prompt_eval_duration"];
    EXPECT_GT(eval, 100'000);          // 12 tokens take more than 0.1 ms ...
    EXPECT_LT(total, 60'000'000'000);  // ... and less than a minute: nanoseconds
    EXPECT_GE(total, eval + prompt);
}

}  // namespace
}  // namespace r1
