"""Minimal GGUF v3 reader and writer for the DeepSeek float64 reference (numpy only).

Written from the format description in shared/docs/deepseek-spec.md §1-2. The reader returns metadata as plain
Python values and tensors dequantised to float64 numpy arrays in outermost-first shape (GGUF stores ne[] innermost
first, so a ggml {d, V} tensor comes back as [V, d]). Supported tensor types: F32, F16, BF16, F64, Q8_0 (y = d*q).
The writer emits the same types (Q8_0 with the reference quantiser d = amax/127, q = round(x/d)).
"""

import struct

import numpy as np

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# gguf value types
T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STRING, T_ARRAY, T_U64, T_I64, T_F64 = range(13)
_SCALAR_FMT = {T_U8: "<B", T_I8: "<b", T_U16: "<H", T_I16: "<h", T_U32: "<I", T_I32: "<i", T_F32: "<f",
               T_BOOL: "<?", T_U64: "<Q", T_I64: "<q", T_F64: "<d"}

# ggml tensor types: id -> (name, block size, bytes per block)
GGML_F32, GGML_F16, GGML_Q8_0, GGML_F64, GGML_BF16 = 0, 1, 8, 28, 30
GGML_TYPES = {GGML_F32: ("F32", 1, 4), GGML_F16: ("F16", 1, 2), GGML_Q8_0: ("Q8_0", 32, 34),
              GGML_F64: ("F64", 1, 8), GGML_BF16: ("BF16", 1, 2)}
TYPE_BY_NAME = {v[0]: k for k, v in GGML_TYPES.items()}


class GGUFError(Exception):
    pass


def _pad(n, align):
    return (n + align - 1) // align * align


# ---------------------------------------------------------------------------------------------------------------
# element conversions shared with the safetensors module

