// The `r1` program end to end: every subcommand has --help; bad input gives a clear error and exit code 1;
// `r1 chat` holds a multi-turn conversation read from a pipe; `r1 run` and `r1 logits` work on a tiny model.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace {

const std::string kR1 = std::string(R1_BIN_DIR) + "/r1";
const std::string kTok = std::string(R1_ASSETS_DIR) + "/deepseek_v3";

struct Result {
    int code;
    std::string out;  // stdout + stderr
};

Result sh(const std::string& cmd, bool with_stderr = true) {
    Result r{0, ""};
    FILE* p = popen((cmd + (with_stderr ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int status = pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

size_t count(const std::string& s, const std::string& what) {
    size_t n = 0;
    for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) n++;
    return n;
}

TEST(Cli, EverySubcommandHasHelp) {
    const Result top = sh(kR1 + " --help");
    ASSERT_EQ(top.code, 0) << top.out;
    for (const char* sub : {"inspect", "tokenize", "logits", "perplexity", "run", "chat", "bench", "quantize",
                            "random-model", "convert", "serve"}) {
        EXPECT_NE(top.out.find(sub), std::string::npos) << sub << " missing from r1 --help";
        const Result r = sh(kR1 + " " + sub + " --help");
        EXPECT_EQ(r.code, 0) << sub;
        EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub << ": " << r.out;
    }
}

TEST(Cli, BadInputGivesAClearError) {
    Result r = sh(kR1 + " run -m /nonexistent.gguf -p hi");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("error: cannot open '/nonexistent.gguf'"), std::string::npos) << r.out;
    const std::string junk = ::testing::TempDir() + "/r1_cli_junk.gguf";
    sh("printf 'definitely not gguf' > " + junk);
    r = sh(kR1 + " inspect " + junk);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("is neither a GGUF file"), std::string::npos) << r.out;
    r = sh(kR1 + " logits -m " + junk + " --ids 1,x -o /dev/null");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("error:"), std::string::npos) << r.out;
    std::filesystem::remove(junk);
}

TEST(Cli, ChatHoldsAMultiTurnConversation) {
    if (!std::filesystem::exists(kTok + "/tokenizer.json")) GTEST_SKIP() << "tokenizer assets missing";
    const std::string model = ::testing::TempDir() + "/r1_cli_chat.gguf";
    Result w = sh(kR1 + " random-model --preset deepseek-v3-tiny --tokenizer " + kTok +
                  " --chat-template deepseek-r1 -o " + model);
    ASSERT_EQ(w.code, 0) << w.out;
    // Two user turns, a /think off switch between them, then /exit.
    const Result r = sh("printf 'Hello there\\n/think off\\nAnd again?\\n/exit\\n' | " + kR1 + " chat -m " + model +
                        " -n 12 --temp 0 --no-timings");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("template deepseek-r1"), std::string::npos) << r.out;
    EXPECT_EQ(count(r.out, "<think>\n"), 1u) << r.out;  // first turn reasons; the second has thinking off
    EXPECT_NE(r.out.find("(thinking off)"), std::string::npos) << r.out;
    // r1 run: the reasoning is marked when piped; logits have the right size
    const Result run = sh(kR1 + " run -m " + model + " -p 'What is 2+2?' -n 8 --temp 0", /*with_stderr=*/false);
    ASSERT_EQ(run.code, 0) << run.out;
    EXPECT_EQ(run.out.rfind("<think>\n", 0), 0u) << run.out;  // stdout: the reply only
    const Result timed = sh(kR1 + " run -m " + model + " -p 'What is 2+2?' -n 8 --temp 0");
    EXPECT_NE(timed.out.find("tokens per second"), std::string::npos) << timed.out;  // timings on stderr
    EXPECT_NE(timed.out.find("KV cache: 48 values per token per layer"), std::string::npos) << timed.out;
    const std::string out = ::testing::TempDir() + "/r1_cli_logits.f32";
    const Result lg = sh(kR1 + " logits -m " + model + " --ids 1,2,3 -o " + out);
    ASSERT_EQ(lg.code, 0) << lg.out;
    EXPECT_EQ(std::filesystem::file_size(out), 3u * 128815u * 4u);
    std::filesystem::remove(out);
    std::filesystem::remove(model);
}

}  // namespace
