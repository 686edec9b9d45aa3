"""Minimal safetensors reader/writer and FP8 (E4M3) codec for the DeepSeek float64 reference (numpy only).

Format (spec §1.1): u64 header length N | N bytes of JSON {name: {dtype, shape, data_offsets}} | data buffer.
Dtypes read: F64, F32, F16, BF16, F8_E4M3, I64, I32 (returned as float64 except the integer ones). A directory with
model.safetensors.index.json is read as a sharded checkpoint. FP8 weights are dequantised with their 128x128
`weight_scale_inv` block scales, which are multipliers (spec §2.1): W = fp8(Wq) * scale_inv[i//128, j//128].
"""

import json
import os
import struct

import numpy as np

from gguf_io import bf16_bits_to_f32, f32_to_bf16_bits

FP8_BLOCK = 128
FP8_E4M3_MAX = 448.0


class SafetensorsError(Exception):
    pass


# ---------------------------------------------------------------------------------------------------------------
# FP8 E4M3 (OCP "fn" variant: bias 7, no infinities, S.1111.111 is NaN, max 448)

def _fp8_e4m3_table():
    table = np.empty(256, dtype=np.float64)
    for code in range(256):
        sign = -1.0 if code & 0x80 else 1.0
        e, m = (code >> 3) & 0xF, code & 0x7
        if e == 0xF and m == 0x7:
            table[code] = np.nan
        elif e == 0:
            table[code] = sign * (m / 8.0) * 2.0 ** -6
        else:
            table[code] = sign * (1.0 + m / 8.0) * 2.0 ** (e - 7)
    return table


FP8_E4M3_VALUES = _fp8_e4m3_table()
_FINITE_CODES = np.array([c for c in range(128) if not np.isnan(FP8_E4M3_VALUES[c])])  # non-negative codes
_FINITE_VALUES = FP8_E4M3_VALUES[_FINITE_CODES]  # increasing


def fp8_e4m3_decode(codes):
    return FP8_E4M3_VALUES[np.asarray(codes, dtype=np.uint8)]


def fp8_e4m3_encode(x):
    """Round to nearest (ties to even code) with saturation at +-448; x must be finite."""
    x = np.asarray(x, dtype=np.float64)
    mag = np.minimum(np.abs(x), FP8_E4M3_MAX)
    hi = np.clip(np.searchsorted(_FINITE_VALUES, mag), 0, len(_FINITE_VALUES) - 1)
    lo = np.maximum(hi - 1, 0)
    d_lo, d_hi = mag - _FINITE_VALUES[lo], _FINITE_VALUES[hi] - mag
    take_hi = (d_hi < d_lo) | ((d_hi == d_lo) & (_FINITE_CODES[hi] % 2 == 0))
    code = np.where(take_hi, _FINITE_CODES[hi], _FINITE_CODES[lo]).astype(np.uint8)
    return np.where(np.signbit(x) & (code != 0), code | 0x80, code).astype(np.uint8)


