#!/usr/bin/env node
// Generates the tokenizer golden files tests/data/tokenizer/golden_{deepseek_v3,qwen3,llama3_1}.jsonl with
// @lenml/tokenizers 3.7.2 (a port of Hugging Face tokenizers / transformers.js), from the tokenizer.json and
// tokenizer_config.json that scripts/fetch-assets.sh puts into .cache/assets/<name>/.
//
// Also golden_{deepseek_llm,deepseek_coder}.jsonl for the DeepSeek-LLM / DeepSeek-V2 and DeepSeek-Coder
// vocabularies. No tokenizer.json of theirs is on npm, so one is assembled from llama.cpp's vocabulary-only
// GGUFs (.cache/assets/llama-vocab/ggml-vocab-{deepseek-llm,deepseek-coder}.gguf, read with @huggingface/gguf
// from .cache/node; both put there by scripts/fetch-assets.sh) and the Hugging Face pre_tokenizer objects in
// tests/data/tokenizer/hf_pre_tokenizer_*.json. Normal tokens form the BPE vocabulary, CONTROL and
// USER_DEFINED ones the added tokens (special = CONTROL). One substitution: transformers.js implements
// Digits(individual_digits) with JavaScript's ASCII-only \d, while HF isolates every char::is_numeric
// character (General_Category N*), so that step is given to it as the equivalent Split(\p{N}, Isolated).
//
//   scripts/fetch-assets.sh && node scripts/tokenizer-goldens/gen_goldens.mjs
//
// It installs its npm dependency into .cache/tokenizer-goldens itself (npm install --ignore-scripts).
// Each output line is {"text": ..., "ids": [...]} with ids from tok.encode(text, {add_special_tokens: false}):
// no BOS, and added/special-token text in the input is parsed as those tokens (as HF does).
//
// The inputs are the same for the three tokenizers: hand-written cases (languages, code, whitespace,
// punctuation, digits, contractions, emoji sequences, special tokens), seeded random strings over many
// scripts, and a few long texts of several KB. Two known differences between this JS port and HF's Rust /
// Oniguruma are kept out of the inputs: JS's \s also matches U+FEFF and misses U+0085, and JS's expansion of
// (?i:'s) does not match U+017F (long s). Random code points come only from blocks fully assigned before
// Unicode 14 (our tables; Node's ICU is newer).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ASSETS = process.env.R1_ASSETS ?? path.join(ROOT, ".cache/assets");
const DEPS = path.join(ROOT, ".cache/tokenizer-goldens");
const OUT_DIR = path.join(ROOT, "tests/data/tokenizer");
const LENML = "@lenml/tokenizers@3.7.2";

function loadLenml() {
  const pkg = path.join(DEPS, "node_modules/@lenml/tokenizers/package.json");
  if (!existsSync(pkg)) {
    mkdirSync(DEPS, { recursive: true });
    console.error(`installing ${LENML} into ${DEPS}`);
    execFileSync("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix", DEPS, LENML], {
      stdio: "inherit",
    });
  }
  const version = JSON.parse(readFileSync(pkg, "utf8")).version;
  if (version !== "3.7.2") throw new Error(`expected @lenml/tokenizers 3.7.2, found ${version}`);
  return createRequire(pkg)("@lenml/tokenizers");
}

// ---------------------------------------------------------------------------------------------------------
// Inputs

