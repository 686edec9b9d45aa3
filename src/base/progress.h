// A progress bar on stderr for long work (loading, converting, training, benchmarks).
// On a terminal it redraws one line with \r (at most ~10 times a second); when stderr is not a terminal it
// prints nothing until finish(), which prints one summary line, so logs stay readable.
#pragma once

#include <cstdint>
#include <string>

namespace r1 {

class ProgressBar {
  public:
    ProgressBar(std::string label, int64_t total, std::string unit = "");
    ~ProgressBar();
    void update(int64_t done, const std::string& suffix = "");
    void finish(const std::string& suffix = "");
    static bool enabled();  // stderr is a terminal and R1_NO_PROGRESS is unset

  private:
    void draw(const std::string& suffix);
    std::string label_, unit_;
    int64_t total_, done_ = 0;
    int64_t start_ns_, last_draw_ns_ = 0;
    bool finished_ = false, tty_;
};

}  // namespace r1
