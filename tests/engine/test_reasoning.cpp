// ReasoningSplitter: tags split at every byte position, multi-byte UTF-8 around tags, whitespace trimming at
// the thought's edges, no closing tag, text before <think>, the budget hook (close_reasoning), and chunking
// independence on random cuts.
#include "engine/reasoning.h"

#include <gtest/gtest.h>

#include <vector>

#include "base/rng.h"

namespace r1 {
namespace {

struct Split {
    std::string reasoning, content;
    bool operator==(const Split& o) const { return reasoning == o.reasoning && content == o.content; }
};
std::ostream& operator<<(std::ostream& os, const Split& s) {
    return os << "{reasoning='" << s.reasoning << "', content='" << s.content << "'}";
}

Split run(bool forced, const std::vector<std::string>& chunks) {
    ReasoningSplitter sp(forced);
    Split out;
    for (const std::string& c : chunks) {
        ReasoningDelta d = sp.push(c);
        out.reasoning += d.reasoning;
        out.content += d.content;
    }
    ReasoningDelta d = sp.flush();
    out.reasoning += d.reasoning;
    out.content += d.content;
    return out;
}

// The text cut at every single position, and byte by byte: all must give `want`.
void expect_every_cut(bool forced, const std::string& text, const Split& want) {
    EXPECT_EQ(run(forced, {text}), want) << "one chunk: " << text;
    for (size_t i = 0; i <= text.size(); ++i) {
        EXPECT_EQ(run(forced, {text.substr(0, i), text.substr(i)}), want) << "cut at " << i << ": " << text;
    }
    std::vector<std::string> bytes;
    for (char c : text) bytes.emplace_back(1, c);
    EXPECT_EQ(run(forced, bytes), want) << "byte by byte: " << text;
}

TEST(Reasoning, ForcedOpenR1Output) {
    expect_every_cut(true, "Let me think.\nOK.\n</think>\n\nThe answer is 4.",
                     {"Let me think.\nOK.", "The answer is 4."});
}

TEST(Reasoning, OpeningTagAtTheStart) {
    expect_every_cut(false, "<think>\nA\n</think>\n\nB", {"A", "B"});
    expect_every_cut(false, " \n <think>x</think>y", {"x", "y"});  // whitespace before the tag is dropped
}

TEST(Reasoning, StrayOpeningTagInForcedModeIsDropped) {
    expect_every_cut(true, "\n<think>\nx\n</think>y", {"x", "y"});
    expect_every_cut(true, "<thinking>x</think>y", {"<thinking>x", "y"});  // not the tag: plain reasoning
}

TEST(Reasoning, NoThoughtMeansVerbatimContent) {
    expect_every_cut(false, "Hello <think> world</think>!", {"", "Hello <think> world</think>!"});
    expect_every_cut(false, "Hi <think>x</think>", {"", "Hi <think>x</think>"});  // text before <think>
    expect_every_cut(false, "\n\nPlain answer", {"", "\n\nPlain answer"});        // leading whitespace kept
    expect_every_cut(false, "<thinker>", {"", "<thinker>"});
    // Content streams without delay once decided.
    ReasoningSplitter sp(false);
    EXPECT_EQ(sp.push("H").content, "H");
    EXPECT_FALSE(sp.in_reasoning());
}

TEST(Reasoning, EmptyThought) {
    expect_every_cut(true, "\n\n</think>\n\nAnswer", {"", "Answer"});
    expect_every_cut(false, "<think>\n\n</think>\n\nAnswer", {"", "Answer"});
    expect_every_cut(false, "<think></think>", {"", ""});
}

TEST(Reasoning, NoClosingTag) {
    expect_every_cut(true, "abc\n def \n", {"abc\n def", ""});
    expect_every_cut(false, "<think>still thinking", {"still thinking", ""});
    ReasoningSplitter sp(true);
    sp.push("abc");
    EXPECT_TRUE(sp.in_reasoning());
}

TEST(Reasoning, PartialTagsAreHeldBackNeverLeaked) {
    ReasoningSplitter sp(true);
    ReasoningDelta d = sp.push("abc</thi");
    EXPECT_EQ(d.reasoning, "abc");
    EXPECT_EQ(d.content, "");
    d = sp.push("nk>x");
    EXPECT_EQ(d.reasoning, "");
    EXPECT_EQ(d.content, "x");
    // A partial tag that does not complete is reasoning text after all.
    expect_every_cut(true, "abc</thx", {"abc</thx", ""});
    expect_every_cut(true, "abc</thi", {"abc</thi", ""});  // ends with it: flush emits it
    expect_every_cut(false, "<thi", {"", "<thi"});
}

TEST(Reasoning, TrailingWhitespaceInsideTheThoughtWaitsForWhatFollows) {
    ReasoningSplitter sp(true);
    EXPECT_EQ(sp.push("a\n\n").reasoning, "a");
    EXPECT_EQ(sp.push("b").reasoning, "\n\nb");
    EXPECT_EQ(sp.push(" \n").reasoning, "");
    ReasoningDelta d = sp.push("</think>\n\nc");
    EXPECT_EQ(d.reasoning, "");  // the held " \n" is dropped before the tag
    EXPECT_EQ(d.content, "c");
}

TEST(Reasoning, MultiByteUtf8AroundTags) {
    expect_every_cut(true, "思考…🙂</think>答案✅", {"思考…🙂", "答案✅"});
    expect_every_cut(false, "<think>Ελληνικά\u00a0</think>\u00a0ok",
                     {"Ελληνικά\u00a0", "\u00a0ok"});  // NBSP is not trimmed
    // Cut only at character boundaries, every delta is whole UTF-8.
    const std::string text = "é<think>日本</think>🙂x";
    std::vector<std::string> chars = {"é", "<", "t", "h", "i", "n", "k", ">", "日",   "本",
                                      "<", "/", "t", "h", "i", "n", "k", ">", "🙂", "x"};
    ReasoningSplitter sp(false);
    std::string all;
    for (const std::string& c : chars) {
        ReasoningDelta d = sp.push(c);
        for (const std::string* s : {&d.reasoning, &d.content}) {
            for (size_t i = 0; i < s->size();) {  // each piece decodes as whole characters
                unsigned char b = static_cast<unsigned char>((*s)[i]);
                size_t n = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
                ASSERT_LE(i + n, s->size()) << "split character in delta";
                i += n;
            }
            all += *s;
        }
    }
    EXPECT_EQ(all, text);  // "é" first: no thought, everything verbatim
}

TEST(Reasoning, CloseReasoningForBudget) {
    // The engine stops the thought, then pushes the injected "\n</think>\n\n" and the answer.
    ReasoningSplitter sp(true);
    EXPECT_EQ(sp.push("thinking a lot  ").reasoning, "thinking a lot");
    ReasoningDelta d = sp.close_reasoning();
    EXPECT_TRUE(d.empty());
    EXPECT_FALSE(sp.in_reasoning());
    EXPECT_TRUE(sp.push("\n</thi").empty());
    EXPECT_TRUE(sp.push("nk>\n\n").empty());
    EXPECT_EQ(sp.push("Answer").content, "Answer");
    EXPECT_TRUE(sp.flush().empty());

    // Without the injected text, the answer still comes out as content.
    ReasoningSplitter sp2(true);
    sp2.push("abc</th");
    d = sp2.close_reasoning();
    EXPECT_EQ(d.reasoning, "</th");  // held-back text belongs to the thought
    EXPECT_EQ(sp2.push("Answer </think>").content, "Answer </think>");

    // Generation ends right after the injected text.
    ReasoningSplitter sp5(true);
    sp5.push("x");
    sp5.close_reasoning();
    EXPECT_TRUE(sp5.push("\n</thi").empty());
    d = sp5.flush();
    EXPECT_EQ(d.content, "</thi");  // an unfinished tag is text; the whitespace before it is not
    EXPECT_EQ(d.reasoning, "");

    // Before any reasoning byte (forced open), and a no-op outside reasoning.
    ReasoningSplitter sp3(true);
    EXPECT_TRUE(sp3.close_reasoning().empty());
    EXPECT_EQ(sp3.push("</think>x").content, "x");
    ReasoningSplitter sp4(false);
    sp4.push("plain");
    EXPECT_TRUE(sp4.close_reasoning().empty());
    EXPECT_EQ(sp4.push(" </think>").content, " </think>");
}

TEST(Reasoning, ChunkingNeverChangesTheResult) {
    const std::vector<std::pair<bool, std::string>> texts = {
        {true, "  step 1\n\nstep 2 </thin </think> \n\n answer </think> more\n"},
        {false, "\n<think>\n<think> nested? \n</think>\n\n<think>x</think>"},
        {false, "<think>a\r\n\t</think>\r\n\tb"},
        {true, "</think></think>"},
    };
    Rng rng(5);
    for (const auto& [forced, text] : texts) {
        Split want = run(forced, {text});
        for (int trial = 0; trial < 200; ++trial) {
            std::vector<std::string> chunks;
            for (size_t i = 0; i < text.size();) {
                size_t n = 1 + rng.below(5);
                chunks.push_back(text.substr(i, n));
                i += n;
            }
            ASSERT_EQ(run(forced, chunks), want) << text;
        }
    }
    EXPECT_EQ(run(true, {"  step 1\n\nstep 2 </thin </think> \n\n answer </think> more\n"}),
              (Split{"step 1\n\nstep 2 </thin", "answer </think> more\n"}));
    EXPECT_EQ(run(false, {"\n<think>\n<think> nested? \n</think>\n\n<think>x</think>"}),
              (Split{"<think> nested?", "<think>x</think>"}));
}

}  // namespace
}  // namespace r1