const HAND = [
  "", " ", "  ", "   ", "\t", "\n", "\n\n", "\n\n\n", "\t\n", " \n", "\n ", "\r\n", "\r\n\r\n", "\r", " \r\n ",
  "Hello world", " Hello world", "Hello World", " Hello World!", "Hello, world!", "Hello world 123",
  "hello\nworld", "hello \nworld", "hello  \n\n  world", "a\r\nb\r\n\r\nc", "line1\rline2",
  "   leading spaces", "trailing spaces   ", "tabs\t\tand\tspaces \t mixed", "x\u00a0y\u2003z\u3000w",
  "I'm sure you've seen it, they're here, we'll go, he'd say, it's John's.",
  "I'M SURE YOU'VE SEEN IT, THEY'RE HERE, WE'LL GO, HE'D SAY, IT'S JOHN'S.",
  "'s 't 're 've 'm 'll 'd 'S 'T 'RE 'Ve 'M 'LL 'D", "don't won't can't shan't y'all o'clock", "''''''",
  "1", "12", "123", "1234", "12345", "123456", "1234567", "3.14159", "1,000,000", "v1.2.3-rc4",
  "3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3", "phone: +1 (555) 123-4567", "0x7fffffff",
  "٠١٢٣٤٥٦٧٨٩ ۰۱۲ १२३ ๑๒๓ １２３４５", "²³¹ ½ ¾ Ⅻ ⅷ ① ⑩", "2024-11-23T20:37:00Z",
  "!!!!!!", "??????", "......", "------======= ", "```````", "\"\"\"\"", "~~~~~~~~\n\n", "***\n\n---\n",
  ".,;:!?()[]{}<>@#$%^&*-_+=|\\/~`'\"", " ,  .  ;", "a.b,c;d:e", "(test)", "[link](http://x.y/z?a=1&b=2)",
  "$100 €200 £300 ¥400 ₹500", "50% off!!!", "e-mail: someone@example.com", "C++ & C# || Rust && Go",
  "The quick brown fox jumps over the lazy dog.", "THE QUICK BROWN FOX", "camelCaseIdentifier snake_case_name",
  "Äpfel Öl Übermaß straße", "naïve café résumé coöperate", "Ελληνικά: Καλημέρα κόσμε", "Ñandú pingüino",
  "нещо на Български", "Привет, мир! Как дела?", "Съешь же ещё этих мягких французских булок, да выпей чаю.",
  "Українська мова: Ґ ґ Є є І і Ї ї", "Հայերեն Ქართული",
  "你好，世界！", "我想在apple工作1314151天～", "中文测试：今天天气很好。我们去公园散步吧！",
  "日本語のテキスト：こんにちは、世界。カタカナとひらがな。", "漢字かなカナ混じり文", "ｶﾀｶﾅ半角",
  "한국어 텍스트: 안녕하세요, 세계! 반갑습니다.", "한글과 漢字 mixed",
  "مرحبا بالعالم! كيف حالك؟", "العربية: ١٢٣ والأرقام 456", "עברית: שלום עולם",
  "हिन्दी: नमस्ते दुनिया। यह एक परीक्षण है।", "বাংলা ভাষা", "தமிழ் மொழி", "ภาษาไทย สวัสดีครับ",
  "ကမ္ဘာ", "ລາວ", "ᏣᎳᎩ", "ትግርኛ", "ខ្មែរ កាន់តែពិសេសអាច😁",
  "🚀 (normal) 😶‍🌫️ (multiple emojis concatenated) ✅ 🦙🦙", "👨‍👩‍👧‍👦 family", "👍🏽👍🏿", "🏳️‍🌈🏴‍☠️",
  "❤️‍🔥", "🇺🇸🇩🇪🇯🇵", "1️⃣ #️⃣ *️⃣", "😀😃😄😁😆😅😂🤣", "emoji🙂inside🙃words", "a\u200db\u200cc\u200bd",
  "e\u0301 vs é", "n\u0303 a\u0300\u0301 o\u0308\u0304", "\u1100\u1161\u11a8 \u1100\u1161", "Å Å Å", "Ω Ω",
  "ﬁ ﬂ ﬀ ™ ℌ", "ｆｕｌｌｗｉｄｔｈ ＡＢＣ", "\u0041\u030A\u0301", "\u0915\u094d\u0937", "Ǖ ǖ Ǘ",
  "\u2028line sep\u2029para sep", "\u000b\u000c vertical tab and form feed", "\u001f\u0001\u007f control",
  "\u180e mongolian", "x\u00ady soft hyphen", "\u200e\u200f bidi marks \u202a\u202c",
  "<｜begin▁of▁sentence｜>You are helpful.<｜User｜>What is 2+2?<｜Assistant｜><think>\nLet me think.\n</think>\n\n4<｜end▁of▁sentence｜>",
  "<｜User｜><｜Assistant｜>", "<think></think>", "<think>\n", "</think>\n\nAnswer", "<|im_start|>user\nhi<|im_end|>\n",
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>", "<|endoftext|>",
  "<|im_start|><|im_end|><|im_start|>", "<｜fim▁begin｜>def f():<｜fim▁hole｜><｜fim▁end｜>",
  "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{}\n```<｜tool▁call▁end｜>",
  "<tool_call>{\"name\": \"f\"}</tool_call>", "<<think>>", "<think", "think>", "< think >", "<|im_start", "|>",
  "<｜User", "<｜User｜", "｜>", "<|eot_id|>x<|eot_id|>", "text<|reserved_special_token_5|>text",
  "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
  "#include <stdio.h>\nint main(void) {\n\tprintf(\"hello %d\\n\", 42);\n\treturn 0;\n}\n",
  "for (int i = 0; i < n; ++i) { a[i] += b[i] * c; }", "const x = arr.map((v) => v ** 2).filter(Boolean);",
  "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;", "<div class=\"a\">&nbsp;&lt;tag&gt;</div>",
  "{\"key\": [1, 2.5, true, null], \"nested\": {\"a\": \"b\"}}", "$ ls -la /usr/bin | grep -E '^-rwx' > out.txt",
  "x = y + z  # comment\r\n\ty -= 1\r\n", "    \n    \n\tindented\n        deeper\n",
  "\\frac{a}{b} + \\sum_{i=1}^{n} x_i^2 = \\int_0^1 f(x)\\,dx", "∀x∈ℝ: x² ≥ 0 ⇒ √(x²) = |x|",
  "E = mc²; F = ma; PV = nRT", "→ ← ↑ ↓ ⇄ ∞ ≈ ≠ ≤ ≥ ± × ÷", "■□▲△●○◆◇★☆", "♠♣♥♦ ♪♫ ☀☁☂ ☎ ✈ ✂",
  "‘single’ “double” «guillemets» „low“ ‹›", "—em dash–en dash‐hyphen…ellipsis", "¡Hola! ¿Qué tal?",
  "http://example.com/path/to/page.html?query=1#frag", "https://github.com/ggml-org/llama.cpp/pull/6920",
  "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n",
  "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) ✅ 🦙🦙 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ ------======= нещо на Български ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL",
  "word.\n\n\nNext paragraph.\n\n", "end of line:\n\n", "- item\n- item\n\n1. one\n2. two\n", "a\n\nb\n\n\nc",
  "。。。！！！？？？", "、，；：", "「かぎ括弧」『二重』【隅付き】", "（全角括弧）［］｛｝", "中文,English;混合:test.",
  "Ünïcödé Tëxt wïth dïäcrïtïcs", "Zażółć gęślą jaźń", "Příliš žluťoučký kůň", "Tiếng Việt có dấu",
  "İstanbul ıi İI", "ß ẞ ſ ﬅ", "ǅǆǄ ǈ", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  "                                                                                x",
  "................................................................................\n\n\n",
  "________________________________________", "1234567890123456789012345678901234567890",
  "ababababababababababababababababababab", "ĠĠĠ Ċ ÄŁ", "\u0100\u0120\u010a", "ÿþýüûú",
];

