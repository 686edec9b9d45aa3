#!/usr/bin/python3
"""Pre-tokenisation goldens from Oniguruma 6.9.8 itself, the regex engine Hugging Face tokenizers uses.

    apt-get install libonig5        # the runtime; Debian 12 ships 6.9.8, the version HF's onig_sys bundles
    /usr/bin/python3 scripts/tokenizer-goldens/gen_pieces_onig.py

Writes tests/data/tokenizer/pieces_{deepseek_v3,qwen2,llama3,deepseek_llm,deepseek_coder}.jsonl: one
{"text": ..., "pieces": [...]} per input, the pieces being what HF's Split(pattern, behavior=Isolated) steps
produce (regex matches and the gaps between them, each Split applied to every piece of the previous one). The
regexes are the ones in the tokenizer.json files. The patterns are compiled as the Rust onig crate's
Regex::new does (OnigDefaultSyntax, no options) through ctypes, so no C code is compiled.

DeepSeek-LLM (the 102,400-token vocabulary of DeepSeek-LLM and DeepSeek-V2/V2-Lite, GGUF pre "deepseek-llm")
and DeepSeek-Coder ("deepseek-coder") end their Split steps with Digits(individual_digits=True), which isolates
every character Rust's char::is_numeric accepts (General_Category Nd, Nl or No); here that step is the
Oniguruma split "\\p{N}", the same categories in Unicode 14. Their pre_tokenizer objects are also written to
tests/data/tokenizer/hf_pre_tokenizer_{deepseek_llm,deepseek_coder}.json (ASCII-escaped so that no tool
NFC-normalises the regex: it contains U+1F7D, U+212A, ... whose NFC forms would change the ranges), for the
loader test that recognises them.

Inputs: every text of tests/data/tokenizer/golden_*.jsonl, plus cases the JS golden generator must avoid
because JavaScript regexes differ from Oniguruma there (U+0085 and U+FEFF in \\s, U+017F in (?i:'s)), plus
probes of every range boundary of the DeepSeek-LLM character classes and random strings over their classes.
"""
import ctypes
import json
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests/data/tokenizer")