def bf16_bits_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16_bits(x):
    """Round-to-nearest-even f32 -> bf16 bit patterns (NaN kept quiet), as in spec §2."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(np.asarray(x, dtype=np.float32))
    return np.where(nan, ((u >> 16) | 64).astype(np.uint16), rounded)


def q8_0_quantize(x):
    """x: float array with a multiple of 32 elements in its last axis -> raw Q8_0 bytes (row-major)."""
    x = np.asarray(x, dtype=np.float32).reshape(-1, 32)
    amax = np.abs(x).max(axis=1)
    d = amax / 127.0
    inv = np.where(d > 0, 1.0 / np.where(d > 0, d, 1), 0.0).astype(np.float32)
    q = np.rint(x * inv[:, None]).astype(np.int8)
    blocks = np.zeros(x.shape[0], dtype=[("d", "<f2"), ("q", "i1", 32)])
    blocks["d"] = d.astype(np.float16)
    blocks["q"] = q
    return blocks.tobytes()


def q8_0_dequantize(raw, n):
    blocks = np.frombuffer(raw, dtype=[("d", "<f2"), ("q", "i1", 32)], count=n // 32)
    return (blocks["d"].astype(np.float64)[:, None] * blocks["q"].astype(np.float64)).reshape(-1)


# ---------------------------------------------------------------------------------------------------------------
# reader

class GGUFTensor:
    def __init__(self, name, ne, ggml_type, offset):
        self.name, self.ne, self.ggml_type, self.offset = name, ne, ggml_type, offset

    @property
    def shape(self):
        """Outermost-first shape (numpy order)."""
        return tuple(reversed(self.ne))

    @property
    def n_elements(self):
        return int(np.prod(self.ne)) if self.ne else 1

    @property
    def nbytes(self):
        _, blck, size = GGML_TYPES[self.ggml_type]
        return self.n_elements // blck * size

    @property
    def type_name(self):
        return GGML_TYPES[self.ggml_type][0]


class GGUFReader:
    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.buf = f.read()
        self.pos = 0
        if self._take(4) != GGUF_MAGIC:
            raise GGUFError(f"{path}: not a GGUF file (bad magic)")
        self.version = self._scalar(T_U32)
        if self.version not in (2, 3):
            raise GGUFError(f"{path}: GGUF version {self.version} not supported (expected 2 or 3)")
        n_tensors, n_kv = self._scalar(T_I64), self._scalar(T_I64)
        self.kv = {}
        for _ in range(n_kv):
            key = self._string()
            if key in self.kv:
                raise GGUFError(f"{path}: duplicate key {key}")
            vtype = self._scalar(T_I32)
            self.kv[key] = self._value(vtype)
        self.tensors = {}
        for _ in range(n_tensors):
            name = self._string()
            n_dims = self._scalar(T_U32)
            if n_dims > 4:
                raise GGUFError(f"{path}: tensor {name} has {n_dims} dims (max 4)")
            ne = [self._scalar(T_I64) for _ in range(n_dims)]
            gtype = self._scalar(T_I32)
            offset = self._scalar(T_U64)
            if gtype not in GGML_TYPES:
                raise GGUFError(f"{path}: tensor {name} has ggml type {gtype}; this reader supports "
                                f"{sorted(v[0] for v in GGML_TYPES.values())}")
            if ne and ne[0] % GGML_TYPES[gtype][1] != 0:
                raise GGUFError(f"{path}: tensor {name}: ne0={ne[0]} not a multiple of the block size")
            if name in self.tensors:
                raise GGUFError(f"{path}: duplicate tensor {name}")
            self.tensors[name] = GGUFTensor(name, ne, gtype, offset)
        self.alignment = int(self.kv.get("general.alignment", DEFAULT_ALIGNMENT))
        self.data_start = _pad(self.pos, self.alignment)
        for t in self.tensors.values():
            if t.offset % self.alignment or self.data_start + t.offset + t.nbytes > len(self.buf):
                raise GGUFError(f"{path}: tensor {t.name} data out of range or misaligned")

    def _take(self, n):
        if self.pos + n > len(self.buf):
            raise GGUFError(f"{self.path}: truncated at byte {self.pos}")
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def _scalar(self, vtype):
        fmt = _SCALAR_FMT[vtype]
        return struct.unpack(fmt, self._take(struct.calcsize(fmt)))[0]

    def _string(self):
        n = self._scalar(T_U64)
        return self._take(n).decode("utf-8")

    def _value(self, vtype):
        if vtype == T_STRING:
            return self._string()
        if vtype == T_ARRAY:
            etype, count = self._scalar(T_I32), self._scalar(T_U64)
            return [self._value(etype) for _ in range(count)]
        if vtype not in _SCALAR_FMT:
            raise GGUFError(f"{self.path}: unknown gguf value type {vtype}")
        return self._scalar(vtype)

    def raw(self, name):
        t = self.tensors[name]
        start = self.data_start + t.offset
        return self.buf[start:start + t.nbytes]

    def tensor(self, name):
        """Dequantised float64 array, outermost-first shape."""
        t = self.tensors.get(name)
        if t is None:
            raise GGUFError(f"{self.path}: tensor {name} not found")
        raw, n = self.raw(name), t.n_elements
        if t.ggml_type == GGML_F32:
            flat = np.frombuffer(raw, "<f4", n).astype(np.float64)
        elif t.ggml_type == GGML_F16:
            flat = np.frombuffer(raw, "<f2", n).astype(np.float64)
        elif t.ggml_type == GGML_F64:
            flat = np.frombuffer(raw, "<f8", n).astype(np.float64)
        elif t.ggml_type == GGML_BF16:
            flat = bf16_bits_to_f32(np.frombuffer(raw, "<u2", n)).astype(np.float64)
        else:  # Q8_0
            flat = q8_0_dequantize(raw, n)
        return flat.reshape(t.shape)


# ---------------------------------------------------------------------------------------------------------------
# writer

class GGUFWriter:
    """Collects metadata and tensors, then writes a GGUF v3 file in one go (tensors consecutive, 32-aligned)."""

    def __init__(self, arch):
        self.kv = []  # (key, vtype, value, elem_type)
        self.tensors = []  # (name, ne, ggml_type, bytes)
        self.add("general.architecture", T_STRING, arch)

    def add(self, key, vtype, value, elem_type=None):
        if any(k == key for k, *_ in self.kv):
            raise GGUFError(f"duplicate key {key}")
        self.kv.append((key, vtype, value, elem_type))

    def add_tensor(self, name, array, type_name):
        """array: outermost-first numpy array; stored as type_name (F32/F16/BF16/F64/Q8_0)."""
        a = np.asarray(array)
        ne = list(reversed(a.shape))
        gtype = TYPE_BY_NAME[type_name]
        if gtype == GGML_F32:
            raw = a.astype("<f4").tobytes()
        elif gtype == GGML_F16:
            raw = a.astype("<f2").tobytes()
        elif gtype == GGML_F64:
            raw = a.astype("<f8").tobytes()
        elif gtype == GGML_BF16:
            raw = f32_to_bf16_bits(a.astype(np.float32)).astype("<u2").tobytes()
        else:
            if ne[0] % 32:
                raise GGUFError(f"{name}: Q8_0 needs ne0 % 32 == 0, got {ne[0]}")
            raw = q8_0_quantize(a)
        self.tensors.append((name, ne, gtype, raw))

    @staticmethod
    def _pack_value(vtype, value, elem_type=None):
        if vtype == T_STRING:
            b = value.encode("utf-8")
            return struct.pack("<Q", len(b)) + b
        if vtype == T_ARRAY:
            out = struct.pack("<iQ", elem_type, len(value))
            return out + b"".join(GGUFWriter._pack_value(elem_type, v) for v in value)
        return struct.pack(_SCALAR_FMT[vtype], value)

    def write(self, path):
        out = bytearray(GGUF_MAGIC)
        out += struct.pack("<Iqq", 3, len(self.tensors), len(self.kv))
        for key, vtype, value, elem_type in self.kv:
            out += self._pack_value(T_STRING, key) + struct.pack("<i", vtype)
            out += self._pack_value(vtype, value, elem_type)
        offset = 0
        for name, ne, gtype, raw in self.tensors:
            out += self._pack_value(T_STRING, name) + struct.pack("<I", len(ne))
            out += b"".join(struct.pack("<q", n) for n in ne) + struct.pack("<iQ", gtype, offset)
            offset = _pad(offset + len(raw), DEFAULT_ALIGNMENT)
        out += b"\0" * (_pad(len(out), DEFAULT_ALIGNMENT) - len(out))
        for _, _, _, raw in self.tensors:
            out += raw
            out += b"\0" * (_pad(len(raw), DEFAULT_ALIGNMENT) - len(raw))
        with open(path, "wb") as f:
            f.write(out)
