// r1::Error and strfmt: the error tier for bad input (files, configs, requests, flags).
// Programmer invariants use R1_ASSERT (always on, aborts); bad input throws r1::Error, caught at the CLI or
// HTTP boundary. Messages say what was expected and what was found, and what to do when that is known.
#pragma once

#include <cstdarg>
#include <stdexcept>
#include <string>

namespace r1 {

class Error : public std::runtime_error {
  public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// printf-style formatting into a std::string (g++ 12 has no <format>).
std::string strfmt(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string vstrfmt(const char* fmt, va_list ap);

// Throws r1::Error with a formatted message.
[[noreturn]] void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

[[noreturn]] void assert_failed(const char* file, int line, const char* cond);
[[noreturn]] void assert_failed(const char* file, int line, const char* cond, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));

}  // namespace r1

// Always-on invariant check for programmer errors; prints file:line and the message, then aborts.
#define R1_ASSERT(cond, ...)                                                                            \
    do {                                                                                                \
        if (__builtin_expect(!(cond), 0)) r1::assert_failed(__FILE__, __LINE__, #cond __VA_OPT__(, ) __VA_ARGS__); \
    } while (0)

#ifdef NDEBUG
#define R1_DASSERT(cond, ...) ((void)0)
#else
#define R1_DASSERT(cond, ...) R1_ASSERT(cond __VA_OPT__(, ) __VA_ARGS__)
#endif
