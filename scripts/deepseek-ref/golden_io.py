"""Golden file pair: CASE.json (manifest) + CASE.bin (little-endian arrays, concatenated, 16-byte aligned).

The manifest's "arrays" maps each array name to {"dtype": "f32"|"i32", "shape": [...], "offset": byte offset in
CASE.bin, "nbytes": ...}; arrays are row-major (outermost-first shapes). See docs/deepseek-reference.md.
"""

import json
import os

import numpy as np

FORMAT = "r1-deepseek-ref-golden"
VERSION = 1
_NP = {"f32": "<f4", "i32": "<i4"}


def dumps(obj, indent=0):
    """JSON with one key per line but lists of scalars on one line (short, diff-friendly)."""
    pad = " " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    if isinstance(obj, (list, tuple)) and any(isinstance(v, (dict, list, tuple)) for v in obj):
        return "[\n" + ",\n".join(pad + dumps(v, indent + 1) for v in obj) + "\n" + " " * indent + "]"
    return json.dumps(obj)


def write_golden(path_base, manifest, arrays):
    """arrays: ordered dict name -> numpy array (floats stored as f32, ints as i32)."""
    blob = bytearray()
    table = {}
    for name, a in arrays.items():
        a = np.asarray(a)
        kind = "i32" if np.issubdtype(a.dtype, np.integer) else "f32"
        raw = np.ascontiguousarray(a.astype(_NP[kind])).tobytes()
        blob += b"\0" * (-len(blob) % 16)
        table[name] = {"dtype": kind, "shape": list(a.shape), "offset": len(blob), "nbytes": len(raw)}
        blob += raw
    doc = {"format": FORMAT, "version": VERSION, **manifest, "bin": os.path.basename(path_base) + ".bin",
           "arrays": table}
    with open(path_base + ".bin", "wb") as f:
        f.write(blob)
    with open(path_base + ".json", "w") as f:
        f.write(dumps(doc) + "\n")


def read_golden(path_base):
    with open(path_base + ".json") as f:
        doc = json.load(f)
    with open(os.path.join(os.path.dirname(path_base), doc["bin"]), "rb") as f:
        blob = f.read()
    arrays = {}
    for name, e in doc["arrays"].items():
        arrays[name] = np.frombuffer(blob, _NP[e["dtype"]], int(np.prod(e["shape"], dtype=np.int64)),
                                     e["offset"]).reshape(e["shape"])
    return doc, arrays
