#!/usr/bin/env python3
"""copy a GGUF file with one unsigned 32-bit metadata value changed, byte for byte otherwise.

used to hold a behaviour that real prompts never reach to llama.cpp: Gemma 3 270M's sliding
window is 512 positions and the lens holds at most 256, so `scripts/test.sh` makes a copy with
`gemma3.attention.sliding_window` = 8 and compares that model's logits with llama.cpp's on
prompts longer than 8 tokens (the local layers then mask keys on both sides).

only the value's 4 bytes change (the key must exist and be a u32), so the header, the tensor
offsets and every weight stay as they were. standard library only.

usage: python3 tests/oracle/set_metadata.py IN.gguf OUT.gguf KEY VALUE
"""

from __future__ import annotations

import shutil
import struct
import sys

SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def find(path: str, key: str) -> int:
    """the file offset of `key`'s u32 value."""
    with open(path, "rb") as f:
        head = f.read(24)
        if head[:4] != b"GGUF" or struct.unpack("<I", head[4:8])[0] not in (2, 3):
            sys.exit(f"error: {path} is not a GGUF v2/v3 file")
        n_kv = struct.unpack("<Q", head[16:24])[0]

        def string() -> bytes:
            (n,) = struct.unpack("<Q", f.read(8))
            return f.read(n)

        def skip(t: int) -> None:
            if t in SCALAR:
                f.seek(SCALAR[t], 1)
            elif t == 8:
                string()
            elif t == 9:
                at, n = struct.unpack("<IQ", f.read(12))
                if at in SCALAR:
                    f.seek(SCALAR[at] * n, 1)
                else:
                    for _ in range(n):
                        skip(at)
            else:
                sys.exit(f"error: unknown metadata type {t}")

        for _ in range(n_kv):
            k = string().decode("utf-8", "replace")
            (t,) = struct.unpack("<I", f.read(4))
            if k == key:
                if t != 4:
                    sys.exit(f"error: {key} has type {t}, not u32")
                return f.tell()
            skip(t)
    sys.exit(f"error: {path} has no {key}")


def main() -> int:
    if len(sys.argv) != 5:
        sys.exit(__doc__.strip().splitlines()[-1])
    src, dst, key, value = sys.argv[1:]
    at = find(src, key)
    shutil.copyfile(src, dst)
    with open(dst, "r+b") as f:
        f.seek(at)
        old = struct.unpack("<I", f.read(4))[0]
        f.seek(at)
        f.write(struct.pack("<I", int(value)))
    print(f"{dst}: {key} {old} -> {int(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
