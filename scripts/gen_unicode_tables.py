#!/usr/bin/python3
"""Generates src/tokenizer/unicode_data.cpp: the Unicode 14.0 tables the tokenizer needs.

Run with Debian's /usr/bin/python3 (3.11, whose unicodedata is Unicode 14.0.0, the version of Oniguruma 6.9.8
that Hugging Face tokenizers uses for its pre-tokenizer regexes):

    /usr/bin/python3 scripts/gen_unicode_tables.py            # rewrites src/tokenizer/unicode_data.cpp
    /usr/bin/python3 scripts/gen_unicode_tables.py --nfc-cases tests/data/tokenizer/nfc_cases.txt

Tables:
  * per-code-point flags (two-level table, 256 code points per block): general category groups L, M, N, P, S;
    White_Space (what Oniguruma's \\s matches: exactly the 25 White_Space code points); and "may change under NFC"
    (NFC_Quick_Check is No or Maybe, or the combining class is not zero), which lets NFC skip text that cannot change.
  * NFC data: canonical combining classes (ranges), full canonical decompositions (Hangul excluded: it is
    algorithmic), and the primary composition pairs (compositions not excluded from NFC).
With --nfc-cases it also writes test vectors (input, NFC(input)) made with unicodedata.normalize.
"""
import argparse
import os
import random
import sys
import unicodedata

EXPECTED_UNICODE = "14.0.0"
MAX_CP = 0x110000

# White_Space (PropList.txt, unchanged since Unicode 6.3): the code points Oniguruma's \s matches.
WHITE_SPACE = [*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F,
               0x205F, 0x3000]

FLAG_L, FLAG_M, FLAG_N, FLAG_P, FLAG_S, FLAG_WS, FLAG_NFC = 1, 2, 4, 8, 16, 32, 64

HANGUL_S_BASE, HANGUL_S_COUNT = 0xAC00, 11172


def canonical_decomposition(cp):
    """One level of canonical decomposition as a list of code points, or None (Hangul excluded)."""
    if HANGUL_S_BASE <= cp < HANGUL_S_BASE + HANGUL_S_COUNT:
        return None
    d = unicodedata.decomposition(chr(cp))
    if not d or d.startswith("<"):
        return None
    return [int(x, 16) for x in d.split()]


def full_decomposition(cp):
    d = canonical_decomposition(cp)
    if d is None:
        return [cp]
    out = []
    for c in d:
        out.extend(full_decomposition(c))
    return out


def build():
    assert unicodedata.unidata_version == EXPECTED_UNICODE, unicodedata.unidata_version
    assert len(WHITE_SPACE) == 25

    decomp = {}
    compose = {}
    ccc = {}
    for cp in range(MAX_CP):
        if 0xD800 <= cp < 0xE000:
            continue
        ch = chr(cp)
        c = unicodedata.combining(ch)
        if c:
            ccc[cp] = c
        d = canonical_decomposition(cp)
        if d is not None:
            decomp[cp] = full_decomposition(cp)
            assert unicodedata.normalize("NFD", ch) == "".join(map(chr, decomp[cp])), hex(cp)
            # A primary composite is a character that NFC leaves alone; everything else with a canonical
            # decomposition (singletons, non-starter decompositions, the exclusion list) never recomposes.
            if len(d) == 2 and unicodedata.normalize("NFC", ch) == ch:
                compose[(d[0], d[1])] = cp
    seconds = {b for (_, b) in compose}
    # Hangul: L+V -> LV and LV+T -> LVT compose algorithmically; V and T jamo are the "second halves".
    seconds.update(range(0x1161, 0x1176))
    seconds.update(range(0x11A8, 0x11C3))

    flags = bytearray(MAX_CP)
    for cp in range(MAX_CP):
        if 0xD800 <= cp < 0xE000:
            continue
        cat = unicodedata.category(chr(cp))
        f = {"L": FLAG_L, "M": FLAG_M, "N": FLAG_N, "P": FLAG_P, "S": FLAG_S}.get(cat[0], 0)
        # UAX #15 quick check: text whose characters are all NFC_QC=Yes with combining class 0 is in NFC.
        # NFC_QC=No are the characters NFC changes on their own; NFC_QC=Maybe are the second halves of compositions.
        if cp in ccc or cp in seconds or unicodedata.normalize("NFC", chr(cp)) != chr(cp):
            f |= FLAG_NFC
        flags[cp] = f
    for cp in WHITE_SPACE:
        flags[cp] |= FLAG_WS
    return flags, ccc, decomp, compose


def ranges_of(mapping):
    """{cp: value} -> [(first, last, value)] merging consecutive code points with the same value."""
    out = []
    for cp in sorted(mapping):
        v = mapping[cp]
        if out and out[-1][1] == cp - 1 and out[-1][2] == v:
            out[-1] = (out[-1][0], cp, v)
        else:
            out.append((cp, cp, v))
    return out


def emit_rows(items, per_line, indent="    "):
    lines = []
    for i in range(0, len(items), per_line):
        lines.append(indent + ", ".join(items[i:i + per_line]) + ",")
    return "\n".join(lines)


