// StopMatcher: stops split across pushes, false alarms released, overlapping stops (first to complete wins),
// UTF-8, flush, and chunking independence.
#include "engine/stop.h"

#include <gtest/gtest.h>

namespace r1 {
namespace {

struct Outcome {
    std::string text;
    bool matched = false;
    int index = -1;
    bool operator==(const Outcome& o) const {
        return text == o.text && matched == o.matched && index == o.index;
    }
};
std::ostream& operator<<(std::ostream& os, const Outcome& o) {
    return os << "{'" << o.text << "', matched=" << o.matched << ", index=" << o.index << "}";
}

Outcome run(const std::vector<std::string>& stops, const std::vector<std::string>& chunks) {
    StopMatcher m(stops);
    Outcome out;
    for (const std::string& c : chunks) {
        StopMatcher::Result r = m.push(c);
        out.text += r.text;
        if (r.matched) {
            out.matched = true;
            out.index = r.stop_index;
            return out;
        }
    }
    out.text += m.flush();
    return out;
}

void expect_every_cut(const std::vector<std::string>& stops, const std::string& text, const Outcome& want) {
    EXPECT_EQ(run(stops, {text}), want) << text;
    for (size_t i = 0; i <= text.size(); ++i) {
        for (size_t j = i; j <= text.size(); ++j) {
            EXPECT_EQ(run(stops, {text.substr(0, i), text.substr(i, j - i), text.substr(j)}), want)
                << "cuts " << i << ", " << j << ": " << text;
        }
    }
}

TEST(Stop, NoStopsPassThrough) {
    StopMatcher m({});
    EXPECT_TRUE(m.empty());
    StopMatcher::Result r = m.push("abc");
    EXPECT_EQ(r.text, "abc");
    EXPECT_FALSE(r.matched);
    StopMatcher e({"", ""});  // empty strings are ignored
    EXPECT_TRUE(e.empty());
    EXPECT_EQ(e.push("x").text, "x");
}

TEST(Stop, SplitAcrossPushes) {
    StopMatcher m({"###"});
    StopMatcher::Result r = m.push("abc#");
    EXPECT_EQ(r.text, "abc");
    EXPECT_FALSE(r.matched);
    r = m.push("#");
    EXPECT_EQ(r.text, "");
    r = m.push("#def");
    EXPECT_TRUE(r.matched);
    EXPECT_EQ(r.stop_index, 0);
    EXPECT_EQ(r.text, "");
    EXPECT_TRUE(m.matched());
    r = m.push("more");  // after a match nothing more comes out
    EXPECT_TRUE(r.matched);
    EXPECT_EQ(r.text, "");
    expect_every_cut({"###"}, "abc###def", {"abc", true, 0});
}

TEST(Stop, FalseAlarmIsReleased) {
    StopMatcher m({"###"});
    EXPECT_EQ(m.push("a##").text, "a");
    EXPECT_EQ(m.push("b").text, "##b");
    EXPECT_EQ(m.push("#").text, "");
    EXPECT_EQ(m.flush(), "#");  // generation ended otherwise: the tail is text
    expect_every_cut({"###"}, "a##b#", {"a##b#", false, -1});
}

TEST(Stop, OverlappingStopsFirstToCompleteWins) {
    // "bc" completes (at byte 3) before "abcd" could (byte 4).
    expect_every_cut({"abcd", "bc"}, "xabcd", {"xa", true, 1});
    // Same end: the longer one (earlier start) wins.
    expect_every_cut({"b", "ab"}, "xaby", {"x", true, 1});
    expect_every_cut({"hello world", "lo"}, "hello world", {"hel", true, 1});
    // A stop that is a prefix of another.
    expect_every_cut({"User:", "User"}, "Hi\nUser: x", {"Hi\n", true, 1});
    // Self-overlapping stop.
    expect_every_cut({"aab"}, "aaab", {"a", true, 0});
}

TEST(Stop, EmptyStringsKeepTheOriginalIndices) {
    expect_every_cut({"", "END"}, "xEND", {"x", true, 1});
}

TEST(Stop, Utf8) {
    expect_every_cut({"→END"}, "x→EN→END!", {"x→EN", true, 0});
    expect_every_cut({"🙂"}, "a🙂b", {"a", true, 0});
    expect_every_cut({"<｜end▁of▁sentence｜>"}, "done<｜end▁of▁sentence｜>", {"done", true, 0});
    // Held tails start at a character boundary, so cuts at character boundaries give whole characters.
    StopMatcher m({"日本語"});
    EXPECT_EQ(m.push("é日").text, "é");
    EXPECT_EQ(m.push("本").text, "");
    EXPECT_EQ(m.push("人").text, "日本人");
}

TEST(Stop, FlushHonoursAStopInTheLastPiece) {
    StopMatcher m({"STOP"});
    EXPECT_EQ(m.push("abc ST").text, "abc ");
    EXPECT_EQ(m.flush("OP now"), "");
    EXPECT_TRUE(m.matched());
    StopMatcher n({"STOP"});
    EXPECT_EQ(n.push("abc ST").text, "abc ");
    EXPECT_EQ(n.flush("O"), "STO");
    m.reset();
    EXPECT_FALSE(m.matched());
    EXPECT_EQ(m.push("x").text, "x");
}

}  // namespace
}  // namespace r1
