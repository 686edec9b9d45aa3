// Request parsing helpers shared by the OpenAI and Ollama routes: an ApiError carrying the HTTP status, typed
// field readers that name the offending field, and the error bodies of both APIs.
//
//   OpenAI:  {"error": {"message": "...", "type": "invalid_request_error", "param": "max_tokens", "code":
//   null}} Ollama:  {"error": "..."}
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace r1 {

using json = nlohmann::json;

class ApiError : public std::runtime_error {
  public:
    ApiError(int status_, const std::string& message, std::string type_ = "invalid_request_error",
             std::string param_ = {}, std::string code_ = {})
        : std::runtime_error(message),
          status(status_),
          type(std::move(type_)),
          param(std::move(param_)),
          code(std::move(code_)) {}
    int status;
    std::string type, param, code;
};

// 400 invalid_request_error naming `param`.
[[noreturn]] void bad_field(const std::string& param, const std::string& message);

enum class ApiStyle { OpenAI, Ollama };
json error_body(ApiStyle style, int status, const std::string& message, const std::string& type = {},
                const std::string& param = {}, const std::string& code = {});

// Parses a request body as a JSON object; malformed JSON or a non-object is a 400 naming the problem.
json parse_body(const std::string& body);

// Typed optional fields of a JSON object: absent or null -> nullopt; a wrong type -> 400 naming the field
// (`where` prefixes the name, e.g. "options.").
std::optional<bool> get_bool(const json& j, const char* key, const std::string& where = {});
std::optional<double> get_number(const json& j, const char* key, const std::string& where = {});
std::optional<int64_t> get_int(const json& j, const char* key, const std::string& where = {});
std::optional<std::string> get_string(const json& j, const char* key, const std::string& where = {});
// A string or an array of strings (OpenAI `stop`); at most `max_items`.
std::vector<std::string> get_string_or_list(const json& j, const char* key, size_t max_items,
                                            const std::string& where = {});

// Content of a chat message: a string, or an array of {"type": "text", "text": ...} parts (joined).
std::string message_text(const json& content, const std::string& where);

// RFC 3339 UTC time with nanoseconds ("2025-01-30T12:34:56.123456789Z"), as Ollama writes it.
std::string rfc3339_now();
int64_t unix_now();

}  // namespace r1
