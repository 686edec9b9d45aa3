// Chat templates: a conversation -> the prompt text a model was trained on, for the template families r1.cpp
// serves. Each format is written out by hand (no Jinja engine) and checked byte for byte against the real
// Jinja templates rendered by @huggingface/jinja (tests/data/chat/goldens.json, scripts/chat-goldens/).
//
//   DeepSeekR1   R1 and the R1-Distill models (Qwen2 / Llama):
//                  {BOS}{system}<｜User｜>{u}<｜Assistant｜>{a after its last
//                  </think>}<｜end▁of▁sentence｜>... <｜User｜>{u}<｜Assistant｜><think>\n
//                system = the content of the LAST system message, raw, no marker (R1-Distill template);
//                earlier reasoning is dropped from history; the generation prompt opens the thought itself,
//                so the model's output starts inside it ("forced open"). Thinking disabled: the prompt
//                continues with an empty closed thought, "<think>\n" + "\n</think>\n\n" =
//                "<think>\n\n</think>\n\n" (the empty thought R1 itself emits for trivial prompts, and
//                Qwen3's convention), so the answer starts at once. No official R1 template does this; no
//                golden. Exact (goldens): DeepSeek-R1-Distill-{Llama-8B,Qwen-32B}. The R1-671B template joins
//                several system messages with "\n\n" instead of keeping the last; identical with at most one.
//   DeepSeekV3   DeepSeek-V3 (Dec 2024): systems joined with "\n\n", history kept verbatim, prompt
//                "<｜Assistant｜>", no thinking. Exact (goldens).
//   DeepSeekV31  DeepSeek-V3.1 hybrid thinking: every assistant turn after a user turn is
//   "<｜Assistant｜><think>
//                </think>{a after its first </think>}"; prompt "<｜Assistant｜><think>" (thinking) or
//                "<｜Assistant｜><think></think>". Exact (goldens), without tool calls / "prefix" messages.
//   Llama3       Meta Llama-3: header per message, content trimmed (Python str.strip semantics). Exact
//   (goldens). Llama31      Meta Llama-3.1: Llama3 plus a system block "Cutting Knowledge Date: December
//   2023\nToday Date:
//                {date}\n\n{first system message}". Exact (goldens) with the template's default date.
//   ChatML       <|im_start|>role\n...<|im_end|>\n with Qwen3's reasoning rules (reasoning cut from history,
//                "<think>\n\n</think>\n\n" when thinking is disabled; the model opens its own <think>).
//                Exact against Qwen3 (goldens); Qwen2.5's default system prompt is not added.
// Tool calls are not rendered: roles other than system / user / assistant are an r1::Error.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace r1 {

struct ChatMessage {
    std::string role;  // "system" | "user" | "assistant"
    std::string content;
};

enum class ChatFormat { DeepSeekR1, DeepSeekV3, DeepSeekV31, Llama3, Llama31, ChatML };

// "deepseek-r1", "deepseek-v3", "deepseek-v3.1", "llama3", "llama3.1", "chatml".
const char* chat_format_name(ChatFormat format);
// Inverse of chat_format_name; throws r1::Error listing the valid names.
ChatFormat chat_format_from_name(std::string_view name);

// The format of a Jinja chat template (GGUF tokenizer.chat_template or tokenizer_config.json chat_template),
// by its markers: <｜User｜> + <｜Assistant｜> is DeepSeek (V3.1 if it has a `thinking` switch or
// "<think></think>", R1 if it mentions <think> or </think> at all -- early R1 templates only cut </think>
// from history and did not open the thought, which DeepSeek recommends forcing anyway -- else V3);
// <|start_header_id|> is Llama 3 (3.1 with "Cutting Knowledge Date"); <|im_start|> is ChatML. nullopt if none
// of these match (or the text is empty).
std::optional<ChatFormat> try_detect_chat_format(std::string_view jinja_template_text);
// As above with DeepSeekR1 as the default: r1.cpp serves DeepSeek-family models, and a GGUF without a
// template is most likely a DeepSeek conversion.
ChatFormat detect_chat_format(std::string_view jinja_template_text);

struct RenderOptions {
    // Text of the BOS token where the template writes it (DeepSeek, Llama), e.g. "<｜begin▁of▁sentence｜>";
    // empty when the caller adds the BOS id itself. Usually tok.token_text(tok.bos()). ChatML ignores it.
    std::string bos_text;
    bool add_generation_prompt = true;
    bool enable_thinking = true;              // DeepSeekR1, DeepSeekV31, ChatML; ignored by the others
    std::string date_string = "26 Jul 2024";  // Llama31 "Today Date" (the template's own default)
};

struct ChatPrompt {
    std::string text;  // tokenise with special-token parsing on; no BOS is added beyond bos_text
    // True when the text ends inside an open thought (R1 "<think>\n", V3.1 "<think>"): the model's output is
    // reasoning until it writes </think>. Construct the ReasoningSplitter with it.
    bool starts_in_reasoning = false;
};

// Throws r1::Error on a role other than system / user / assistant.
ChatPrompt render_chat(ChatFormat format, std::span<const ChatMessage> messages,
                       const RenderOptions& options);

// r1.cpp's own Jinja text for the DeepSeekR1 format (src/engine/templates/deepseek-r1.jinja): written into the
// GGUFs `r1 random-model` makes so that any engine renders them as R1; checked against the official R1-Distill
// templates by tests/data/chat/goldens.json.
std::string_view deepseek_r1_jinja_template();

// Python str.strip() (Jinja's `trim` in Hugging Face templates): Unicode whitespace on both ends.
std::string_view python_strip(std::string_view s);

}  // namespace r1
