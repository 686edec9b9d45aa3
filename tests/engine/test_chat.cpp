// Chat templates: byte-exact against the real Jinja templates (tests/data/chat/goldens.json, made by
// scripts/chat-goldens/generate.sh with @huggingface/jinja), plus the R1 rules the goldens cannot show
// (thinking disabled, forced-open flag), format detection and errors.
#include "engine/chat.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/error.h"

namespace r1 {
namespace {

using nlohmann::json;

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::vector<ChatMessage> messages_of(const json& j) {
    std::vector<ChatMessage> out;
    for (const json& m : j)
        out.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
    return out;
}

const std::string kBos = "<｜begin▁of▁sentence｜>";

TEST(ChatGoldens, EveryCaseMatchesTheRealTemplateByteForByte) {
    const std::string path = std::string(R1_TEST_DATA) + "/chat/goldens.json";
    json goldens = json::parse(read_file(path));
    const json& templates = goldens.at("templates");
    std::map<std::string, int> per_template;
    int n = 0;
    for (const json& c : goldens.at("cases")) {
        const std::string tname = c.at("template").get<std::string>();
        const json& t = templates.at(tname);
        ChatFormat format = chat_format_from_name(t.at("format").get<std::string>());
        RenderOptions o;
        o.bos_text = t.at("bos_token").get<std::string>();
        o.add_generation_prompt = c.at("add_generation_prompt").get<bool>();
        if (!c.at("enable_thinking").is_null()) o.enable_thinking = c.at("enable_thinking").get<bool>();
        auto messages = messages_of(c.at("messages"));
        ChatPrompt got = render_chat(format, messages, o);
        EXPECT_EQ(got.text, c.at("expected").get<std::string>())
            << tname << " / " << c.at("name").get<std::string>() << " thinking=" << c.at("enable_thinking");
        per_template[tname]++;
        n++;
    }
    // Every template of the generator took part (a regenerated file that lost one should fail here).
    for (const char* t : {"deepseek_v3", "deepseek_r1_distill_llama", "deepseek_r1_distill_qwen",
                          "deepseek_v3_1", "llama3", "llama3_1", "qwen3"}) {
        EXPECT_GE(per_template[t], 10) << t;
    }
    EXPECT_GE(n, 90);
}

TEST(ChatR1, GenerationPromptOpensTheThought) {
    std::vector<ChatMessage> m = {{"user", "Hi"}};
    RenderOptions o;
    o.bos_text = kBos;
    ChatPrompt p = render_chat(ChatFormat::DeepSeekR1, m, o);
    EXPECT_EQ(p.text, kBos + "<｜User｜>Hi<｜Assistant｜><think>\n");
    EXPECT_TRUE(p.starts_in_reasoning);
    o.add_generation_prompt = false;
    p = render_chat(ChatFormat::DeepSeekR1, m, o);
    EXPECT_EQ(p.text, kBos + "<｜User｜>Hi");
    EXPECT_FALSE(p.starts_in_reasoning);
}

TEST(ChatR1, ThinkingDisabledAppendsAnEmptyClosedThought) {
    std::vector<ChatMessage> m = {{"system", "S"}, {"user", "Hi"}};
    RenderOptions o;
    o.bos_text = kBos;
    o.enable_thinking = false;
    ChatPrompt p = render_chat(ChatFormat::DeepSeekR1, m, o);
    EXPECT_EQ(p.text, kBos + "S<｜User｜>Hi<｜Assistant｜><think>\n\n</think>\n\n");
    EXPECT_FALSE(p.starts_in_reasoning);
}

TEST(ChatR1, HistoryKeepsOnlyTheTextAfterTheLastClosingTag) {
    std::vector<ChatMessage> m = {{"user", "a"}, {"assistant", "<think>x</think>y</think>z"}, {"user", "b"}};
    RenderOptions o;  // no BOS text: the caller adds the BOS id
    EXPECT_EQ(render_chat(ChatFormat::DeepSeekR1, m, o).text,
              "<｜User｜>a<｜Assistant｜>z<｜end▁of▁sentence｜><｜User｜>b<｜Assistant｜><think>\n");
}

TEST(ChatFlags, ForcedOpenOnlyWhereThePromptEndsInsideAThought) {
    std::vector<ChatMessage> m = {{"user", "Hi"}};
    RenderOptions on, off;
    off.enable_thinking = false;
    EXPECT_FALSE(render_chat(ChatFormat::DeepSeekV3, m, on).starts_in_reasoning);
    EXPECT_TRUE(render_chat(ChatFormat::DeepSeekV31, m, on).starts_in_reasoning);
    EXPECT_FALSE(render_chat(ChatFormat::DeepSeekV31, m, off).starts_in_reasoning);
    EXPECT_FALSE(render_chat(ChatFormat::ChatML, m, on).starts_in_reasoning);  // Qwen3 writes its own <think>
    EXPECT_FALSE(render_chat(ChatFormat::Llama3, m, on).starts_in_reasoning);
    EXPECT_FALSE(render_chat(ChatFormat::Llama31, m, on).starts_in_reasoning);
}

TEST(ChatLlama31, DateStringIsAnOption) {
    std::vector<ChatMessage> m = {{"user", "Hi"}};
    RenderOptions o;
    o.date_string = "01 Jan 2026";
    EXPECT_EQ(
        render_chat(ChatFormat::Llama31, m, o).text,
        "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 01 "
        "Jan 2026\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>"
        "assistant<|end_header_id|>\n\n");
}

TEST(ChatErrors, UnknownRolesAndFormatNames) {
    std::vector<ChatMessage> m = {{"user", "Hi"}, {"tool", "42"}};
    for (ChatFormat f : {ChatFormat::DeepSeekR1, ChatFormat::DeepSeekV3, ChatFormat::DeepSeekV31,
                         ChatFormat::Llama3, ChatFormat::Llama31, ChatFormat::ChatML}) {
        EXPECT_THROW(render_chat(f, m, RenderOptions{}), Error) << chat_format_name(f);
        EXPECT_EQ(chat_format_from_name(chat_format_name(f)), f);
    }
    try {
        render_chat(ChatFormat::DeepSeekR1, m, RenderOptions{});
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("'tool'"), std::string::npos) << e.what();
    }
    EXPECT_THROW(chat_format_from_name("deepseek"), Error);
}

TEST(ChatDetect, MarkersPickTheFormat) {
    EXPECT_EQ(try_detect_chat_format("{{bos_token}}{{'<｜User｜>' + c}}{{'<｜Assistant｜><think>\\n'}}"),
              ChatFormat::DeepSeekR1);
    // Early R1 templates: </think> cut from history, prompt without <think>.
    EXPECT_EQ(try_detect_chat_format("'<｜User｜>' content.split('</think>')[-1] '<｜Assistant｜>'"),
              ChatFormat::DeepSeekR1);
    EXPECT_EQ(try_detect_chat_format("'<｜User｜>' '<｜Assistant｜>'"), ChatFormat::DeepSeekV3);
    EXPECT_EQ(
        try_detect_chat_format("{%- if not thinking is defined -%}'<｜User｜>' '<｜Assistant｜>' <think>"),
        ChatFormat::DeepSeekV31);
    EXPECT_EQ(try_detect_chat_format("<|start_header_id|>Cutting Knowledge Date"), ChatFormat::Llama31);
    EXPECT_EQ(try_detect_chat_format("<|start_header_id|>"), ChatFormat::Llama3);
    EXPECT_EQ(try_detect_chat_format("<|im_start|>"), ChatFormat::ChatML);
    EXPECT_EQ(try_detect_chat_format(""), std::nullopt);
    EXPECT_EQ(try_detect_chat_format("{% for m in messages %}[INST]{{ m.content }}{% endfor %}"),
              std::nullopt);
    EXPECT_EQ(detect_chat_format(""), ChatFormat::DeepSeekR1);
}

TEST(ChatDetect, RealTemplatesFromTheAssets) {
    const std::string dir = R1_ASSETS_DIR;
    if (!std::filesystem::exists(dir + "/deepseek_v3/tokenizer_config.json")) {
        GTEST_SKIP() << "assets missing: run scripts/fetch-assets.sh";
    }
    auto template_of = [&](const char* name) {
        return json::parse(read_file(dir + "/" + name + "/tokenizer_config.json"))
            .at("chat_template")
            .get<std::string>();
    };
    EXPECT_EQ(detect_chat_format(template_of("deepseek_v3")), ChatFormat::DeepSeekV3);
    EXPECT_EQ(detect_chat_format(template_of("qwen3")), ChatFormat::ChatML);
    EXPECT_EQ(detect_chat_format(template_of("llama3_1")), ChatFormat::Llama3);
}

TEST(PythonStrip, UnicodeWhitespaceLikePythonStrStrip) {
    EXPECT_EQ(python_strip(" \t\n x y \r\n"), "x y");
    EXPECT_EQ(python_strip("\u3000\u00a0x\u2003\u0085"), "x");  // ideographic, no-break, em space, NEL
    EXPECT_EQ(python_strip("\x1c\x1f x"), "x");                 // Python counts the separators as spaces
    EXPECT_EQ(python_strip("\ufeffx\ufeff"), "\ufeffx\ufeff");  // Python does not strip the BOM
    EXPECT_EQ(python_strip("   "), "");
    EXPECT_EQ(python_strip("日本 "), "日本");
    EXPECT_EQ(python_strip("\xff x \xe3\x80"), "\xff x \xe3\x80");  // invalid UTF-8 at the ends stays
}

}  // namespace

TEST(ChatDetect, OurOwnR1TemplateIsDetectedAsR1) {
    EXPECT_EQ(detect_chat_format(deepseek_r1_jinja_template()), ChatFormat::DeepSeekR1);
}

}  // namespace r1