def write_cpp(path, flags, ccc, decomp, compose):
    blocks = {}
    stage1 = []
    stage2 = []
    for b in range(MAX_CP // 256):
        block = bytes(flags[b * 256:(b + 1) * 256])
        if block not in blocks:
            blocks[block] = len(blocks)
            stage2.append(block)
        stage1.append(blocks[block])

    ccc_ranges = ranges_of(ccc)
    pool = []
    decomp_rows = []
    for cp in sorted(decomp):
        d = decomp[cp]
        decomp_rows.append((cp, len(pool), len(d)))
        pool.extend(d)
    compose_rows = sorted((a, b, c) for (a, b), c in compose.items())

    out = []
    out.append("// GENERATED by scripts/gen_unicode_tables.py from Python's unicodedata (Unicode %s). Do not edit."
               % EXPECTED_UNICODE)
    out.append("// Tables behind unicode.h: per-code-point flags (two-level) and the NFC data.")
    out.append("// clang-format off")
    out.append('#include "tokenizer/unicode.h"')
    out.append("")
    out.append("namespace r1::unicode::data {")
    out.append("")
    out.append("const uint16_t kFlagBlockIndex[%d] = {" % len(stage1))
    out.append(emit_rows([str(x) for x in stage1], 24))
    out.append("};")
    out.append("")
    out.append("const uint8_t kFlagBlocks[%d][256] = {" % len(stage2))
    for block in stage2:
        out.append("  {")
        out.append(emit_rows([str(x) for x in block], 32, "    "))
        out.append("  },")
    out.append("};")
    out.append("")
    out.append("const CccRange kCccRanges[%d] = {" % len(ccc_ranges))
    out.append(emit_rows(["{0x%X, 0x%X, %d}" % r for r in ccc_ranges], 6))
    out.append("};")
    out.append("const size_t kCccRangeCount = %d;" % len(ccc_ranges))
    out.append("")
    out.append("const uint32_t kDecompPool[%d] = {" % len(pool))
    out.append(emit_rows(["0x%X" % x for x in pool], 12))
    out.append("};")
    out.append("const Decomposition kDecompositions[%d] = {" % len(decomp_rows))
    out.append(emit_rows(["{0x%X, %d, %d}" % r for r in decomp_rows], 6))
    out.append("};")
    out.append("const size_t kDecompositionCount = %d;" % len(decomp_rows))
    out.append("")
    out.append("const Composition kCompositions[%d] = {" % len(compose_rows))
    out.append(emit_rows(["{0x%X, 0x%X, 0x%X}" % r for r in compose_rows], 5))
    out.append("};")
    out.append("const size_t kCompositionCount = %d;" % len(compose_rows))
    out.append("")
    out.append("}  // namespace r1::unicode::data")
    out.append("")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out))
    print("wrote %s: %d flag blocks, %d ccc ranges, %d decompositions, %d compositions"
          % (path, len(stage2), len(ccc_ranges), len(decomp_rows), len(compose_rows)))


def write_nfc_cases(path, ccc, decomp, compose):
    """Lines of 'hex code points<TAB>hex code points of NFC': strings built to exercise NFC."""
    rng = random.Random(14)
    marks = sorted(ccc)
    composites = sorted(decomp)
    firsts = sorted({a for (a, _) in compose})
    seconds = sorted({b for (_, b) in compose})
    jamo = list(range(0x1100, 0x1113)) + list(range(0x1161, 0x1176)) + list(range(0x11A8, 0x11C3))
    cases = []
    for _ in range(3000):
        s = []
        for _ in range(rng.randint(1, 8)):
            kind = rng.random()
            if kind < 0.2:
                s.append(rng.choice(marks))
            elif kind < 0.4:
                s.append(rng.choice(composites))
            elif kind < 0.55:
                s.append(rng.choice(firsts))
            elif kind < 0.7:
                s.append(rng.choice(seconds))
            elif kind < 0.8:
                s.append(rng.choice(jamo))
            elif kind < 0.85:
                s.append(rng.randrange(0xAC00, 0xAC00 + HANGUL_S_COUNT))
            else:
                s.append(rng.choice([0x41, 0x61, 0x20, 0x4E00, 0x3B1, 0x6F]))
        text = "".join(map(chr, s))
        cases.append((text, unicodedata.normalize("NFC", text)))
    with open(path, "w", encoding="utf-8") as f:
        f.write("# NFC test vectors from Python unicodedata %s (scripts/gen_unicode_tables.py --nfc-cases).\n"
                % EXPECTED_UNICODE)
        f.write("# input code points<TAB>NFC code points (hex, space separated)\n")
        for a, b in cases:
            f.write(" ".join("%X" % ord(c) for c in a) + "\t" + " ".join("%X" % ord(c) for c in b) + "\n")
    print("wrote %s: %d cases" % (path, len(cases)))


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(root, "src/tokenizer/unicode_data.cpp"))
    ap.add_argument("--nfc-cases", help="also write NFC test vectors to this file")
    args = ap.parse_args()
    flags, ccc, decomp, compose = build()
    write_cpp(args.out, flags, ccc, decomp, compose)
    if args.nfc_cases:
        write_nfc_cases(args.nfc_cases, ccc, decomp, compose)


if __name__ == "__main__":
    sys.exit(main())