// Blocks fully assigned (or stable) before Unicode 14, as [first, last]; unassigned code points inside are
// filtered out with /\p{Cn}/u.
const BLOCKS = {
  ascii: [[0x20, 0x7e]],
  latin: [[0xa0, 0x24f], [0x1e00, 0x1eff]],
  marks: [[0x300, 0x36f], [0x1ab0, 0x1abe], [0x20d0, 0x20f0]],
  greek_cyrillic: [[0x370, 0x3ff], [0x400, 0x52f]],
  armenian_hebrew: [[0x531, 0x58a], [0x5d0, 0x5ea]],
  arabic: [[0x600, 0x6ff]],
  indic: [[0x900, 0x97f], [0x980, 0x9fe], [0xb80, 0xbfa]],
  thai_lao: [[0xe01, 0xe5b], [0xe81, 0xedf]],
  georgian_hangul_jamo: [[0x10a0, 0x10ff], [0x1100, 0x11ff]],
  punct: [[0x2010, 0x2027], [0x2030, 0x205e], [0x3000, 0x303f], [0xff01, 0xff65]],
  symbols: [[0x2100, 0x23ff], [0x2500, 0x27bf], [0x2b00, 0x2b73]],
  cjk: [[0x4e00, 0x9fa5], [0x9fa6, 0x9fff], [0x3040, 0x30ff], [0x3400, 0x4dbf], [0x20000, 0x2a6df]],
  hangul: [[0xac00, 0xd7a3]],
  emoji: [[0x1f300, 0x1f64f], [0x1f680, 0x1f6d7], [0x1f900, 0x1f9ff], [0x2600, 0x26ff]],
  other: [[0xe000, 0xe0ff], [0x10000, 0x1007f], [0x1d400, 0x1d7ff], [0xfb00, 0xfb4f], [0xfe30, 0xfe6b]],
};
const WHITES = [" ", " ", " ", "  ", "\n", "\n\n", "\t", "\r\n", "\r", "\u00a0", "\u2003", "\u3000", "\u000b",
                "\u000c", "\u2028", "\u202f", " \n", "\n "];
const JOINERS = ["\u200d", "\ufe0f", "\u200c", "\u{1f3fb}", "\u{1f3fd}"];

