#!/usr/bin/env python3
"""writes the hostile-file corpus: small GGUF and safetensors files (plus tokenizers) that are
broken on purpose, each with the error it must produce.

usage: make_corpus.py OUTDIR

OUTDIR gets one file per case and `cases.json`: a list of
  {"name", "file", "tokenizer" (or null), "expect": regex of the error or "ok", "what"}.
`check.py` runs the CLI on every case; tests/e2e/hostile.test.mjs opens each in the page.
the writers here are written from the format specs, independently of the Rust code. files that
`fuzz/regressions/` holds (inputs a fuzzer once crashed on) are added as cases too.
"""
import json
import math
import os
import struct
import sys

V, D = 64, 32  # vocabulary and width of the base model
MAGIC = b"GGUF"
T_U8, T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR, T_U64 = 0, 4, 5, 6, 7, 8, 9, 10
GGML_F32, GGML_F16, GGML_Q8_0, GGML_Q4_K, GGML_IQ2_XXS = 0, 1, 8, 12, 16


# ---------------------------------------------------------------- GGUF writer with offsets


def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gvalue(ty, v):
    if ty == T_U8:
        return struct.pack("<B", v)
    if ty == T_U32:
        return struct.pack("<I", v)
    if ty == T_I32:
        return struct.pack("<i", v)
    if ty == T_F32:
        return struct.pack("<f", v)
    if ty == T_BOOL:
        return struct.pack("<B", v)
    if ty == T_U64:
        return struct.pack("<Q", v)
    if ty == T_STR:
        return gstr(v)
    if ty == T_ARR:
        ety, items = v
        return struct.pack("<IQ", ety, len(items)) + b"".join(gvalue(ety, x) for x in items)
    raise ValueError(ty)


def f16_bits(x):
    return struct.unpack("<H", struct.pack("<e", x))[0]


