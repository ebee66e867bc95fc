#!/usr/bin/env python3
"""`unembed compare A B --token TEXT --json` against numpy + gguf on the same files.

for each file, E is dequantized by gguf-py (code nobody here wrote) and everything is computed in
float64:

    norms        ‖w_i‖ over the vocabulary: mean, population std, min, max   (1e-9 relative)
    effective    exp(−Σ p_k ln p_k), p_k = σ_k/Σσ, σ from eigvalsh(EᵀE)       (1e-6 relative: the
    rank         CLI reads the spectrum the served file stores)
    energy_90    the fewest k whose σ_1² + … + σ_k² reach 90 % of ‖E‖_F²       (equal)
    anisotropy   cos(w_i, μ), μ = the mean row: mean, std, min, max          (1e-6 absolute: the
                 CLI multiplies by μ rounded to float32)
    the token    h = E[id] with id the vocabulary's spelling of TEXT (Ġ or ▁ for the space):
                 z = E h, cos_i = z_i/(‖w_i‖‖h‖); Spearman's ρ(z, cos) over the vocabulary,
                 ranks with ties averaged (1e-7 absolute: the CLI's logits are within ≈1e-9
                 relative, so near-tied neighbours may swap, and one swap moves ρ by up to
                 about 12/V², 5e-9 for SmolLM2's 49,152 tokens), the top-10 ids by z and by cos
                 (equal but for near-ties within 1e-9·max|z|).

usage: python3 tests/oracle/compare_check.py --cli target/release/unembed --token " Paris" A.gguf B.gguf
prints `N passed, M failed` last; exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import gguf
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from oracle import encode_piece  # noqa: E402  (the vocabulary spelling of a text piece)


def average_ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    edges = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1], True])
    mean = (edges[:-1] + 1 + edges[1:]) / 2.0
    r = np.empty(len(x))
    r[order] = np.repeat(mean, np.diff(edges))
    return r


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = average_ranks(a), average_ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    den = np.sqrt((ra @ ra) * (rb @ rb))
    return float(ra @ rb / den) if den > 0 else 0.0


def stats(x: np.ndarray) -> dict:
    return {"mean": float(x.mean()), "std": float(x.std()), "min": float(x.min()), "max": float(x.max())}


def reference(path: Path, text: str) -> dict:
    t0 = time.perf_counter()
    r = gguf.GGUFReader(str(path))
    t = next(t for t in r.tensors if t.name == "token_embd.weight")
    E = np.asarray(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32).astype(np.float64)
    f = r.fields["tokenizer.ggml.tokens"]
    tokens = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    mf = r.fields.get("tokenizer.ggml.model")
    kind = bytes(mf.parts[mf.data[0]]).decode() if mf else "gpt2"
    norms = np.sqrt(np.einsum("ij,ij->i", E, E))
    lam = np.clip(np.linalg.eigvalsh(E.T @ E)[::-1], 0.0, None)
    sigma = np.sqrt(lam)
    p = sigma[sigma > 0] / sigma.sum()
    energy = np.cumsum(lam) / lam.sum()
    mu = E.mean(axis=0)
    cos_mu = (E @ mu) / (norms * np.linalg.norm(mu))
    tid = tokens.index(encode_piece(text, kind))
    h = E[tid]
    z = E @ h
    cos = z / (norms * np.linalg.norm(h))
    order_z = np.lexsort((np.arange(len(z)), -z))[:10]
    order_c = np.lexsort((np.arange(len(z)), -cos))[:10]
    print(f"reference {path.name}: {E.shape}, token {text!r} = #{tid} ({time.perf_counter() - t0:.1f} s)", flush=True)
    return {
        "E": E, "z": z, "cos": cos, "tid": tid,
        "norms": stats(norms), "anisotropy": stats(cos_mu),
        "effective_rank": float(np.exp(-(p * np.log(p)).sum())),
        "energy_90": int(np.argmax(energy >= 0.9)) + 1,
        "spearman": spearman(z, cos),
        "top_logit": [int(i) for i in order_z], "top_cosine": [int(i) for i in order_c],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", type=Path, required=True)
    ap.add_argument("--token", default=" Paris")
    ap.add_argument("files", type=Path, nargs="+")
    a = ap.parse_args()
    passed = failed = 0

    def check(name: str, ok: bool, detail: str):
        nonlocal passed, failed
        passed += ok
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)

    t0 = time.perf_counter()
    out = subprocess.run([str(a.cli), "compare", *map(str, a.files), "--token", a.token, "--json"],
                         capture_output=True, text=True, timeout=1800)
    print(f"info: unembed compare in {time.perf_counter() - t0:.1f} s", flush=True)
    if out.returncode != 0:
        print(f"FAIL cli: exit {out.returncode}: {out.stderr[-500:]}")
        print("0 passed, 1 failed")
        return 1
    got = json.loads(out.stdout)["models"]
    check("models", len(got) == len(a.files), f"{len(got)} summaries for {len(a.files)} files, in order")
    for path, g in zip(a.files, got):
        ref = reference(path, a.token)
        name = path.name
        check(f"{name} file", g["file"] == str(path), g["file"])
        for part, tol, rel in (("norms", 1e-9, True), ("anisotropy", 1e-6, False)):
            worst = max(abs(g[part][k] - ref[part][k]) / (abs(ref[part][k]) if rel else 1.0) for k in ref[part])
            check(f"{name} {part}", worst <= tol,
                  f"{ {k: round(g[part][k], 6) for k in ref[part]} }, worst {'relative ' if rel else ''}error {worst:.2e} (tol {tol})")
        er = abs(g["effective_rank"] - ref["effective_rank"]) / ref["effective_rank"]
        check(f"{name} effective rank", er <= 1e-6, f"{g['effective_rank']:.6f} vs {ref['effective_rank']:.6f} (of d = {g['d']})")
        check(f"{name} energy_90", g["energy_90"] == ref["energy_90"], f"{g['energy_90']} vs {ref['energy_90']}")
        h = g["h"]
        ds = abs(g["spearman_dot_cos"] - ref["spearman"])
        check(f"{name} spearman_dot_cos", ds <= 1e-7 and h["spearman_dot_cos"] == g["spearman_dot_cos"],
              f"{g['spearman_dot_cos']:.9f} vs {ref['spearman']:.9f} (|Δ| {ds:.1e}, tol 1e-7)")
        eps = 1e-9 * float(np.abs(ref["z"]).max())
        for key, score in (("top_logit", ref["z"]), ("top_cosine", ref["cos"])):
            mine = [e["id"] for e in h[key]]
            want = ref[key]
            tie = eps if key == "top_logit" else eps / (ref["norms"]["min"] * np.linalg.norm(ref["E"][ref["tid"]]))
            ok = len(mine) == len(want) and all(m == w or abs(score[m] - score[w]) <= tie for m, w in zip(mine, want))
            check(f"{name} {key}", ok, f"{mine}" + ("" if mine == want else f" vs {want}"))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
