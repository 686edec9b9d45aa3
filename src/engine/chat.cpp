// Chat template renderers, one function per format; see chat.h for the formats and the templates they follow.
#include "engine/chat.h"

#include "engine/templates.h"

#include <cstdint>

#include "base/error.h"

namespace r1 {

namespace {

constexpr std::string_view kDsUser = "<｜User｜>";
constexpr std::string_view kDsAssistant = "<｜Assistant｜>";
constexpr std::string_view kDsEos = "<｜end▁of▁sentence｜>";
constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";

enum class Role { System, User, Assistant };

Role parse_role(const ChatMessage& m, size_t index) {
    if (m.role == "system") return Role::System;
    if (m.role == "user") return Role::User;
    if (m.role == "assistant") return Role::Assistant;
    fail(
        "chat message %zu has role '%s'; expected 'system', 'user' or 'assistant' (tool messages are not "
        "supported by r1's chat templates)",
        index, m.role.c_str());
}

bool contains(std::string_view s, std::string_view needle) {
    return s.find(needle) != std::string_view::npos;
}

// Python's s.split(sep)[-1] and s.split(sep)[0].
std::string_view after_last(std::string_view s, std::string_view sep) {
    size_t p = s.rfind(sep);
    return p == std::string_view::npos ? s : s.substr(p + sep.size());
}
std::string_view before_first(std::string_view s, std::string_view sep) {
    size_t p = s.find(sep);
    return p == std::string_view::npos ? s : s.substr(0, p);
}
// Python's s.lstrip('\n') / s.rstrip('\n').
std::string_view lstrip_newlines(std::string_view s) {
    while (!s.empty() && s.front() == '\n') s.remove_prefix(1);
    return s;
}
std::string_view rstrip_newlines(std::string_view s) {
    while (!s.empty() && s.back() == '\n') s.remove_suffix(1);
    return s;
}

// Code points Python's str.isspace() accepts.
bool is_python_space(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

// Decodes the UTF-8 character starting at s[0]; returns its length, or 0 if it is not valid UTF-8.
size_t decode_utf8(std::string_view s, uint32_t& cp) {
    if (s.empty()) return 0;
    auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
    size_t n = b(0) < 0x80           ? 1
               : (b(0) >> 5) == 0x6  ? 2
               : (b(0) >> 4) == 0xE  ? 3
               : (b(0) >> 3) == 0x1E ? 4
                                     : 0;
    if (n == 0 || n > s.size()) return 0;
    cp = n == 1 ? b(0) : n == 2 ? (b(0) & 0x1F) : n == 3 ? (b(0) & 0x0F) : (b(0) & 0x07);
    for (size_t i = 1; i < n; ++i) {
        if ((b(i) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b(i) & 0x3F);
    }
    return n;
}

}  // namespace

std::string_view python_strip(std::string_view s) {
    uint32_t cp = 0;
    while (!s.empty()) {
        size_t n = decode_utf8(s, cp);
        if (n == 0 || !is_python_space(cp)) break;
        s.remove_prefix(n);
    }
    while (!s.empty()) {
        size_t start = s.size() - 1;  // back up over continuation bytes to the last character's first byte
        while (start > 0 && s.size() - start < 4 && (static_cast<uint8_t>(s[start]) & 0xC0) == 0x80) --start;
        size_t n = decode_utf8(s.substr(start), cp);
        if (n != s.size() - start || !is_python_space(cp)) break;
        s.remove_suffix(n);
    }
    return s;
}

const char* chat_format_name(ChatFormat format) {
    switch (format) {
        case ChatFormat::DeepSeekR1:
            return "deepseek-r1";
        case ChatFormat::DeepSeekV3:
            return "deepseek-v3";
        case ChatFormat::DeepSeekV31:
            return "deepseek-v3.1";
        case ChatFormat::Llama3:
            return "llama3";
        case ChatFormat::Llama31:
            return "llama3.1";
        case ChatFormat::ChatML:
            return "chatml";
    }
    return "?";
}

ChatFormat chat_format_from_name(std::string_view name) {
    for (ChatFormat f : {ChatFormat::DeepSeekR1, ChatFormat::DeepSeekV3, ChatFormat::DeepSeekV31,
                         ChatFormat::Llama3, ChatFormat::Llama31, ChatFormat::ChatML}) {
        if (name == chat_format_name(f)) return f;
    }
    fail(
        "unknown chat format '%.*s'; expected one of deepseek-r1, deepseek-v3, deepseek-v3.1, llama3, "
        "llama3.1, "
        "chatml",
        static_cast<int>(name.size()), name.data());
}

std::optional<ChatFormat> try_detect_chat_format(std::string_view t) {
    if (t == deepseek_r1_jinja_template()) return ChatFormat::DeepSeekR1;  // ours (mentions enable_thinking)
    if (contains(t, kDsUser) && contains(t, kDsAssistant)) {
        if (contains(t, "thinking is defined") || contains(t, "<think></think>"))
            return ChatFormat::DeepSeekV31;
        if (contains(t, kThinkOpen) || contains(t, kThinkClose)) return ChatFormat::DeepSeekR1;
        return ChatFormat::DeepSeekV3;
    }
    if (contains(t, "<|start_header_id|>")) {
        return contains(t, "Cutting Knowledge Date") ? ChatFormat::Llama31 : ChatFormat::Llama3;
    }
    if (contains(t, "<|im_start|>")) return ChatFormat::ChatML;
    return std::nullopt;
}

ChatFormat detect_chat_format(std::string_view jinja_template_text) {
    return try_detect_chat_format(jinja_template_text).value_or(ChatFormat::DeepSeekR1);
}

namespace {

// DeepSeek R1 / R1-Distill and V3 share everything but the system rule, the history cut and the prompt.
ChatPrompt render_deepseek(bool r1, std::span<const ChatMessage> messages, const RenderOptions& o) {
    std::string system;
    bool first_system = true;
    for (size_t i = 0; i < messages.size(); ++i) {
        if (parse_role(messages[i], i) != Role::System) continue;
        if (r1) {
            system = messages[i].content;  // the last one wins
        } else {
            if (!first_system) system += "\n\n";
            system += messages[i].content;
            first_system = false;
        }
    }
    ChatPrompt out;
    std::string& s = out.text;
    s += o.bos_text;
    s += system;
    for (const ChatMessage& m : messages) {
        if (m.role == "user") {
            s += kDsUser;
            s += m.content;
        } else if (m.role == "assistant") {
            s += kDsAssistant;
            s += r1 ? after_last(m.content, kThinkClose) : std::string_view(m.content);
            s += kDsEos;
        }
    }
    if (o.add_generation_prompt) {
        s += kDsAssistant;
        if (r1) {
            s += "<think>\n";
            if (o.enable_thinking) {
                out.starts_in_reasoning = true;
            } else {
                s += "\n</think>\n\n";
            }
        }
    }
    return out;
}

ChatPrompt render_deepseek_v31(std::span<const ChatMessage> messages, const RenderOptions& o) {
    std::string system;
    bool first_system = true;
    for (size_t i = 0; i < messages.size(); ++i) {
        if (parse_role(messages[i], i) != Role::System) continue;
        if (!first_system) system += "\n\n";
        system += messages[i].content;
        first_system = false;
    }
    ChatPrompt out;
    std::string& s = out.text;
    s += o.bos_text;
    s += system;
    bool last_was_user = false;  // the template's ns.is_last_user (system messages leave it alone)
    for (const ChatMessage& m : messages) {
        if (m.role == "user") {
            s += kDsUser;
            s += m.content;
            last_was_user = true;
        } else if (m.role == "assistant") {
            if (last_was_user) {
                s += kDsAssistant;
                s += "<think></think>";
            }
            last_was_user = false;
            // content.split('</think>', 1)[1]: everything after the FIRST closing tag.
            std::string_view c = m.content;
            size_t p = c.find(kThinkClose);
            if (p != std::string_view::npos) c = c.substr(p + kThinkClose.size());
            s += c;
            s += kDsEos;
        }
    }
    if (o.add_generation_prompt && last_was_user) {
        s += kDsAssistant;
        s += o.enable_thinking ? "<think>" : "<think></think>";
        out.starts_in_reasoning = o.enable_thinking;
    }
    return out;
}

void append_llama_message(std::string& s, std::string_view role, std::string_view content) {
    s += "<|start_header_id|>";
    s += role;
    s += "<|end_header_id|>\n\n";
    s += python_strip(content);
    s += "<|eot_id|>";
}

ChatPrompt render_llama3(bool v31, std::span<const ChatMessage> messages, const RenderOptions& o) {
    for (size_t i = 0; i < messages.size(); ++i) parse_role(messages[i], i);
    ChatPrompt out;
    std::string& s = out.text;
    size_t first = 0;
    if (v31) {
        // Llama-3.1 always opens with a system block; a leading system message goes into it.
        s += o.bos_text;
        s += "<|start_header_id|>system<|end_header_id|>\n\n";
        s += "Cutting Knowledge Date: December 2023\nToday Date: ";
        s += o.date_string;
        s += "\n\n";
        if (!messages.empty() && messages[0].role == "system") {
            s += python_strip(messages[0].content);
            first = 1;
        }
        s += "<|eot_id|>";
    } else if (!messages.empty()) {
        s += o.bos_text;  // Llama-3 puts BOS before the first message only
    }
    for (size_t i = first; i < messages.size(); ++i)
        append_llama_message(s, messages[i].role, messages[i].content);
    if (o.add_generation_prompt) s += "<|start_header_id|>assistant<|end_header_id|>\n\n";
    return out;
}

// Qwen3's template: reasoning is cut from assistant turns; turns after the last user query keep (re-render)
// it.
ChatPrompt render_chatml(std::span<const ChatMessage> messages, const RenderOptions& o) {
    for (size_t i = 0; i < messages.size(); ++i) parse_role(messages[i], i);
    // The last user message (the template also skips "<tool_response>...</tool_response>" users; r1 has
    // none).
    size_t last_query = messages.empty() ? 0 : messages.size() - 1;
    for (size_t i = messages.size(); i-- > 0;) {
        if (messages[i].role == "user") {
            last_query = i;
            break;
        }
    }
    ChatPrompt out;
    std::string& s = out.text;
    for (size_t i = 0; i < messages.size(); ++i) {
        const ChatMessage& m = messages[i];
        if (m.role == "user" || m.role == "system") {
            s += "<|im_start|>";
            s += m.role;
            s += "\n";
            s += m.content;
            s += "<|im_end|>\n";
            continue;
        }
        std::string_view content = m.content, reasoning;
        if (contains(content, kThinkClose)) {
            content = lstrip_newlines(after_last(m.content, kThinkClose));
            reasoning = lstrip_newlines(
                after_last(rstrip_newlines(before_first(m.content, kThinkClose)), kThinkOpen));
        }
        s += "<|im_start|>assistant\n";
        bool last = i + 1 == messages.size();
        if (i > last_query && (last || !reasoning.empty())) {
            s += "<think>\n";
            s += rstrip_newlines(lstrip_newlines(reasoning));
            s += "\n</think>\n\n";
            s += lstrip_newlines(content);
        } else {
            s += content;
        }
        s += "<|im_end|>\n";
    }
    if (o.add_generation_prompt) {
        s += "<|im_start|>assistant\n";
        if (!o.enable_thinking) s += "<think>\n\n</think>\n\n";
    }
    return out;
}

}  // namespace

ChatPrompt render_chat(ChatFormat format, std::span<const ChatMessage> messages,
                       const RenderOptions& options) {
    switch (format) {
        case ChatFormat::DeepSeekR1:
            return render_deepseek(true, messages, options);
        case ChatFormat::DeepSeekV3:
            return render_deepseek(false, messages, options);
        case ChatFormat::DeepSeekV31:
            return render_deepseek_v31(messages, options);
        case ChatFormat::Llama3:
            return render_llama3(false, messages, options);
        case ChatFormat::Llama31:
            return render_llama3(true, messages, options);
        case ChatFormat::ChatML:
            return render_chatml(messages, options);
    }
    fail("render_chat: unknown chat format %d", static_cast<int>(format));
}

std::string_view deepseek_r1_jinja_template() { return templates::kDeepSeekR1; }

}  // namespace r1
