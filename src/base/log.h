// Logging to stderr. Level from the R1_LOG_LEVEL environment variable (debug|info|warn|error|off; default
// info) or set_log_level(). Nothing in kernels logs.
#pragma once

namespace r1 {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3, Off = 4 };

void set_log_level(LogLevel level);
LogLevel log_level();
void log_message(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace r1

#define R1_LOG_DEBUG(...) ::r1::log_message(::r1::LogLevel::Debug, __VA_ARGS__)
#define R1_LOG_INFO(...) ::r1::log_message(::r1::LogLevel::Info, __VA_ARGS__)
#define R1_LOG_WARN(...) ::r1::log_message(::r1::LogLevel::Warn, __VA_ARGS__)
#define R1_LOG_ERROR(...) ::r1::log_message(::r1::LogLevel::Error, __VA_ARGS__)
