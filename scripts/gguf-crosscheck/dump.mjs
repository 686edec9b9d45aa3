// Dumps a GGUF file's header as JSON, read by @huggingface/gguf (an implementation r1.cpp did not write), so
// tests/formats can check that files written by our writer read back identically elsewhere.
//
//   node scripts/gguf-crosscheck/dump.mjs FILE.gguf
//
// The package is looked up in $R1_NODE_DIR (default <repo>/.cache/node, filled by scripts/fetch-assets.sh).
// Output: {"version", "tensor_count", "kv_count", "tensor_data_offset",
//          "metadata": [{"key", "type", "sub_type"?, "value"}...] in file order,
//          "tensors": [{"name", "n_dims", "ne": [...innermost-first], "ggml_type", "offset"}...]}
// 64-bit integers (bigint in JS) are written as decimal strings; non-finite floats as "NaN" / "Infinity".
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = process.env.R1_NODE_DIR ?? path.join(here, "..", "..", ".cache", "node");
const require = createRequire(path.join(nodeDir, "package.json"));
const { gguf } = require("@huggingface/gguf");

const file = process.argv[2];
if (!file) {
  console.error("usage: node dump.mjs FILE.gguf");
  process.exit(2);
}

function plain(v) {
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

const { typedMetadata, tensorInfos, tensorDataOffset } = await gguf(path.resolve(file), {
  allowLocalFile: true,
  typedMetadata: true,
});

const synthetic = new Set(["version", "tensor_count", "kv_count"]); // header fields the package lists as keys
const metadata = [];
for (const [key, entry] of Object.entries(typedMetadata)) {
  if (synthetic.has(key)) continue;
  const item = { key, type: entry.type, value: plain(entry.value) };
  if (entry.subType !== undefined) item.sub_type = entry.subType;
  metadata.push(item);
}

const out = {
  version: typedMetadata.version.value,
  tensor_count: plain(typedMetadata.tensor_count.value),
  kv_count: plain(typedMetadata.kv_count.value),
  tensor_data_offset: plain(tensorDataOffset),
  metadata,
  tensors: tensorInfos.map((t) => ({
    name: t.name,
    n_dims: t.n_dims,
    ne: t.shape.map(plain),
    ggml_type: t.dtype,
    offset: plain(t.offset),
  })),
};
process.stdout.write(JSON.stringify(out) + "\n");
