#include "base/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "base/timer.h"

namespace r1 {

bool ProgressBar::enabled() {
    return ::isatty(STDERR_FILENO) && !std::getenv("R1_NO_PROGRESS");
}

ProgressBar::ProgressBar(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), start_ns_(now_ns()), tty_(enabled()) {}

ProgressBar::~ProgressBar() {
    if (!finished_ && tty_ && last_draw_ns_) std::fputc('\n', stderr);
}

void ProgressBar::update(int64_t done, const std::string& suffix) {
    done_ = done;
    if (!tty_) return;
    int64_t t = now_ns();
    if (t - last_draw_ns_ < 100'000'000 && done_ < total_) return;
    last_draw_ns_ = t;
    draw(suffix);
}

void ProgressBar::draw(const std::string& suffix) {
    const int width = 30;
    double frac = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
    if (frac > 1) frac = 1;
    int filled = static_cast<int>(frac * width);
    char bar[width + 1];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '-';
    bar[width] = 0;
    double secs = static_cast<double>(now_ns() - start_ns_) * 1e-9;
    std::fprintf(stderr, "\r%s [%s] %3d%% %lld/%lld%s%s %.1fs %s\x1b[K", label_.c_str(), bar,
                 static_cast<int>(frac * 100), static_cast<long long>(done_), static_cast<long long>(total_),
                 unit_.empty() ? "" : " ", unit_.c_str(), secs, suffix.c_str());
    std::fflush(stderr);
}

void ProgressBar::finish(const std::string& suffix) {
    if (finished_) return;
    finished_ = true;
    done_ = total_;
    if (tty_) {
        draw(suffix);
        std::fputc('\n', stderr);
    }
}

}  // namespace r1
