#include "base/error.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace r1 {

std::string vstrfmt(const char* fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = std::vsnprintf(small, sizeof small, fmt, ap);
    std::string out;
    if (n < 0) {
        va_end(ap2);
        return std::string(fmt);
    }
    if (static_cast<size_t>(n) < sizeof small) {
        out.assign(small, static_cast<size_t>(n));
    } else {
        out.resize(static_cast<size_t>(n) + 1);
        std::vsnprintf(out.data(), out.size(), fmt, ap2);
        out.resize(static_cast<size_t>(n));
    }
    va_end(ap2);
    return out;
}

std::string strfmt(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::string s = vstrfmt(fmt, ap);
    va_end(ap);
    return s;
}

void fail(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::string s = vstrfmt(fmt, ap);
    va_end(ap);
    throw Error(s);
}

void assert_failed(const char* file, int line, const char* cond) {
    std::fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, cond);
    std::fflush(stderr);
    std::abort();
}

void assert_failed(const char* file, int line, const char* cond, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::string s = vstrfmt(fmt, ap);
    va_end(ap);
    std::fprintf(stderr, "%s:%d: assertion failed: %s%s%s\n", file, line, cond, s.empty() ? "" : ": ",
                 s.c_str());
    std::fflush(stderr);
    std::abort();
}

}  // namespace r1
