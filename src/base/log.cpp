#include "base/log.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace r1 {
namespace {

LogLevel level_from_env() {
    const char* s = std::getenv("R1_LOG_LEVEL");
    if (!s) return LogLevel::Info;
    if (!std::strcmp(s, "debug")) return LogLevel::Debug;
    if (!std::strcmp(s, "warn")) return LogLevel::Warn;
    if (!std::strcmp(s, "error")) return LogLevel::Error;
    if (!std::strcmp(s, "off")) return LogLevel::Off;
    return LogLevel::Info;
}

std::atomic<int> g_level{static_cast<int>(level_from_env())};
std::mutex g_mutex;

}  // namespace

void set_log_level(LogLevel level) {
    g_level.store(static_cast<int>(level));
}
LogLevel log_level() {
    return static_cast<LogLevel>(g_level.load());
}

void log_message(LogLevel level, const char* fmt, ...) {
    if (static_cast<int>(level) < g_level.load()) return;
    static const char* const kPrefix[] = {"debug: ", "", "warning: ", "error: "};
    std::lock_guard<std::mutex> lock(g_mutex);
    std::fputs(kPrefix[static_cast<int>(level)], stderr);
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(stderr, fmt, ap);
    va_end(ap);
    std::fputc('\n', stderr);
}

}  // namespace r1