def fp8_block_quantize(w):
    """w [out, in] float -> (codes uint8 [out, in], scale_inv f32 [ceil(out/128), ceil(in/128)]).
    Per 128x128 block: s = amax/448 (1 for an all-zero block), codes = fp8(w / s)."""
    out_dim, in_dim = w.shape
    nb_o, nb_i = -(-out_dim // FP8_BLOCK), -(-in_dim // FP8_BLOCK)
    scales = np.ones((nb_o, nb_i), dtype=np.float32)
    codes = np.zeros(w.shape, dtype=np.uint8)
    for bo in range(nb_o):
        for bi in range(nb_i):
            blk = w[bo * FP8_BLOCK:(bo + 1) * FP8_BLOCK, bi * FP8_BLOCK:(bi + 1) * FP8_BLOCK]
            amax = float(np.abs(blk).max())
            s = np.float32(amax / FP8_E4M3_MAX) if amax > 0 else np.float32(1.0)
            scales[bo, bi] = s
            codes[bo * FP8_BLOCK:(bo + 1) * FP8_BLOCK, bi * FP8_BLOCK:(bi + 1) * FP8_BLOCK] = \
                fp8_e4m3_encode(blk / np.float64(s))
    return codes, scales


def fp8_block_dequantize(codes, scale_inv, block=(FP8_BLOCK, FP8_BLOCK)):
    out_dim, in_dim = codes.shape
    want = (-(-out_dim // block[0]), -(-in_dim // block[1]))
    if tuple(scale_inv.shape) != want:
        raise SafetensorsError(f"weight_scale_inv shape {tuple(scale_inv.shape)} does not match weight "
                               f"{codes.shape} with {block[0]}x{block[1]} blocks (expected {want})")
    full = np.repeat(np.repeat(np.asarray(scale_inv, np.float64), block[0], 0), block[1], 1)
    return fp8_e4m3_decode(codes) * full[:out_dim, :in_dim]


# ---------------------------------------------------------------------------------------------------------------
# reader

_DTYPES = {"F64": ("<f8", 8), "F32": ("<f4", 4), "F16": ("<f2", 2), "BF16": ("<u2", 2), "F8_E4M3": ("u1", 1),
           "I64": ("<i8", 8), "I32": ("<i4", 4)}


class SafetensorsFile:
    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.buf = f.read()
        if len(self.buf) < 8:
            raise SafetensorsError(f"{path}: too short for a safetensors header")
        (n,) = struct.unpack("<Q", self.buf[:8])
        if 8 + n > len(self.buf):
            raise SafetensorsError(f"{path}: header length {n} exceeds the file")
        header = json.loads(self.buf[8:8 + n].decode("utf-8"))
        self.metadata = header.pop("__metadata__", {})
        self.data_start = 8 + n
        self.entries = header
        for name, e in header.items():
            if e["dtype"] not in _DTYPES:
                raise SafetensorsError(f"{path}: {name} has dtype {e['dtype']}; reader supports {list(_DTYPES)}")
            begin, end = e["data_offsets"]
            want = int(np.prod(e["shape"], dtype=np.int64)) * _DTYPES[e["dtype"]][1]
            if end - begin != want or self.data_start + end > len(self.buf):
                raise SafetensorsError(f"{path}: {name}: data_offsets {e['data_offsets']} disagree with "
                                       f"dtype/shape or the file size")

    def raw_array(self, name):
        e = self.entries[name]
        begin, end = e["data_offsets"]
        np_dtype = _DTYPES[e["dtype"]][0]
        a = np.frombuffer(self.buf, np_dtype, (end - begin) // _DTYPES[e["dtype"]][1],
                          self.data_start + begin)
        return e["dtype"], a.reshape(e["shape"])


class Checkpoint:
    """All tensors of an HF directory (single file or sharded with model.safetensors.index.json)."""

    def __init__(self, directory, fp8_block=(FP8_BLOCK, FP8_BLOCK)):
        self.dir = directory
        self.fp8_block = tuple(fp8_block)
        index = os.path.join(directory, "model.safetensors.index.json")
        if os.path.exists(index):
            with open(index) as f:
                weight_map = json.load(f)["weight_map"]
            files = sorted(set(weight_map.values()))
        else:
            files = sorted(p for p in os.listdir(directory) if p.endswith(".safetensors"))
            if not files:
                raise SafetensorsError(f"{directory}: no *.safetensors files")
            weight_map = None
        self.files = {fn: SafetensorsFile(os.path.join(directory, fn)) for fn in files}
        self.where = {}
        for fn, st in self.files.items():
            for name in st.entries:
                if name in self.where:
                    raise SafetensorsError(f"{directory}: tensor {name} appears in two shards")
                self.where[name] = fn
        if weight_map is not None:
            for name, fn in weight_map.items():
                if self.where.get(name) != fn:
                    raise SafetensorsError(f"{directory}: index maps {name} to {fn} but it is not there")

    def names(self):
        return list(self.where)

    def dtype(self, name):
        return self.files[self.where[name]].entries[name]["dtype"]

    def __contains__(self, name):
        return name in self.where

    def tensor(self, name):
        """float64 array; FP8 weights are dequantised with their `<name>_scale_inv` companion."""
        if name not in self.where:
            raise SafetensorsError(f"{self.dir}: tensor {name} not found")
        dtype, a = self.files[self.where[name]].raw_array(name)
        if dtype == "BF16":
            return bf16_bits_to_f32(a).astype(np.float64)
        if dtype == "F8_E4M3":
            scale_name = name + "_scale_inv"
            if scale_name not in self.where:
                raise SafetensorsError(f"{self.dir}: FP8 tensor {name} has no {scale_name}")
            return fp8_block_dequantize(a, self.tensor(scale_name), self.fp8_block)
        return a.astype(np.float64)


# ---------------------------------------------------------------------------------------------------------------
# writer

def encode_tensor(array, dtype):
    """array -> (dtype, shape, bytes). F8_E4M3 expects uint8 codes already."""
    a = np.asarray(array)
    if dtype == "BF16":
        raw = f32_to_bf16_bits(a.astype(np.float32)).astype("<u2").tobytes()
    elif dtype == "F8_E4M3":
        raw = a.astype(np.uint8).tobytes()
    else:
        raw = a.astype(_DTYPES[dtype][0]).tobytes()
    return dtype, list(a.shape), raw


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw bytes) in file order."""
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * (-len(hjson) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for _, _, _, raw in tensors:
            f.write(raw)
