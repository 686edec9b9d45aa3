// r1 tokenize: text -> token ids with the tokenizer of a model (GGUF), a tokenizer.json, or a directory
// holding one. Prints the ids comma-separated on one line; --show-pieces prints one token per line instead.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "base/error.h"
#include "base/mapped_file.h"
#include "base/timer.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace r1::cli {
namespace {

struct TokenizeOptions {
    std::string model;
    std::string file;
    std::string prompt;
    bool prompt_set = false;
    std::string decode_ids;
    bool no_special = false;
    bool add_bos = false;
    bool show_pieces = false;
    bool timing = false;
};

// Bytes as a readable literal: printable ASCII and complete UTF-8 characters as they are, escapes for the
// rest.
std::string escape_bytes(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '\n')
            out += "\\n";
        else if (c == '\r')
            out += "\\r";
        else if (c == '\t')
            out += "\\t";
        else if (c == '\\')
            out += "\\\\";
        else if (c == '\'')
            out += "\\'";
        else if (c >= 0x20 && c < 0x7F)
            out += static_cast<char>(c);
        else {
            const unicode::Decoded d = unicode::decode_utf8(s, i);
            if (c >= 0x80 && d.cp < unicode::kInvalidBase && !(unicode::flags(d.cp) & unicode::kWhiteSpace)) {
                out.append(s, i, d.length);
                i += d.length;
                continue;
            }
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02X", c);
            out += buf;
        }
        ++i;
    }
    return out;
}

const char* type_name(TokenType t) {
    switch (t) {
        case TokenType::Normal:
            return "";
        case TokenType::Unknown:
            return "  [unknown]";
        case TokenType::Control:
            return "  [control]";
        case TokenType::UserDefined:
            return "  [user-defined]";
        case TokenType::Unused:
            return "  [unused]";
        case TokenType::Byte:
            return "  [byte]";
    }
    return "";
}

void run_tokenize(const TokenizeOptions& o) {
    const double t0 = now_s();
    const auto tok = Tokenizer::from_path(o.model);
    const double t_load = now_s() - t0;

    if (!o.decode_ids.empty()) {
        const std::vector<int32_t> ids = parse_ids(o.decode_ids);
        const std::string text = tok->decode(ids, /*skip_special=*/o.no_special);
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fputc('\n', stdout);
        return;
    }

    std::string text;
    if (o.prompt_set) {
        text = o.prompt;
    } else if (!o.file.empty() && o.file != "-") {
        text = read_file(o.file);
    } else {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    }

    const double t1 = now_s();
    std::vector<int32_t> ids;
    if (o.add_bos) {
        if (tok->bos() < 0) fail("--add-bos: the tokenizer %s has no BOS token", o.model.c_str());
        ids.push_back(tok->bos());
    }
    const std::vector<int32_t> body = tok->encode(text, /*parse_special=*/!o.no_special);
    ids.insert(ids.end(), body.begin(), body.end());
    const double t_encode = now_s() - t1;

    if (o.show_pieces) {
        for (int32_t id : ids)
            std::printf("%7d  '%s'%s\n", id, escape_bytes(tok->token_bytes(id)).c_str(),
                        type_name(tok->token_type(id)));
    } else {
        std::string line;
        for (size_t i = 0; i < ids.size(); ++i) {
            if (i) line += ',';
            line += std::to_string(ids[i]);
        }
        std::puts(line.c_str());
    }
    if (o.timing) {
        std::fprintf(stderr,
                     "tokenizer: %s (%s, %d tokens); load %.3f s\n"
                     "encoded %zu bytes into %zu tokens in %.3f s (%.2f MB/s, %.2f bytes/token)\n",
                     o.model.c_str(), pre_tokenizer_name(tok->pre_tokenizer()), tok->n_vocab(), t_load,
                     text.size(), body.size(), t_encode, text.size() / 1e6 / (t_encode > 0 ? t_encode : 1e-9),
                     body.empty() ? 0.0 : static_cast<double>(text.size()) / body.size());
    }
}

}  // namespace

void add_tokenize(CLI::App& app) {
    auto o = std::make_shared<TokenizeOptions>();
    auto* cmd = app.add_subcommand("tokenize", "Turn text into token ids (or ids back into text)");
    cmd->footer(
        "The text comes from -p, -f FILE, or standard input. Special-token text in it (\"<｜User｜>\", "
        "\"<|im_end|>\")\nbecomes the special token unless --no-special; user-defined tokens such as <think> "
        "are "
        "always matched.\nNo BOS is added unless --add-bos.\n\n"
        "Examples:\n"
        "  r1 tokenize -m model.gguf -p 'Hello world'\n"
        "  r1 tokenize -m .cache/assets/deepseek_v3/tokenizer.json -f prompt.txt --show-pieces\n"
        "  r1 tokenize -m .cache/assets/qwen3 --decode 9707,1879");
    cmd->add_option("-m,--model", o->model,
                    "GGUF model, tokenizer.json, or a directory holding tokenizer.json")
        ->required();
    auto* file_opt =
        cmd->add_option("-f,--file", o->file, "Read the text from FILE ('-' for standard input)");
    cmd->add_option("-p,--prompt", o->prompt, "The text to tokenize")
        ->excludes(file_opt)
        ->each([o](const std::string&) { o->prompt_set = true; });
    cmd->add_option("--decode", o->decode_ids,
                    "Decode comma-separated ids to text instead (with --no-special: "
                    "leave out control tokens)");
    cmd->add_flag("--no-special", o->no_special, "Treat special-token text as plain text");
    cmd->add_flag("--add-bos", o->add_bos, "Put the BOS token first");
    cmd->add_flag("--show-pieces", o->show_pieces, "One token per line: id, bytes (escaped), and its type");
    cmd->add_flag("--timing", o->timing, "Report load time and encoding speed on standard error");
    cmd->callback([o] { run_tokenize(*o); });
}

}  // namespace r1::cli
