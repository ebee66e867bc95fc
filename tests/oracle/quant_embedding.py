#!/usr/bin/env python3
"""block-quantized embeddings against gguf-py + numpy: GGUF files whose token_embd.weight is
Q4_K, Q5_0 or Q6_K (the formats of the Q4_K_M files on the hubs) open in `unembed`, are served as
Q8_0 the way ggml quantizes, and rank tokens as numpy does. independent of the project's code:
the files are written with gguf-py's GGUFWriter, the reference is gguf.quants.dequantize (and
gguf.quants.quantize for Q8_0, bit-exact with ggml's reference quantizer).

for each format (V = 3000 tokens, d = 512, seeded random blocks with moderate scales):
  1. `unembed inspect --json`: the embedding's type, and `requantized` {max_rel, rms_rel} equal to
     what numpy measures between the gguf-py dequantization E and its Q8_0 copy Q within 1e-9;
  2. `unembed convert` → served file: its Q8_0 bytes equal gguf-py's quantize(E, Q8_0) exactly;
  3. `unembed query --batch` on the source file, 120 queries (60 token ids, 60 Gaussian h): the
     top-10 ids equal numpy's on Q (exactly, up to ties within 1e-9·max|z|), and equal numpy's on
     the source E except where two source logits lie within the requantization bound
     2·max_i‖Q_i − E_i‖·‖h‖ of each other; logits within the exact kernel's stated bound of Q's
     (1e-9·Σ_b max_b|h|·Σ_{j∈b}|Q_ij| + 1e-13·Σ_j|Q_ij·h_j|, src/core/quant/kernels/mod.rs).
writes the files to OUTDIR (kept: the end-to-end test opens them in the page) and prints
`N passed, M failed` last; exit 1 on any failure.

usage: python3 tests/oracle/quant_embedding.py --cli target/release/unembed --out target/quant-models
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import gguf
import numpy as np
from gguf import GGMLQuantizationType as Q

V, D = 3000, 512
SEED = 4242


def f16(x):
    return np.asarray(x, dtype=np.float16).view(np.uint8)


def random_blocks(qtype: Q, n_blocks: int, rng: np.random.Generator) -> np.ndarray:
    """valid blocks of `qtype` with every quant random and the f16 scales moderate."""
    size = gguf.GGML_QUANT_SIZES[qtype][1]
    b = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    d = rng.uniform(0.002, 0.02, n_blocks).astype(np.float16)
    if qtype == Q.Q4_K:  # d, dmin (f16), scales[12], qs[128]
        b[:, 0:2] = f16(d).reshape(-1, 2)
        b[:, 2:4] = f16(rng.uniform(0.001, 0.01, n_blocks)).reshape(-1, 2)
    elif qtype == Q.Q5_0:  # d (f16), qh[4], qs[16]
        b[:, 0:2] = f16(d * 4).reshape(-1, 2)
    elif qtype == Q.Q6_K:  # ql[128], qh[64], scales[16] (int8), d (f16)
        b[:, 208:210] = f16(d / 8).reshape(-1, 2)
    else:
        raise ValueError(qtype)
    return b


def write_model(path: Path, qtype: Q, rng: np.random.Generator) -> np.ndarray:
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    raw = random_blocks(qtype, V * D // block, rng).reshape(V, D // block * size)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name(f"random {qtype.name} embedding")
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"t{i}" for i in range(V)])
    w.add_tensor("token_embd.weight", raw, raw_dtype=qtype)  # raw: [V, bytes per row]
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return raw


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name: str, ok: bool, detail: str):
        self.passed += ok
        self.failed += not ok
        print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)


def run(cmd: list[str]) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {out.returncode}: {out.stderr.strip()[-1500:]}")
    return out.stdout


def top_ids(z: np.ndarray, k: int) -> list[int]:
    order = np.lexsort((np.arange(len(z)), -z))
    return [int(i) for i in order[:k]]


def same_up_to_ties(got: list[int], want: list[int], z: np.ndarray, window: float) -> bool:
    """the same ids position by position, except swaps among logits within `window`."""
    if len(got) != len(want) or len(set(got)) != len(got):
        return False
    for g, w in zip(got, want):
        if g != w and abs(z[g] - z[w]) > window:
            return False
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    checks = Checks()
    rng = np.random.default_rng(SEED)
    for qtype in (Q.Q4_K, Q.Q5_0, Q.Q6_K):
        name = qtype.name
        src = a.out / f"random-{name.lower()}.gguf"
        raw = write_model(src, qtype, rng)
        E = gguf.quants.dequantize(raw, qtype).astype(np.float32)  # [V, D]
        q8 = gguf.quants.quantize(E, Q.Q8_0)
        Qm = gguf.quants.dequantize(q8, Q.Q8_0).astype(np.float64)
        E64 = E.astype(np.float64)
        diff = Qm - E64
        norms = np.linalg.norm(E64, axis=1)
        max_rel = float(np.max(np.max(np.abs(diff), axis=1)[norms > 0] / norms[norms > 0]))
        rms_rel = float(np.sqrt((diff * diff).sum() / (E64 * E64).sum()))

        info = json.loads(run([str(a.cli), "inspect", str(src), "--json"]))
        r = info["embedding"].get("requantized") or {}
        ok = (info["embedding"]["type"] == name and r.get("from") == name
              and abs(r.get("max_rel", -1) - max_rel) <= 1e-9 * max_rel
              and abs(r.get("rms_rel", -1) - rms_rel) <= 1e-9 * rms_rel)
        checks.check(f"{name} inspect", ok, f"type {info['embedding']['type']}, requantized {r}; numpy max_rel "
                     f"{max_rel:.6g}, rms_rel {rms_rel:.6g}")

        served = a.out / f"served-{name.lower()}.gguf"
        run([str(a.cli), "convert", str(src), "-o", str(served), "--no-spectrum"])
        t = [t for t in gguf.GGUFReader(str(served)).tensors if t.name == "token_embd.weight"][0]
        same = t.tensor_type == Q.Q8_0 and np.array_equal(np.asarray(t.data).reshape(-1), q8.reshape(-1))
        checks.check(f"{name} served bytes", bool(same), "the served Q8_0 matrix equals gguf-py's quantize(E, Q8_0) "
                     + ("byte for byte" if same else "NOT byte for byte"))

        ids = [int(i) for i in rng.choice(V, 60, replace=False)]
        hs = rng.standard_normal((60, D)).astype(np.float32) * np.geomspace(0.05, 5, 60)[:, None].astype(np.float32)
        queries = [{"id": i, "top": 10} for i in ids] + [{"h": [float(x) for x in h], "top": 10} for h in hs]
        batch = a.out / f"queries-{name.lower()}.json"
        batch.write_text(json.dumps(queries))
        res = json.loads(run([str(a.cli), "query", str(src), "--batch", str(batch), "--json"]))
        n_q = n_src = 0
        worst = 0.0
        bad = []
        for qi, (q, got) in enumerate(zip(queries, res)):
            h = E64[q["id"]] if "id" in q else np.asarray(q["h"], dtype=np.float64)
            # an id query's h is the served row (the explorer builds h from the matrix it has).
            if "id" in q:
                h = Qm[q["id"]]
            zq, zs = Qm @ h, E64 @ h
            got_ids = [e["id"] for e in got["top"]]
            zmax = float(np.max(np.abs(zq)))
            hb = np.abs(h).reshape(-1, 32).max(axis=1)
            for e in got["top"]:
                row = Qm[e["id"]]
                bound = 1e-9 * float(hb @ np.abs(row).reshape(-1, 32).sum(axis=1)) + 1e-13 * float(np.abs(row * h).sum())
                worst = max(worst, abs(e["logit"] - zq[e["id"]]) / bound)
            if same_up_to_ties(got_ids, top_ids(zq, 10), zq, 1e-9 * zmax):
                n_q += 1
            else:
                bad.append(f"query {qi}: {got_ids} vs Q8_0 {top_ids(zq, 10)}")
            window = 2 * float(np.max(np.linalg.norm(diff, axis=1))) * float(np.linalg.norm(h))
            if same_up_to_ties(got_ids, top_ids(zs, 10), zs, window):
                n_src += 1
            else:
                bad.append(f"query {qi}: {got_ids} vs source {top_ids(zs, 10)} (window {window:.3g})")
        checks.check(f"{name} top-10 vs numpy on the Q8_0 copy", n_q == len(queries) and worst <= 1.0,
                     f"{n_q}/{len(queries)} queries, worst logit error {worst:.3g} × the kernel's bound")
        checks.check(f"{name} top-10 vs numpy on the {name} source", n_src == len(queries),
                     f"{n_src}/{len(queries)} queries identical up to near-ties within the requantization bound")
        for b in bad[:6]:
            print("    " + b)
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
