// Request parsing helpers (api_util.h).
#include "server/api_util.h"

#include <chrono>
#include <cmath>
#include <ctime>

#include "base/error.h"

namespace r1 {

void bad_field(const std::string& param, const std::string& message) {
    throw ApiError(400, message, "invalid_request_error", param);
}

json error_body(ApiStyle style, int status, const std::string& message, const std::string& type,
                const std::string& param, const std::string& code) {
    if (style == ApiStyle::Ollama) return json{{"error", message}};
    std::string t = type;
    if (t.empty())
        t = status == 401 ? "authentication_error" : status >= 500 ? "server_error" : "invalid_request_error";
    json e{{"message", message}, {"type", t}, {"param", nullptr}, {"code", nullptr}};
    if (!param.empty()) e["param"] = param;
    if (!code.empty()) e["code"] = code;
    return json{{"error", e}};
}

json parse_body(const std::string& body) {
    if (body.empty()) throw ApiError(400, "the request body is empty; expected a JSON object");
    json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
        // Parse again with exceptions for the position of the error.
        try {
            const json again = json::parse(body);
            (void)again;
        } catch (const json::parse_error& e) {
            throw ApiError(400, strfmt("the request body is not valid JSON (%s)", e.what()));
        }
        throw ApiError(400, "the request body is not valid JSON");
    }
    if (!j.is_object()) throw ApiError(400, "the request body must be a JSON object");
    return j;
}

namespace {

const json* field(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return nullptr;
    return &*it;
}

const char* kind(const json& v) {
    switch (v.type()) {
        case json::value_t::string:
            return "a string";
        case json::value_t::boolean:
            return "a boolean";
        case json::value_t::array:
            return "an array";
        case json::value_t::object:
            return "an object";
        default:
            return v.is_number() ? "a number" : "null";
    }
}

}  // namespace

std::optional<bool> get_bool(const json& j, const char* key, const std::string& where) {
    const json* v = field(j, key);
    if (!v) return std::nullopt;
    if (!v->is_boolean())
        bad_field(where + key, strfmt("'%s%s' must be a boolean, got %s", where.c_str(), key, kind(*v)));
    return v->get<bool>();
}

std::optional<double> get_number(const json& j, const char* key, const std::string& where) {
    const json* v = field(j, key);
    if (!v) return std::nullopt;
    if (!v->is_number())
        bad_field(where + key, strfmt("'%s%s' must be a number, got %s", where.c_str(), key, kind(*v)));
    const double d = v->get<double>();
    if (!std::isfinite(d)) bad_field(where + key, strfmt("'%s%s' must be finite", where.c_str(), key));
    return d;
}

std::optional<int64_t> get_int(const json& j, const char* key, const std::string& where) {
    const json* v = field(j, key);
    if (!v) return std::nullopt;
    if (v->is_number_integer()) return v->get<int64_t>();
    if (v->is_number_float()) {
        const double d = v->get<double>();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
    }
    bad_field(where + key, strfmt("'%s%s' must be an integer, got %s", where.c_str(), key,
                                  v->is_number() ? "a fraction" : kind(*v)));
}

std::optional<std::string> get_string(const json& j, const char* key, const std::string& where) {
    const json* v = field(j, key);
    if (!v) return std::nullopt;
    if (!v->is_string())
        bad_field(where + key, strfmt("'%s%s' must be a string, got %s", where.c_str(), key, kind(*v)));
    return v->get<std::string>();
}

std::vector<std::string> get_string_or_list(const json& j, const char* key, size_t max_items,
                                            const std::string& where) {
    const json* v = field(j, key);
    std::vector<std::string> out;
    if (!v) return out;
    if (v->is_string()) {
        out.push_back(v->get<std::string>());
    } else if (v->is_array()) {
        for (const json& e : *v) {
            if (!e.is_string())
                bad_field(where + key,
                          strfmt("'%s%s' must be a string or an array of strings", where.c_str(), key));
            out.push_back(e.get<std::string>());
        }
    } else {
        bad_field(where + key, strfmt("'%s%s' must be a string or an array of strings, got %s", where.c_str(),
                                      key, kind(*v)));
    }
    if (out.size() > max_items)
        bad_field(where + key, strfmt("'%s%s' has %zu entries; at most %zu are allowed", where.c_str(), key,
                                      out.size(), max_items));
    return out;
}

std::string message_text(const json& content, const std::string& where) {
    if (content.is_null()) return {};
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array())
        bad_field(where, strfmt("'%s' must be a string or an array of text parts, got %s", where.c_str(),
                                kind(content)));
    std::string text;
    for (const json& part : content) {
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
            !part["text"].is_string())
            bad_field(where,
                      strfmt("'%s': only text parts ({\"type\": \"text\", \"text\": ...}) are supported",
                             where.c_str()));
        text += part["text"].get<std::string>();
    }
    return text;
}

std::string rfc3339_now() {
    const auto now = std::chrono::system_clock::now();
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return strfmt("%s.%09lldZ", buf, static_cast<long long>(ns % 1000000000));
}

int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace r1