def q8_0(rows, cols, seed=1, scale_bits=None):
    """Q8_0 blocks of a deterministic matrix; scale_bits overrides the first block's scale."""
    out = bytearray()
    s = seed
    for r in range(rows):
        for b in range(cols // 32):
            qs = []
            for _ in range(32):
                s = (s * 6364136223846793005 + 1442695040888963407) % (1 << 64)
                qs.append(((s >> 33) % 255) - 127)
            bits = f16_bits(0.01 + 0.001 * (r % 7))
            if scale_bits is not None and r == 0 and b == 0:
                bits = scale_bits
            out += struct.pack("<H", bits) + struct.pack("<32b", *qs)
    return bytes(out)


def f32_matrix(rows, cols, seed=1):
    vals = []
    s = seed
    for _ in range(rows * cols):
        s = (s * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        vals.append(((s >> 40) / (1 << 24)) - 0.5)
    return vals


def tokens(n):
    return ["Ġt%d" % i for i in range(n)]


def base_kv(n_tokens=V):
    return [
        ("general.architecture", T_STR, "llama"),
        ("general.name", T_STR, "hostile"),
        ("tokenizer.ggml.model", T_STR, "gpt2"),
        ("tokenizer.ggml.tokens", T_ARR, (T_STR, tokens(n_tokens))),
        ("tokenizer.ggml.token_type", T_ARR, (T_I32, [1] * n_tokens)),
    ]


def base_tensors():
    return [("token_embd.weight", [D, V], GGML_Q8_0, q8_0(V, D))]


def gguf(kvs=None, tensors=None, version=3, alignment=32, magic=MAGIC, n_tensors=None, n_kv=None,
         raw_kv=None, raw_info=None, offsets=None):
    """bytes of a GGUF file and the offsets of its sections. raw_kv / raw_info replace the
    encoded metadata / tensor infos; offsets overrides each tensor's data offset."""
    kvs = base_kv() if kvs is None else kvs
    tensors = base_tensors() if tensors is None else tensors
    out = bytearray(magic + struct.pack("<I", version))
    out += struct.pack("<Q", len(tensors) if n_tensors is None else n_tensors)
    out += struct.pack("<Q", len(kvs) if n_kv is None else n_kv)
    marks = {"magic": 4, "version": 8, "tensor count": 16, "metadata count": 24, "kv": []}
    if raw_kv is not None:
        out += raw_kv
    else:
        for key, ty, v in kvs:
            out += gstr(key) + struct.pack("<I", ty) + gvalue(ty, v)
            marks["kv"].append(len(out))
    marks["infos"] = []
    data, offs = bytearray(), []
    for name, dims, ty, blob in tensors:
        while len(data) % alignment:
            data.append(0)
        offs.append(len(data))
        data += blob
    if offsets is not None:
        offs = offsets
    if raw_info is not None:
        out += raw_info
    else:
        for (name, dims, ty, _), off in zip(tensors, offs):
            out += gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
            out += struct.pack("<IQ", ty, off)
            marks["infos"].append(len(out))
    while len(out) % alignment:
        out.append(0)
    marks["data"] = len(out)
    return bytes(out + data), marks


# ---------------------------------------------------------------- safetensors writer


def safetensors(entries, blobs, header_len=None, header=None):
    """entries: {name: {dtype, shape, data_offsets}}; blobs: the data section."""
    h = header if header is not None else json.dumps(entries).encode()
    n = len(h) if header_len is None else header_len
    return struct.pack("<Q", n) + h + blobs


def f32_bytes(vals):
    return struct.pack("<%df" % len(vals), *vals)


def base_st(dtype="F32", shape=(V, D), name="wte.weight"):
    vals = f32_matrix(V, D)
    blob = f32_bytes(vals)
    entry = {name: {"dtype": dtype, "shape": list(shape), "data_offsets": [0, len(blob)]}}
    return entry, blob


def vocab_json(n=V):
    return json.dumps({("Ġt%d" % i): i for i in range(n)}).encode()


# ---------------------------------------------------------------- the cases


# token strings a page must show as inert, visible text (hostile_tokens.test.mjs looks for each).
HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(2)</script>",
    "\"><svg onload=alert(3)>",
    "\u202eevil\u202c.exe",
    "zero\u200bwidth\u200d\ufeff",
    "bell\x07esc\x1b[31mred",
    "nul\x00byte",
    "line\nbreak\r\ttab",
    "=HYPERLINK(\"http://example.invalid\",\"click\")",
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "javascript:alert(4)",
    "{{constructor.constructor('alert(5)')()}}",
    "&lt;b&gt;not bold&lt;/b&gt;",
    "\\u{202E} written out",
    "long" + "-x" * 150,
]


ZERO_ROW = 40  # a token whose embedding is all zeros: ‖v‖ = 0, cos θ defined as 0


def hostile_tokens_model():
    """a Plain-vocabulary GGUF whose first tokens are HOSTILE, with rows along one direction so
    that h = v(token 0) ranks them first by logit and by cosine; its name is hostile too."""
    n = len(HOSTILE)
    vals = []
    s = 11
    for i in range(V):
        for j in range(D):
            s = (s * 6364136223846793005 + 1442695040888963407) % (1 << 64)
            r = ((s >> 40) / (1 << 24)) - 0.5
            if i == ZERO_ROW:
                vals.append(0.0)
            elif i < n:
                vals.append((3.0 + 0.1 * i) * (1.0 if j % 2 == 0 else -0.5) + 0.2 * r)
            else:
                vals.append(0.3 * r)
    toks = HOSTILE + ["t%d" % i for i in range(n, V)]
    kv = [("general.architecture", T_STR, "llama"),
          ("general.name", T_STR, "<script>alert('name')</script>\u202eledom"),
          ("tokenizer.ggml.model", T_STR, "none"),
          ("tokenizer.ggml.tokens", T_ARR, (T_STR, toks))]
    return gguf(kvs=kv, tensors=[("token_embd.weight", [D, V], GGML_F32, f32_bytes(vals))])[0]


def tiny_llama(drop=None, kv=None, nan_in=None, wrong=None):
    """a one-layer llama (d = 32, 2 query heads sharing 1 KV head of 16, an MLP of 64) with F32
    weights beside the Q8_0 embedding: what the forward pass reads. `drop` leaves a tensor out,
    `kv` replaces metadata values, `nan_in` puts a NaN in a tensor, `wrong` gives a tensor the
    wrong number of rows."""
    meta = {"llama.block_count": (T_U32, 1), "llama.context_length": (T_U32, 64),
            "llama.embedding_length": (T_U32, D), "llama.feed_forward_length": (T_U32, 64),
            "llama.attention.head_count": (T_U32, 2), "llama.attention.head_count_kv": (T_U32, 1),
            "llama.rope.freq_base": (T_F32, 10000.0), "llama.attention.layer_norm_rms_epsilon": (T_F32, 1e-5)}
    meta.update(kv or {})
    kvs = [(k, t, v) for k, t, v in base_kv() if k not in meta] + [(k, t, v) for k, (t, v) in meta.items()]
    shapes = {"blk.0.attn_norm.weight": [D], "blk.0.attn_q.weight": [D, D], "blk.0.attn_k.weight": [D, 16],
              "blk.0.attn_v.weight": [D, 16], "blk.0.attn_output.weight": [D, D], "blk.0.ffn_norm.weight": [D],
              "blk.0.ffn_gate.weight": [D, 64], "blk.0.ffn_up.weight": [D, 64], "blk.0.ffn_down.weight": [64, D],
              "output_norm.weight": [D]}
    tensors = base_tensors()
    for k, (name, dims) in enumerate(shapes.items()):
        if name == drop:
            continue
        if name == wrong:
            dims = dims[:-1] + [dims[-1] // 2]
        n = 1
        for x in dims:
            n *= x
        vals = f32_matrix(1, n, seed=k + 3)
        if name == nan_in:
            vals[5] = float("nan")
        tensors.append((name, dims, GGML_F32, f32_bytes(vals)))
    return gguf(kvs=kvs, tensors=tensors)[0]


def cases():
    """yields (name, bytes, tokenizer bytes or None, tokenizer name, expect regex, what)."""
    ok, marks = gguf()
    yield "ok-q8.gguf", ok, None, None, "ok", "a small valid Q8_0 GGUF (control)"
    # whole models for the forward pass: the explorer opens each (it reads the embedding); the
    # lens names what is wrong (check.py runs `unembed lens FILE --ids 1,2` on them).
    yield "ok-llama.gguf", tiny_llama(), None, None, "ok", "a one-layer llama the pass runs (control)"
    yield "lens-arch.gguf", tiny_llama(kv={"general.architecture": (T_STR, "mamba")}), None, None, \
        "ok|lens:architecture \"mamba\": the forward pass runs llama", "an architecture the pass does not run"
    yield "lens-missing.gguf", tiny_llama(drop="blk.0.ffn_up.weight"), None, None, \
        "ok|lens:the model has no tensor blk\\.0\\.ffn_up\\.weight", "a block tensor missing"
    yield "lens-heads.gguf", tiny_llama(kv={"llama.attention.head_count": (T_U32, 3),
                                            "llama.attention.head_count_kv": (T_U32, 2)}), None, None, \
        "ok|lens:3 query heads cannot share 2 key/value heads", "head counts that disagree"
    yield "lens-rope.gguf", tiny_llama(kv={"llama.rope.dimension_count": (T_U32, 64)}), None, None, \
        "ok|lens:RoPE over 64 dimensions of heads of 16", "RoPE dimensions beyond the head size"
    yield "lens-nan.gguf", tiny_llama(nan_in="blk.0.attn_k.weight"), None, None, \
        "ok|lens:blk\\.0\\.attn_k\\.weight row 0 has a non-finite value", "a NaN weight"
    yield "lens-shape.gguf", tiny_llama(wrong="blk.0.ffn_gate.weight"), None, None, \
        "ok|lens:blk\\.0\\.ffn_gate\\.weight is 32 × 32, the model's dimensions need 64 × 32", "a block tensor of the wrong shape"
    yield "lens-eps.gguf", tiny_llama(kv={"llama.attention.layer_norm_rms_epsilon": (T_STR, "small")}), None, None, \
        "ok|lens:llama\\.attention\\.layer_norm_rms_epsilon is \"small\", not a finite number", "a norm epsilon that is text"
    untied, _ = gguf(tensors=base_tensors() + [("output.weight", [D, V], GGML_F16,
                                                  struct.pack("<%de" % (V * D), *f32_matrix(V, D, 3)))])
    yield "ok-untied.gguf", untied, None, None, "ok", "a valid untied GGUF with an F16 output matrix (control)"
    negzero, _ = gguf(tensors=[("token_embd.weight", [D, V], GGML_Q8_0, q8_0(V, D, scale_bits=0x8000))])
    yield "ok-negzero-scale.gguf", negzero, None, None, "ok", "a Q8_0 scale of -0: that block is zero (control)"

    yield "ok-hostile-tokens.gguf", hostile_tokens_model(), None, None, "ok", "tokens that are HTML, scripts, bidi overrides, controls, formulas (control)"
    yield "empty.gguf", b"", None, None, r"the file is empty", "zero bytes"
    # truncated at every section boundary, and inside the first key and the tensor data.
    cuts = [("magic", 2, r"truncated: GGUF magic needs 4 bytes but the file has 2"), ("version", marks["magic"] + 2, r"truncated: version"),
            ("tensor-count", marks["version"] + 4, r"truncated: tensor count"),
            ("metadata-count", marks["tensor count"] + 4, r"truncated: metadata count"),
            ("in-first-key", marks["metadata count"] + 11, r"metadata count 5 cannot fit in the 11 bytes")]
    for i, end in enumerate(marks["kv"]):
        rx = r"truncated: (key of metadata entry %d|name of tensor 0) needs" % (i + 1)
        if i == 0:
            rx = r"metadata count 5 cannot fit in the 45 bytes"  # 4 entries left need >= 52
        cuts.append(("after-kv%d" % i, end, rx))
    cuts.append(("after-infos", marks["infos"][-1], r"truncated: tensor token_embd\.weight"))
    cuts.append(("mid-data", marks["data"] + 100, r"truncated: tensor token_embd\.weight"))
    cuts.append(("last-byte", len(ok) - 1, r"truncated: tensor token_embd\.weight"))
    for tag, end, rx in cuts:
        yield "truncated-%s.gguf" % tag, ok[:end], None, None, rx, "cut at byte %d" % end

    yield "magic-ggml.gguf", b"GGML" + ok[4:], None, None, r"a GGML/GGJT file", "wrong magic"
    yield "version-1.gguf", gguf(version=1)[0], None, None, r"GGUF version 1;", "version 1"
    yield "version-99.gguf", gguf(version=99)[0], None, None, r"GGUF version 99;", "version 99"

    yield "offset-past-end.gguf", gguf(offsets=[1 << 20])[0], None, None, \
        r"truncated: tensor token_embd\.weight \(\d+ bytes at offset \d+\)", "tensor data offset 1 MiB past the end"
    blob = q8_0(V, D)
    yield "overlap.gguf", gguf(tensors=base_tensors() + [("output.weight", [D, V], GGML_Q8_0, blob)],
                               offsets=[0, 32])[0], None, None, r"tensors .* overlap", "output.weight overlaps token_embd.weight"
    yield "dims-overflow.gguf", gguf(tensors=[("token_embd.weight", [1 << 33, 1 << 33], GGML_Q8_0, b"")])[0], None, None, \
        r"overflow", "dims whose product overflows u64"
    yield "terabytes.gguf", gguf(tensors=[("token_embd.weight", [576, 1 << 36], GGML_Q8_0, b"")])[0], None, None, \
        r"truncated: tensor token_embd\.weight \(42056319762432 bytes", "a 42 TB embedding in a small file"
    yield "nan-scale.gguf", gguf(tensors=[("token_embd.weight", [D, V], GGML_Q8_0, q8_0(V, D, scale_bits=0x7E00))])[0], \
        None, None, r"non-finite scale \(NaN\)", "a Q8_0 scale that is NaN"
    yield "inf-scale.gguf", gguf(tensors=[("token_embd.weight", [D, V], GGML_Q8_0, q8_0(V, D, scale_bits=0x7C00))])[0], \
        None, None, r"non-finite scale \(inf\)", "a Q8_0 scale that is +Inf"
    vals = f32_matrix(V, D)
    vals[5 * D + 3] = math.nan
    yield "nan-f32.gguf", gguf(tensors=[("token_embd.weight", [D, V], GGML_F32, f32_bytes(vals))])[0], None, None, \
        r"row 5 has a NaN", "an F32 embedding holding a NaN"
    vals[5 * D + 3] = -math.inf
    yield "inf-f32.gguf", gguf(tensors=[("token_embd.weight", [D, V], GGML_F32, f32_bytes(vals))])[0], None, None, \
        r"row 5 has a NaN or infinite value \(-inf\)", "an F32 embedding holding -Inf"
    yield "vocab-short.gguf", gguf(kvs=base_kv(V - 1))[0], None, None, r"vocabulary has 63 tokens but the matrix has 64 rows", \
        "63 tokens for 64 rows"
    bad_key = [(b"general.\xff\xfename", T_STR, "x")] + base_kv()
    yield "utf8-key.gguf", gguf(kvs=bad_key)[0], None, None, r"key of metadata entry 0: string is not valid UTF-8", "a key that is not UTF-8"
    kv = base_kv()
    toks = tokens(V)
    toks[7] = b"\xc3\x28"
    kv[3] = ("tokenizer.ggml.tokens", T_ARR, (T_STR, toks))
    yield "utf8-token.gguf", gguf(kvs=kv)[0], None, None, r"tokenizer\.ggml\.tokens: string is not valid UTF-8", "a token that is not UTF-8"
    yield "huge-key-length.gguf", gguf(raw_kv=struct.pack("<Q", 1 << 62) + b"x" * 64, n_kv=1)[0], None, None, \
        r"string length 4611686018427387904 is impossible", "a key claiming 2^62 bytes"
    yield "long-key.gguf", gguf(kvs=[("k" * 100000, T_U8, 1)] + base_kv())[0], None, None, \
        r"key of 100000 bytes is above the limit", "a 100 kB key"
    yield "string-past-end.gguf", gguf(raw_kv=gstr("general.name") + struct.pack("<IQ", T_STR, 1 << 31), n_kv=1)[0], \
        None, None, r"truncated: general\.name needs 2147\d+ bytes", "a string value claiming 2 GiB"
    yield "duplicate-key.gguf", gguf(kvs=base_kv() + [("general.name", T_STR, "again")])[0], None, None, \
        r'metadata key "general\.name" appears twice', "a metadata key given twice"
    yield "duplicate-tensor.gguf", gguf(tensors=base_tensors() * 2, offsets=[0, len(blob) + 30])[0], None, None, \
        r'tensor name "token_embd\.weight" appears twice', "a tensor name given twice"
    yield "unknown-type.gguf", gguf(tensors=[("token_embd.weight", [D, V], 99, q8_0(V, D))])[0], None, None, \
        r"ggml type unknown \(99\)", "a tensor of ggml type 99"
    yield "ok-q4k.gguf", gguf(tensors=[("token_embd.weight", [256, V], GGML_Q4_K, b"\0" * (144 * V))])[0], None, None, \
        "ok", "a Q4_K embedding, requantized to Q8_0 to be served (control)"
    yield "iq2.gguf", gguf(tensors=[("token_embd.weight", [256, V], GGML_IQ2_XXS, b"\0" * (66 * V))])[0], None, None, \
        r"ggml type IQ2_XXS; readable", "an IQ2_XXS embedding (valid GGUF, a type we do not read)"
    yield "tensor-count-huge.gguf", gguf(n_tensors=1 << 60)[0], None, None, r"tensor count 1152921504606846976 cannot fit", \
        "a tensor count of 2^60"
    yield "kv-count-huge.gguf", gguf(n_kv=1 << 40)[0], None, None, r"metadata count 1099511627776 cannot fit", \
        "a metadata count of 2^40"
    yield "array-count-huge.gguf", gguf(raw_kv=gstr("a") + struct.pack("<IIQ", T_ARR, T_U32, 1 << 50), n_kv=1)[0], \
        None, None, r"a: array length 1125899906842624 cannot fit", "an array claiming 2^50 items"
    nest = gstr("deep") + struct.pack("<I", T_ARR) + struct.pack("<IQ", T_ARR, 1) * 6 + struct.pack("<IQ", T_U8, 1) + b"\0"
    yield "nested-arrays.gguf", gguf(raw_kv=nest, n_kv=1)[0], None, None, r"deep: arrays nested deeper than 4", \
        "arrays nested 7 deep"
    n = (1 << 21) - 2 * V  # with the tokens and their types: exactly the limit
    yield "ok-most-items.gguf", gguf(kvs=base_kv() + [("many", T_ARR, (T_U8, [0] * n))])[0], None, None, "ok", \
        "2 Mi array items in all, the limit: the most memory a header may take (control)"
    many = gstr("many") + struct.pack("<IIQ", T_ARR, T_U8, (1 << 21) + 1) + b"\0" * ((1 << 21) + 1)
    yield "too-many-items.gguf", gguf(raw_kv=many, n_kv=1)[0], None, None, r"more than 2097152 items", \
        "a 2 MiB array of u8: more items than any tokenizer has"
    yield "alignment-3.gguf", gguf(kvs=base_kv() + [("general.alignment", T_U32, 3)])[0], None, None, \
        r"general\.alignment must be a power of two", "alignment 3"
    info = gstr("token_embd.weight") + struct.pack("<I", 7) + struct.pack("<7Q", *([1] * 7)) + struct.pack("<IQ", 8, 0)
    yield "seven-dims.gguf", gguf(raw_info=info)[0], None, None, r"has 7 dims; GGUF allows 1 to 4", "a tensor with 7 dims"
    yield "value-type-99.gguf", gguf(raw_kv=gstr("odd") + struct.pack("<I", 99) + b"\0" * 8, n_kv=1)[0], None, None, \
        r"odd: unknown value type 99", "a metadata value of type 99"
    yield "bool-2.gguf", gguf(kvs=base_kv() + [("flag", T_BOOL, 2)])[0], None, None, r"flag: bool byte is 2", "a bool byte of 2"
    yield "no-embedding.gguf", gguf(tensors=[("blk.0.attn_q.weight", [D, V], GGML_Q8_0, q8_0(V, D))])[0], None, None, \
        r"not found: .*token_embd", "no token embedding tensor"
    kv = base_kv()
    kv[3] = ("tokenizer.ggml.tokens", T_ARR, (T_U32, list(range(V))))
    yield "tokens-not-strings.gguf", gguf(kvs=kv)[0], None, None, r"tokenizer\.ggml\.tokens should be an array of strings", \
        "tokens stored as numbers"
    yield "misaligned.gguf", gguf(offsets=[3])[0], None, None, r"offset 3 is not a multiple of the alignment 32", \
        "a tensor offset off the alignment"
    yield "row-not-block.gguf", gguf(tensors=[("token_embd.weight", [33, V], GGML_Q8_0, b"\0" * (34 * V * 2))])[0], \
        None, None, r"row length 33 is not a multiple of the Q8_0 block size 32", "d = 33 in Q8_0"
    yield "zero-rows.gguf", gguf(kvs=base_kv(0), tensors=[("token_embd.weight", [D, 0], GGML_Q8_0, b"")])[0], None, None, \
        r"(empty|no rows|0 rows|empty vocabulary)", "an embedding with no rows"
    yield "three-d.gguf", gguf(tensors=[("token_embd.weight", [D, V, 2], GGML_Q8_0, q8_0(2 * V, D))])[0], None, None, \
        r"should be 2-d", "a 3-d embedding"

    # ---- safetensors (with a vocab.json where the case needs one)
    entry, blob = base_st()
    vj = vocab_json()
    yield "ok.safetensors", safetensors(entry, blob), vj, "vocab.json", "ok", "a valid F32 safetensors (control)"
    yield "st-short.safetensors", b"\x10\0\0", None, None, r"only 3 bytes: too short", "3 bytes"
    yield "st-header-longer.safetensors", safetensors(entry, blob, header_len=len(json.dumps(entry)) + len(blob) + 5), \
        vj, "vocab.json", r"header claims \d+ bytes but only \d+ follow", "a header length past the end of the file"
    yield "st-header-huge.safetensors", safetensors(entry, blob, header_len=1 << 63), vj, "vocab.json", \
        r"header length 9223372036854775808 exceeds", "a header length of 2^63"
    yield "st-header-shorter.safetensors", safetensors(entry, blob, header_len=len(json.dumps(entry)) - 7), vj, \
        "vocab.json", r"header is not valid json: tensor wte.weight: EOF while parsing", "a header length that cuts the JSON"
    yield "st-not-json.safetensors", safetensors(None, blob, header=b"<html>not json</html>  "), vj, "vocab.json", \
        r"header is not valid json: expected value", "HTML where the JSON header should be"
    yield "st-array.safetensors", safetensors(None, blob, header=b"[1, 2, 3]"), vj, "vocab.json", \
        r"header is not valid json: invalid type: sequence", "a JSON array as the header"
    lie, _ = base_st(dtype="F16")
    yield "st-dtype-lies.safetensors", safetensors(lie, blob), vj, "vocab.json", \
        r"needs 32768 bits but data_offsets span 8192 bytes", "dtype F16 over F32 bytes"
    odd, _ = base_st(dtype="Q9_X")
    yield "st-unknown-dtype.safetensors", safetensors(odd, blob), vj, "vocab.json", r"dtype Q9_X; readable", \
        "an unknown dtype"
    i8, _ = base_st(dtype="I8", shape=(V, D * 4))
    yield "st-int8.safetensors", safetensors(i8, blob), vj, "vocab.json", r"dtype I8; readable", "an I8 embedding"
    past = {"wte.weight": {"dtype": "F32", "shape": [V, D], "data_offsets": [100, 100 + len(blob)]}}
    yield "st-past-end.safetensors", safetensors(past, blob), vj, "vocab.json", r"data ends at byte \d+, beyond the file length", \
        "data_offsets past the end"
    rev = {"wte.weight": {"dtype": "F32", "shape": [V, D], "data_offsets": [len(blob), 0]}}
    yield "st-reversed.safetensors", safetensors(rev, blob), vj, "vocab.json", r"data_offsets begin 8192 > end 0", \
        "data_offsets reversed"
    two = dict(entry)
    two["lm_head.weight"] = {"dtype": "F32", "shape": [V, D // 2], "data_offsets": [len(blob) // 2, len(blob)]}
    yield "st-overlap.safetensors", safetensors(two, blob), vj, "vocab.json", r"tensor .* overlaps tensor", "two tensors overlapping"
    big = {"wte.weight": {"dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, len(blob)]}}
    yield "st-shape-overflow.safetensors", safetensors(big, blob), vj, "vocab.json", r"shape \[1099511627776, 1099511627776\] overflows", \
        "a shape whose product overflows"
    hdr = json.dumps(entry)[:-1] + ", " + json.dumps(entry)[1:]
    yield "st-duplicate.safetensors", safetensors(None, blob, header=hdr.encode()), vj, "vocab.json", \
        r"tensor wte\.weight appears twice", "the same tensor name twice in the JSON"
    vals = f32_matrix(V, D)
    vals[9 * D] = math.nan
    yield "st-nan.safetensors", safetensors(entry, f32_bytes(vals)), vj, "vocab.json", r"row 9 has a NaN", "a NaN in the embedding"
    vals[9 * D] = math.inf
    yield "st-inf.safetensors", safetensors(entry, f32_bytes(vals)), vj, "vocab.json", r"row 9 has a NaN or infinite value \(inf\)", \
        "+Inf in the embedding"
    vals[9 * D] = 1e12
    yield "st-overflow-q8.safetensors", safetensors(entry, f32_bytes(vals)), vj, "vocab.json", \
        r"row 9 has a value of magnitude 1e12; Q8_0", "a value too large for Q8_0's f16 scale"
    three, _ = base_st(shape=(V, D // 2, 2))
    yield "st-three-d.safetensors", safetensors(three, blob), vj, "vocab.json", r"has shape \[64, 16, 2\], expected 2-d", "a 3-d embedding"
    yield "st-no-embedding.safetensors", safetensors(base_st(name="encoder.layer.0.weight")[0], blob), vj, "vocab.json", \
        r"not found: no embedding tensor", "no embedding tensor"
    yield "st-vocab-long.safetensors", safetensors(entry, blob), vocab_json(V + 5), "vocab.json", \
        r"vocabulary has 69 tokens but the matrix has 64 rows", "69 tokens for 64 rows"
    yield "st-vocab-not-json.safetensors", safetensors(entry, blob), b"{\"a\": 1,", "vocab.json", \
        r"tokenizer file is not a JSON object: EOF while parsing", "a vocab.json cut short"
    yield "st-vocab-huge-id.safetensors", safetensors(entry, blob), b'{"a": 0, "b": 4000000000}', "vocab.json", \
        r'token "b" has id 4000000000, above the limit', "a token id of 4e9"
    yield "st-vocab-shared-id.safetensors", safetensors(entry, blob), b'{"a": 0, "b": 0}', "vocab.json", \
        r'tokens "a" and "b" share id 0', "two tokens with one id"
    yield "st-tokenizer-no-vocab.safetensors", safetensors(entry, blob), b'{"model": {"type": "BPE"}}', "tokenizer.json", \
        r"tokenizer\.json: model has no vocab", "a tokenizer.json without a vocab"


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "target/hostile"
    os.makedirs(out, exist_ok=True)
    listing = []
    names = set()
    for name, data, tok, tok_name, expect, what in cases():
        assert name not in names, name
        names.add(name)
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        tok_file = None
        if tok is not None:
            tok_file = name.rsplit(".", 1)[0] + "." + tok_name
            with open(os.path.join(out, tok_file), "wb") as f:
                f.write(tok)
        # "ok|lens:REGEX": the explorer opens the file; the forward pass refuses it with REGEX.
        lens = None
        if expect.startswith("ok|lens:"):
            expect, lens = "ok", expect[len("ok|lens:"):]
        listing.append({"name": name, "file": name, "tokenizer": tok_file, "expect": expect, "what": what,
                        "lens": lens})
    # inputs a fuzzer once crashed on, kept as regression cases: they must now fail cleanly.
    reg = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fuzz", "regressions")
    if os.path.isdir(reg):
        for target in sorted(os.listdir(reg)):
            for f in sorted(os.listdir(os.path.join(reg, target))):
                if target == "query":
                    continue  # query inputs are JSON for the CLI's --batch; check.py runs them itself
                data = open(os.path.join(reg, target, f), "rb").read()
                name = "fuzz-%s-%s" % (target, f)
                if target == "safetensors":
                    data = data[5 + min(len(data) - 5, int.from_bytes(data[1:5], "little")):] if len(data) >= 5 else b""
                    name += ".safetensors"
                else:
                    name += ".gguf"
                with open(os.path.join(out, name), "wb") as fh:
                    fh.write(data)
                listing.append({"name": name, "file": name, "tokenizer": None, "expect": r".", "what": "fuzz regression"})
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(listing, f, indent=1)
    print("%d cases in %s" % (len(listing), out))


if __name__ == "__main__":
    main()
