#!/usr/bin/python3
"""Pre-tokenisation goldens from Oniguruma 6.9.8 itself, the regex engine Hugging Face tokenizers uses.

    apt-get install libonig5        # the runtime; Debian 12 ships 6.9.8, the version HF's onig_sys bundles
    /usr/bin/python3 scripts/tokenizer-goldens/gen_pieces_onig.py

Writes tests/data/tokenizer/pieces_{deepseek_v3,qwen2,llama3}.jsonl: one {"text": ..., "pieces": [...]} per
input, the pieces being what HF's Split(pattern, behavior=Isolated) steps produce (regex matches and the gaps
between them, each Split applied to every piece of the previous one). The regexes are the ones in the
tokenizer.json files. The patterns are compiled as the Rust onig crate's Regex::new does (OnigDefaultSyntax,
no options) through ctypes, so no C code is compiled.

Inputs: every text of tests/data/tokenizer/golden_*.jsonl, plus cases the JS golden generator must avoid
because JavaScript regexes differ from Oniguruma there (U+0085 and U+FEFF in \\s, U+017F in (?i:'s)).
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
    for name, patterns in (("deepseek_v3", DS3), ("qwen2", QWEN2), ("llama3", LLAMA3)):
        regs = [onig.compile(p) for p in patterns]
        out = os.path.join(DATA, "pieces_%s.jsonl" % name)
        with open(out, "w", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps({"text": t, "pieces": pre_tokenize(onig, regs, t)}, ensure_ascii=False) + "\n")
        print("wrote %s: %d texts (Oniguruma %s)" % (out, len(texts), onig.version), file=sys.stderr)


if __name__ == "__main__":
    main()