DS3 = [
    r"\p{N}{1,3}",
    "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
    " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
]
QWEN2 = [r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"]
LLAMA3 = [r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"]

# The Split regexes of deepseek-llm-7b-base's tokenizer.json (also DeepSeek-V2's), in order.
DS_LLM_LETTERS = (
    "A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af\u0370-\u0373"
    "\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5\u03f7-\u0481"
    "\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b"
    "\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b"
    "\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb"
    "\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128"
    "\u212a-\u212d\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4"
    "\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf"
    "\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3"
    "\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-\U000118df\U0001e900-\U0001e943"
)
DS_LLM_PUNCT = "!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002"
DS_CJK_HANGUL = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+"
DS_LLM = ["[\r\n]", "\\s?[" + DS_LLM_LETTERS + "]+", "\\s?[" + DS_LLM_PUNCT + "]+", "\\s+$", DS_CJK_HANGUL]
DS_CODER = ["[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", DS_CJK_HANGUL]
DIGITS = r"\p{N}"  # Digits(individual_digits=True)

EXTRA = [
    "a\u0085b", "x \u0085 y", "\u0085\u0085\n", "line\u0085\u0085end ", "\ufeffBOM at start", "a\ufeff b \ufeff\ufeff",
    " \ufeff\n", "it'\u017f it'\u017fs IT'\u017f '\u017f", "'\u017fx", "\u0085'S\ufeff'\u017f",
    "\u180e\u200b\u2060 zero widths", "\u00a0\u00a0x\u00a0", "tab\u000bvt\u000cff\u001cfs\u001dgs\u001ers\u001fus",
    "'\u212a Kelvin", "don\u2019t (curly apostrophe)", "\u0300\u0301 leading marks", "a\u0300\u0301\u0302bc",
    "12\u0661\u0662\u0663\uff11\uff12", "\u2460\u2461\u2462\u2463", "\u3007\u3021\u3022 ideographic numbers",
    "\u4e00\u9fa5\u9fa6\u3040\u309f\u30a0\u30ff\u31f0", "\u9fa6\u9fff\u4dff", "A\u30fc\u30fcB",
]


class Onig:
    def __init__(self):
        self.lib = ctypes.CDLL("libonig.so.5")
        self.enc = ctypes.addressof(ctypes.c_char.in_dll(self.lib, "OnigEncodingUTF8"))
        self.syntax = ctypes.c_void_p.in_dll(self.lib, "OnigDefaultSyntax").value
        encs = (ctypes.c_void_p * 1)(self.enc)
        self.lib.onig_initialize(encs, 1)
        self.lib.onig_new.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p, ctypes.c_void_p,
                                      ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        self.lib.onig_search.argtypes = [ctypes.c_void_p] * 6 + [ctypes.c_uint]
        self.lib.onig_region_new.restype = ctypes.c_void_p
        self.region = self.lib.onig_region_new()
        self.lib.onig_version.restype = ctypes.c_char_p
        self.version = self.lib.onig_version().decode()

    def compile(self, pattern):
        pat = pattern.encode("utf-8")
        buf = ctypes.create_string_buffer(pat, len(pat))
        reg = ctypes.c_void_p()
        err = (ctypes.c_char * 64)()
        base = ctypes.addressof(buf)
        r = self.lib.onig_new(ctypes.byref(reg), base, base + len(pat), 0, self.enc, self.syntax, err)
        if r != 0:
            raise RuntimeError("onig_new failed (%d) for %r" % (r, pattern))
        return reg

    def find_iter(self, reg, data):
        """Yields (begin, end) byte offsets of successive non-overlapping matches in data (bytes)."""
        buf = ctypes.create_string_buffer(data, len(data))
        base = ctypes.addressof(buf)
        end = base + len(data)
        pos = 0
        beg_arr = ctypes.cast(self.region + 8, ctypes.POINTER(ctypes.POINTER(ctypes.c_int)))
        end_arr = ctypes.cast(self.region + 16, ctypes.POINTER(ctypes.POINTER(ctypes.c_int)))
        while pos < len(data):
            r = self.lib.onig_search(reg, base, end, base + pos, end, self.region, 0)
            if r < 0:
                break
            b, e = beg_arr.contents[0], end_arr.contents[0]
            if e == b:
                raise RuntimeError("empty match at %d" % b)  # none of these patterns can match empty
            yield b, e
            pos = e


def split_isolated(onig, reg, piece):
    data = piece.encode("utf-8")
    out = []
    prev = 0
    for b, e in onig.find_iter(reg, data):
        if prev < b:
            out.append(data[prev:b])
        out.append(data[b:e])
        prev = e
    if prev < len(data):
        out.append(data[prev:])
    return [x.decode("utf-8") for x in out]


def pre_tokenize(onig, regs, text):
    pieces = [text] if text else []
    for reg in regs:
        pieces = [p for piece in pieces for p in split_isolated(onig, reg, piece)]
    return pieces


def deepseek_probe_texts(rng):
    """Both sides of every range boundary of the DeepSeek-LLM classes, in the contexts each step cares about
    (after a space, after a non-member, at the end of a piece), plus random strings over the classes."""
    ranges = []
    cls = DS_LLM_LETTERS + DS_LLM_PUNCT + "\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff"
    i = 0
    while i < len(cls):
        if i + 2 < len(cls) and cls[i + 1] == "-":
            ranges.append((ord(cls[i]), ord(cls[i + 2])))
            i += 3
        else:
            ranges.append((ord(cls[i]), ord(cls[i])))
            i += 1
    ok = lambda c: 0 <= c < 0x110000 and not (0xD800 <= c <= 0xDFFF)
    texts = []
    for lo, hi in ranges:
        edge = [c for c in (lo - 1, lo, hi, hi + 1) if ok(c)]
        s = "".join(chr(c) for c in edge)
        texts += [s, " " + " ".join(chr(c) for c in edge) + " ", "x" + s + "1 ", "\u3000" + s + "\u3000"]
    texts += [
        "\u00dcber na\u00efve caf\u00e9", "\u03a9\u03bc\u03ad\u03b3\u03b1 \u1f7d\u1fbe \u2126\u212a", "a\u3000b\u3000\u3000c",
        "\u3000\u3000x", "\u3000\uff0c\u3002 x", "x  \t", "1 2 3  ", "foo\u00a0", "x\u0085", "line1\r\nline2\n\n end  ",
        "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8", "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
        "\u0915\u093f\u0924\u093e\u092c \u0661\u0662\u0663", "x\u2018quoted\u201f \u201cok\u201d", "\u216b\u00bd\u2460 9\uff19",
        "  \n  \r\n\t \u3000", "\u0301\u0301a\u0301 \u0301", "\u01bb\u0294 \u01c5\u02b0 \u00aa\u00ba", "\U0001f600 \U0001f600\U0001f600",
        "def f(x):\n    return x**2  # comment\n", "<tag attr=\"v\">text</tag>", "a,b;c.d!e?f", "$100 & 50% off!!",
        "\u2028 \u2029 \u200b\u180e", "tab\tsep\u000bvt\u000cff",
    ]
    pool = [" ", "\u3000", "\n", "\r", "\t", "\u00a0", "\u0085", "a", "Z", "\u00e9", "\u1f7d", "\u2126", "\u212a",
            "\u01bb", "\u0294", "\u01c5", "\u0424", "\u0436", "!", "~", "'", "_", "\uff0c", "\u2018", "\u3002", "\u2026",
            "\u4e2d", "\uac00", "\u0800", "\u07ff", "\u30a2", "1", "\u0663", "\u216b", "\u00bd", "\u0301", "\U0001f600",
            "\u00b5", "\u00d7", "\u00f7", "$", "+", "<", "=", "^", "|", "\u00a7"]
    texts += ["".join(rng.choice(pool) for _ in range(rng.randint(1, 16))) for _ in range(400)]
    return texts


def main():
    onig = Onig()
    if not onig.version.startswith("6.9."):
        print("warning: Oniguruma %s (HF tokenizers bundles 6.9.8)" % onig.version, file=sys.stderr)
    texts = []
    seen = set()
    for name in ("deepseek_v3", "qwen3", "llama3_1"):
        path = os.path.join(DATA, "golden_%s.jsonl" % name)
        for line in open(path, encoding="utf-8"):
            t = json.loads(line)["text"]
            if t not in seen:
                seen.add(t)
                texts.append(t)
    rng = random.Random(85)
    pool = ["\u0085", "\ufeff", "\u017f", "'", " ", "\n", "a", "S", "1", ".", "\u00a0", "\u4e00", "\u0301"]
    extra = list(EXTRA) + ["".join(rng.choice(pool) for _ in range(rng.randint(1, 12))) for _ in range(200)]
    texts += extra
    texts += [t for t in deepseek_probe_texts(random.Random(102400)) if t not in seen and not seen.add(t)]
    families = (("deepseek_v3", DS3), ("qwen2", QWEN2), ("llama3", LLAMA3), ("deepseek_llm", DS_LLM + [DIGITS]),
                ("deepseek_coder", DS_CODER + [DIGITS]))
    for name, patterns in families:
        regs = [onig.compile(p) for p in patterns]
        out = os.path.join(DATA, "pieces_%s.jsonl" % name)
        with open(out, "w", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps({"text": t, "pieces": pre_tokenize(onig, regs, t)}, ensure_ascii=False) + "\n")
        print("wrote %s: %d texts (Oniguruma %s)" % (out, len(texts), onig.version), file=sys.stderr)

    # The pre_tokenizer objects of the two tokenizer.json files.
    for name, patterns in (("deepseek_llm", DS_LLM), ("deepseek_coder", DS_CODER)):
        steps = [{"type": "Split", "pattern": {"Regex": p}, "behavior": "Isolated", "invert": False} for p in patterns]
        steps.append({"type": "Digits", "individual_digits": True})
        steps.append({"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False})
        out = os.path.join(DATA, "hf_pre_tokenizer_%s.json" % name)
        with open(out, "w", encoding="ascii") as f:
            f.write(json.dumps({"type": "Sequence", "pretokenizers": steps}, ensure_ascii=True, indent=1) + "\n")
        print("wrote %s" % out, file=sys.stderr)


if __name__ == "__main__":
    main()