function mulberry32(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomChar(rand, ranges) {
  for (;;) {
    const [a, b] = ranges[Math.floor(rand() * ranges.length)];
    const cp = a + Math.floor(rand() * (b - a + 1));
    const ch = String.fromCodePoint(cp);
    if (/\p{Cn}/u.test(ch) || /\p{Cs}/u.test(ch) || cp === 0xfeff || cp === 0x85) continue;
    return ch;
  }
}

// A random string: runs of characters from one or two blocks, separated by whitespace, digits, punctuation
// and emoji joiners.
function randomText(rand, maxRuns) {
  const names = Object.keys(BLOCKS);
  let s = "";
  const runs = 1 + Math.floor(rand() * maxRuns);
  for (let r = 0; r < runs; ++r) {
    const x = rand();
    if (x < 0.15) s += WHITES[Math.floor(rand() * WHITES.length)];
    else if (x < 0.22) s += String(Math.floor(rand() * 10 ** (1 + Math.floor(rand() * 8))));
    else if (x < 0.27) s += JOINERS[Math.floor(rand() * JOINERS.length)];
    else if (x < 0.32) s += "'" + "sStTmMdDlLrReEvV"[Math.floor(rand() * 16)] + "eElL"[Math.floor(rand() * 4)];
    else {
      const block = BLOCKS[names[Math.floor(rand() * names.length)]];
      const len = 1 + Math.floor(rand() * 8);
      for (let i = 0; i < len; ++i) s += randomChar(rand, block);
    }
  }
  return s.replace(/'\u017f/g, "'s");
}

const PARAGRAPHS = [
  "DeepSeek-R1 is trained with large-scale reinforcement learning. It learns to reason step by step, " +
    "checks its own answers, and sometimes says \"wait, let me re-check that\" before answering.\n\n",
  "The model's output starts inside the thought: <think>\nFirst, 17 × 23 = 391. Then 391 + 9 = 400.\n</think>\n\n" +
    "The answer is **400**.\n\n",
  "```python\nimport numpy as np\n\ndef softmax(x: np.ndarray) -> np.ndarray:\n    e = np.exp(x - x.max(axis=-1, keepdims=True))\n" +
    "    return e / e.sum(axis=-1, keepdims=True)\n```\n\n",
  "```cpp\ntemplate <typename T>\nT clamp(T v, T lo, T hi) { return v < lo ? lo : (hi < v ? hi : v); }\n```\r\n\r\n",
  "人工智能（AI）正在改变世界。大型语言模型可以写作、翻译和编程，但它们也会犯错误。\n",
  "機械学習モデルは大量のデータから学習します。トークナイザーはテキストを数値に変換します。\n",
  "인공지능은 빠르게 발전하고 있습니다. 토크나이저는 텍스트를 토큰으로 나눕니다.\n",
  "Искусственный интеллект — это область информатики. Модели обучаются на больших корпусах текста.\n",
  "الذكاء الاصطناعي هو مجال من مجالات علوم الحاسوب، ويهدف إلى بناء أنظمة ذكية.\n",
  "कृत्रिम बुद्धिमत्ता कंप्यूटर विज्ञान की एक शाखा है। यह तेज़ी से बढ़ रही है।\n",
  "| col A | col B |\n|------:|:------|\n|   1.5 | x     |\n|  -2e3 | y     |\n\n",
  "Emoji test: 👩‍💻 writes code, 🧑🏾‍🚀 flies, 🏳️‍⚧️ waves, and 🤖 answers 👍🏻.\n",
  "Numbers: 1, 22, 333, 4444, 55555, 3.14159265358979, 6.022e23, -0.5, 1/3, 99%.\n",
  "\t\tTabs,    spaces,  \u00a0non-breaking\u00a0spaces and\u3000ideographic spaces.   \n   \n",
  "Punctuation runs?!?! Yes!!! ... -- --- ===> <=== (((nested))) [[[x]]] {{{y}}} ;;; :::\n\n\n",
  "Mixed: English中文日本語한국어Русский العربية हिन्दी ไทย 123abc!?\n",
];

function longTexts(rand) {
  const texts = [];
  for (let k = 0; k < 6; ++k) {
    let s = "";
    while (s.length < 3000 + k * 700) {
      const x = rand();
      if (x < 0.6) s += PARAGRAPHS[Math.floor(rand() * PARAGRAPHS.length)];
      else if (x < 0.8) s += HAND[Math.floor(rand() * HAND.length)] + " ";
      else s += randomText(rand, 20) + "\n";
    }
    texts.push(s);
  }
  return texts;
}

function allInputs() {
  const rand = mulberry32(20261123);
  const inputs = [...HAND];
  for (let i = 0; i < 260; ++i) inputs.push(randomText(rand, i < 130 ? 6 : 24));
  inputs.push(...longTexts(rand));
  for (const s of inputs) {
    if (s.includes("\ufeff") || s.includes("\u0085")) throw new Error("input contains U+FEFF or U+0085");
  }
  return inputs;
}

// ---------------------------------------------------------------------------------------------------------

// Hand-written extras for the DeepSeek-LLM / -Coder goldens: the characters their regexes single out.
const DEEPSEEK_V2_HAND = [
  "\u1f7d \u1fbe \u2126 \u212a \u03ce \u03b9 \u03a9 K", "Ωμέγα ώρα ὥρα", "ﬀ ﬁ ﬆ ﬓ ｆｕｌｌ Ｗｉｄｔｈ", "ǅǈǋ ƻ ʔ ʰ ª º",
  "a\u3000b\u3000\u3000c", "\u3000\u3001\u3002 x \uff0c\uff0e", "‘quoted’ “double” ‟x‟", "Über Ärger Öl ß",
  "Köln Ørsted Føroyar ÿ þ ú ù ü", "trailing   ", "1 2 3  \t", "x \u00a0\u00a0", "line\r\n\r\n end \n",
  "ⴀⴁ ႠႡ Ꭰ Ᏸ Ა Ჿ ᲀ", "𐐀𐐨 𐒰𐓘 𐲀𐳀 𑢠𑣀 𞤀𞤢", "ⰀⰰⲀⲁ ꙀꙁꚀꚁ ꜢꜣꞋꞌ ꭰꮿ", "ࠀࠁ ऀअ 一丁 龥龦 가힣 ힰퟻ",
];

async function vocabGgufTokenizer(file, preTokenizer) {
  const nodeDir = process.env.R1_NODE_DIR ?? path.join(ROOT, ".cache/node");
  const { gguf } = createRequire(path.join(nodeDir, "package.json"))("@huggingface/gguf");
  const { metadata } = await gguf(file, { allowLocalFile: true });
  const tokens = metadata["tokenizer.ggml.tokens"];
  const types = metadata["tokenizer.ggml.token_type"];
  const vocab = {};
  const added = [];
  tokens.forEach((text, id) => {
    const type = Number(types[id]);
    if (type === 1) vocab[text] = id;
    else added.push({ id, content: text, single_word: false, lstrip: false, rstrip: false, normalized: false,
                      special: type === 3 });
  });
  const pre = structuredClone(preTokenizer);
  pre.pretokenizers = pre.pretokenizers.map((step) =>
    step.type === "Digits" ? { type: "Split", pattern: { Regex: "\\p{N}" }, behavior: "Isolated", invert: false }
                           : step);
  return {
    version: "1.0",
    added_tokens: added,
    normalizer: { type: "Sequence", normalizers: [] },
    pre_tokenizer: pre,
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
    model: { type: "BPE", vocab, merges: metadata["tokenizer.ggml.merges"], byte_fallback: false },
  };
}

function writeGolden(name, tok, inputs) {
  const lines = [];
  let bytes = 0;
  for (const text of inputs) {
    const ids = tok.encode(text, { add_special_tokens: false });
    lines.push(JSON.stringify({ text, ids }));
    bytes += Buffer.byteLength(text);
  }
  const out = path.join(OUT_DIR, `golden_${name}.jsonl`);
  writeFileSync(out, lines.join("\n") + "\n");
  console.error(`${out}: ${inputs.length} cases, ${bytes} bytes of text`);
}

async function main() {
  const { TokenizerLoader } = loadLenml();
  const inputs = allInputs();
  mkdirSync(OUT_DIR, { recursive: true });
  for (const name of ["deepseek_v3", "qwen3", "llama3_1"]) {
    const dir = path.join(ASSETS, name);
    const tok = TokenizerLoader.fromPreTrained({
      tokenizerJSON: JSON.parse(readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
      tokenizerConfig: JSON.parse(readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
    });
    writeGolden(name, tok, inputs);
  }
  for (const name of ["deepseek_llm", "deepseek_coder"]) {
    const file = path.join(ASSETS, "llama-vocab", `ggml-vocab-${name.replace("_", "-")}.gguf`);
    const pre = JSON.parse(readFileSync(path.join(OUT_DIR, `hf_pre_tokenizer_${name}.json`), "utf8"));
    const tok = TokenizerLoader.fromPreTrained({
      tokenizerJSON: await vocabGgufTokenizer(file, pre),
      tokenizerConfig: { tokenizer_class: "PreTrainedTokenizerFast" },
    });
    writeGolden(name, tok, [...inputs, ...DEEPSEEK_V2_HAND]);
  }
}

await main();
