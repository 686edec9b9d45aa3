#!/usr/bin/python3
"""Second oracle for tests/data/chat/goldens.json: renders every case again with Python Jinja2 configured as
transformers' apply_chat_template does (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, tojson) and
fails on any difference from the @huggingface/jinja output. Run by generate.sh when python3-jinja2 is installed.
Usage: /usr/bin/python3 crosscheck.py <cache dir> <assets dir> <goldens.json>
"""
import json
import os
import sys

from jinja2.sandbox import ImmutableSandboxedEnvironment

BUNDLE = {
    "deepseek_r1_distill_llama": "deepseek-ai-DeepSeek-R1-Distill-Llama-8B",
    "deepseek_r1_distill_qwen": "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B",
    "deepseek_v3_1": "deepseek-ai-DeepSeek-V3.1",
    "llama3_1": "meta-llama-Llama-3.1-8B-Instruct",
}
CONFIG = {"deepseek_v3": "deepseek_v3", "llama3": "llama3_1", "qwen3": "qwen3"}
REPO = {"r1cpp_deepseek_r1": "src/engine/templates/deepseek-r1.jinja"}
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def raise_exception(message):
    raise RuntimeError(message)


def main():
    cache, assets, goldens_path = sys.argv[1:4]
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    goldens = json.load(open(goldens_path, encoding="utf-8"))
    compiled = {}
    for name in goldens["templates"]:
        if name in REPO:
            text = open(os.path.join(ROOT, REPO[name]), encoding="utf-8").read()
        elif name in BUNDLE:
            text = open(os.path.join(cache, "templates", BUNDLE[name] + ".jinja"), encoding="utf-8").read()
        else:
            cfg = json.load(open(os.path.join(assets, CONFIG[name], "tokenizer_config.json"), encoding="utf-8"))
            text = cfg["chat_template"]
        compiled[name] = env.from_string(text)
    bad = 0
    for case in goldens["cases"]:
        meta = goldens["templates"][case["template"]]
        ctx = dict(messages=case["messages"], bos_token=meta["bos_token"], eos_token=meta["eos_token"],
                   add_generation_prompt=case["add_generation_prompt"])
        if case["enable_thinking"] is not None:
            ctx["enable_thinking"] = case["enable_thinking"]
        got = compiled[case["template"]].render(**ctx)
        if got != case["expected"]:
            bad += 1
            print(f"crosscheck: MISMATCH {case['template']}/{case['name']} thinking={case['enable_thinking']}\n"
                  f"  jinja2: {got!r}\n  hf-js:  {case['expected']!r}", file=sys.stderr)
    n = len(goldens["cases"])
    print(f"crosscheck: Python Jinja2 agrees on {n - bad}/{n} cases", file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
