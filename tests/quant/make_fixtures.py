#!/usr/bin/env python3
"""Fixtures for tests/quant.rs: random and edge-case ggml blocks of every format the crate
reads, and what llama.cpp's own Python reader (gguf-py, `gguf.quants.dequantize`) makes of them.

    python3 tests/quant/make_fixtures.py OUTDIR

For each format NAME it writes OUTDIR/NAME.bin (the raw blocks, back to back) and OUTDIR/NAME.f32
(gguf-py's values, little-endian float32, block after block), and OUTDIR/manifest.json:
{"gguf": version, "numpy": version, "formats": [{name, type_id, blocks, block_size,
block_bytes}, ...]}. Block sizes and bytes come from gguf's GGML_QUANT_SIZES. Uses only numpy
and gguf (tests/oracle/requirements.txt), none of the project's code; the block layouts below
(where the f16 scales sit) are ggml-common.h's structs. Seeded: the same files every run.

Blocks per format: several hundred random ones (scales drawn as finite f16 of every
magnitude, quants uniform), some with every byte random (so NaN and inf scales too), then
edge cases: each f16 field (d, dmin, m) set in turn to +0, -0, the smallest subnormals, the
largest subnormal, the smallest normal, +-1, +-65504, +-inf and quiet, signalling and
negative NaNs, with the quant bytes random, all 0x00, all 0xFF, 0x80, 0x55 or 0xAA; and for
formats with two f16 fields every pair of special values. The float formats get every f16
and bf16 bit pattern, and random and special f32s. The count is padded to whole 256-value rows.
"""

import json
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize

# offsets of the f16 fields in each block (ggml-common.h), by gguf's type.
F16_FIELDS = {
    T.Q4_0: {"d": 0},
    T.Q4_1: {"d": 0, "m": 2},
    T.Q5_0: {"d": 0},
    T.Q5_1: {"d": 0, "m": 2},
    T.Q8_0: {"d": 0},
    T.Q2_K: {"d": 80, "dmin": 82},
    T.Q3_K: {"d": 108},
    T.Q4_K: {"d": 0, "dmin": 2},
    T.Q5_K: {"d": 0, "dmin": 2},
    T.Q6_K: {"d": 208},
}
FLOATS = [T.F32, T.F16, T.BF16]

SPECIAL_F16 = [
    0x0000,  # +0
    0x8000,  # -0
    0x0001,  # smallest subnormal, 2^-24
    0x8001,  # its negative
    0x03FF,  # largest subnormal
    0x0400,  # smallest normal, 2^-14
    0x3C00,  # 1
    0xBC00,  # -1
    0x7BFF,  # 65504, the largest finite
    0xFBFF,  # -65504
    0x7C00,  # +inf
    0xFC00,  # -inf
    0x7E00,  # quiet NaN
    0xFE00,  # negative quiet NaN
    0x7C01,  # signalling NaN
    0x7FFF,  # NaN, all payload bits
]
PAIR_F16 = [0x0000, 0x8000, 0x0001, 0x7BFF, 0xBC00, 0x7C00, 0xFC00, 0x7E00]
PATTERNS = [None, 0x00, 0xFF, 0x80, 0x55, 0xAA]  # None: random bytes

SPECIAL_F32 = [
    0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x00800000, 0x3F800000,
    0xBF800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000,
    0x7F800001, 0x7FFFFFFF, 0x33800000, 0x477FE000,
]

ROW = 256  # values per fixture row; every block size divides it


def random_f16(rng, n):
    """finite f16 bit patterns of every sign and magnitude, normal and subnormal."""
    mag = rng.standard_normal(n) * np.exp2(rng.integers(-26, 16, n).astype(np.float64))
    with np.errstate(over="ignore"):
        h = mag.astype(np.float16)
    h = np.where(np.isfinite(h), h, np.float16(65504) * np.sign(mag).astype(np.float16))
    return h.view(np.uint16)


def set_f16(blocks, at, bits):
    blocks[:, at : at + 2] = np.asarray(bits, dtype="<u2").reshape(-1, 1).view(np.uint8)


def quant_blocks(qtype, rng):
    block_size, nbytes = GGML_QUANT_SIZES[qtype]
    fields = list(F16_FIELDS[qtype].values())
    other = np.ones(nbytes, dtype=bool)
    for at in fields:
        other[at : at + 2] = False

    def sane(n):
        b = rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
        for at in fields:
            set_f16(b, at, random_f16(rng, n))
        return b

    parts = [sane(512), rng.integers(0, 256, (64, nbytes), dtype=np.uint8)]
    for at in fields:
        for bits in SPECIAL_F16:
            for pattern in PATTERNS:
                b = sane(1)
                set_f16(b, at, [bits])
                if pattern is not None:
                    b[:, other] = pattern
                parts.append(b)
    if len(fields) == 2:
        for b1 in PAIR_F16:
            for b2 in PAIR_F16:
                for pattern in (None, 0xFF):
                    b = sane(1)
                    set_f16(b, fields[0], [b1])
                    set_f16(b, fields[1], [b2])
                    if pattern is not None:
                        b[:, other] = pattern
                    parts.append(b)
    blocks = np.concatenate(parts)
    per_row = ROW // block_size
    pad = -len(blocks) % per_row
    return np.concatenate([blocks, sane(pad)])


def float_blocks(qtype, rng):
    if qtype in (T.F16, T.BF16):
        bits = np.arange(1 << 16, dtype=np.uint32).astype("<u2")
    else:
        scale = np.exp2(rng.integers(-150, 128, 16384).astype(np.float64))
        with np.errstate(over="ignore"):
            normal = (rng.standard_normal(16384) * scale).astype("<f4")
        bits = np.concatenate([
            np.array(SPECIAL_F32, dtype="<u4"),
            normal.view("<u4"),
            rng.integers(0, 1 << 32, 16384, dtype=np.uint64).astype("<u4"),
        ])
        bits = np.concatenate([bits, normal[: -len(bits) % ROW].view("<u4")])
    return bits.view(np.uint8).reshape(len(bits), -1)


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} OUTDIR")
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    formats = []
    for qtype in FLOATS + list(F16_FIELDS):
        rng = np.random.default_rng(20240 + int(qtype))
        blocks = float_blocks(qtype, rng) if qtype in FLOATS else quant_blocks(qtype, rng)
        block_size, nbytes = GGML_QUANT_SIZES[qtype]
        assert blocks.dtype == np.uint8 and blocks.shape[1] == nbytes, qtype
        raw = np.frombuffer(blocks.tobytes(), dtype=np.uint8).reshape(len(blocks), nbytes)
        with np.errstate(invalid="ignore", over="ignore"):
            values = dequantize(raw, qtype)
        values = np.ascontiguousarray(values, dtype="<f4").reshape(-1)
        assert values.size == len(blocks) * block_size, qtype
        (out / f"{qtype.name}.bin").write_bytes(raw.tobytes())
        (out / f"{qtype.name}.f32").write_bytes(values.tobytes())
        formats.append({
            "name": qtype.name,
            "type_id": int(qtype),
            "blocks": len(blocks),
            "block_size": block_size,
            "block_bytes": nbytes,
        })
        nan = int(np.isnan(values).sum())
        print(f"{qtype.name}: {len(blocks)} blocks, {values.size} values, {nan} NaN", file=sys.stderr)
    manifest = {"gguf": version("gguf"), "numpy": np.__version__, "formats": formats}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
