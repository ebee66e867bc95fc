#!/usr/bin/env python3
"""the exact forward pass and the logit lens against an independent numpy forward in float64.

`unembed lens --exact` claims the llama forward pass computed exactly: the weights dequantized
exactly, the activations not quantized, the products summed in f64. This script writes the same
mathematics again from the model card alone, with gguf-py (`GGUFReader`, `quants.dequantize`)
and numpy in float64 (no project code), and compares, for every prompt of the reference:

  - logits:  the last position's logits over the whole vocabulary, max_i |z_i − z_i^ref| ≤ TOL;
  - lens:    every cell (layer × position: the residual after that layer, read through the final
             RMSNorm and the head): the top-5 ids in order (where the reference's own logits lie
             within TOL of each other either order is accepted), the top logit within TOL and
             the entropy of the softmax within TOL_H.

the mathematics, after llama.cpp's graph (src/models/llama.cpp, `llama_model_llama::graph`):

    x = E[token]                 (dequantized row)
    per layer: h = rmsnorm(x)·attn_norm; q, k, v = Wq h, Wk h, Wv h; RoPE on q and k with
      NORM pairing (x[2i], x[2i+1]) rotated by p·base^(−2i/n_rot) (ggml-cpu ops.cpp,
      `rope_yarn` without YaRN: freq_scale = 1/rope.scaling.factor); attention per query head
      over its KV head (grouped), scale 1/√head_dim, causal; x += Wo a;
      g = rmsnorm(x)·ffn_norm; x += Wdown (silu(Wgate g) ⊙ Wup g)
    h = rmsnorm(x)·output_norm;  z = W_out h  (W_out = E when the file has no output.weight)

with the one rounding that is part of the model as llama.cpp runs it by default, on both sides:
the KV cache holds K and V in f16, and its non-flash attention rounds q (`ggml_mul_mat` of an
f16 K with an f32 q converts q to f16) and the softmax'd weights (before they multiply the f16 V)
to f16. These roundings are discontinuous: a value within its own rounding error of an f16 tie
rounds either way, and a flip (2⁻¹¹ relative) is carried through the remaining layers. So two
correct implementations of the same mathematics differ by more than their arithmetic suggests.
The script measures that for itself: it runs its own forward twice, in float64 and with float32
arrays, and the tolerance is TOL = max(--tol, 2 × the largest difference between its two runs
over all prompts and cells) (on this model and the committed prompts the two runs differ by up
to 0.035 on logits of magnitude 20–100); the entropy of a cell may differ by 2·TOL. The one-token
prompt, where the attention has nothing to round, is held to --tol alone. The rows other than
the last are read at the fast precision (about 4·10⁻⁵ relative), well inside --tol.

usage: python3 tests/oracle/numpy_forward.py --model M.gguf --ref forward.json --cli target/release/unembed
(--ref is `llama_ref.py forward` output, for its prompts' token ids; the tokenizer is checked
against llama.cpp separately.) prints `N passed, M failed` last; exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize


def field(r: GGUFReader, key: str, default=None):
    f = r.fields.get(key)
    if f is None:
        return default
    v = f.parts[f.data[0]]
    return v.tolist()[0] if len(v) == 1 else v.tolist()


class Model:
    def __init__(self, path: Path):
        r = GGUFReader(str(path))
        arch = field(r, "general.architecture")
        if isinstance(arch, list):
            arch = bytes(arch).decode()
        if arch != "llama":
            raise SystemExit(f"numpy_forward: only the llama architecture, not {arch!r}")
        a = "llama."
        self.n_layer = int(field(r, a + "block_count"))
        self.d = int(field(r, a + "embedding_length"))
        self.n_head = int(field(r, a + "attention.head_count"))
        self.n_head_kv = int(field(r, a + "attention.head_count_kv", self.n_head))
        self.hd = int(field(r, a + "attention.key_length", self.d // self.n_head))
        self.n_rot = int(field(r, a + "rope.dimension_count", self.hd))
        self.base = float(field(r, a + "rope.freq_base", 10000.0))
        self.freq_scale = 1.0 / float(field(r, a + "rope.scaling.factor", 1.0) or 1.0)
        self.eps = float(field(r, a + "attention.layer_norm_rms_epsilon"))
        self.w: dict[str, np.ndarray] = {}
        self.w32: dict[str, np.ndarray] = {}
        for t in r.tensors:
            x = dequantize(t.data, t.tensor_type)
            # GGUF lists dims fastest first; numpy's shape is the reverse
            self.w[t.name] = np.asarray(x, dtype=np.float64).reshape([int(n) for n in reversed(t.shape)])
        for k, v in self.w.items():
            self.w32[k] = v.astype(np.float32)  # exact: dequantized values are f32 values
        self.dt = np.float64

    def W(self, name: str) -> np.ndarray:
        return (self.w if self.dt == np.float64 else self.w32)[name]

    @property
    def out(self) -> np.ndarray:
        return self.W("output.weight" if "output.weight" in self.w else "token_embd.weight")

    def rms(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.dt(self.eps)) * w

    def rope(self, x: np.ndarray, pos: np.ndarray) -> np.ndarray:
        # x: (n, heads, hd); NORM pairing on the first n_rot dims
        dt = self.dt
        i = np.arange(self.n_rot // 2, dtype=dt)
        theta = dt(self.freq_scale) * pos[:, None] * (dt(self.base) ** (dt(-2.0) * i / dt(self.n_rot)))[None, :]
        c, s = np.cos(theta)[:, None, :], np.sin(theta)[:, None, :]
        y = x.copy()
        x0, x1 = x[..., 0:self.n_rot:2], x[..., 1:self.n_rot:2]
        y[..., 0:self.n_rot:2] = x0 * c - x1 * s
        y[..., 1:self.n_rot:2] = x0 * s + x1 * c
        return y

    def forward(self, ids: list[int], dt=np.float64) -> list[np.ndarray]:
        """the residual stream: [x⁰, x¹, …, x^L], each (n, d), computed in dtype dt."""
        self.dt = dt
        f16 = lambda a: a.astype(np.float16).astype(dt)  # noqa: E731
        n = len(ids)
        pos = np.arange(n, dtype=dt)
        x = self.W("token_embd.weight")[ids].copy()
        xs = [x.copy()]
        g = self.n_head // self.n_head_kv
        mask = np.triu(np.full((n, n), -np.inf, dtype=dt), 1)
        for l in range(self.n_layer):
            b = f"blk.{l}."
            h = self.rms(x, self.W(b + "attn_norm.weight"))
            q = (h @ self.W(b + "attn_q.weight").T).reshape(n, self.n_head, self.hd)
            k = (h @ self.W(b + "attn_k.weight").T).reshape(n, self.n_head_kv, self.hd)
            v = (h @ self.W(b + "attn_v.weight").T).reshape(n, self.n_head_kv, self.hd)
            q, k = f16(self.rope(q, pos)), f16(self.rope(k, pos))
            v = f16(v)
            a = np.empty((n, self.n_head, self.hd), dtype=dt)
            for i in range(self.n_head):
                s = q[:, i, :] @ k[:, i // g, :].T / dt(np.sqrt(self.hd)) + mask
                p = np.exp(s - s.max(axis=1, keepdims=True))
                p = f16(p / p.sum(axis=1, keepdims=True))
                a[:, i, :] = p @ v[:, i // g, :]
            x = x + a.reshape(n, -1) @ self.W(b + "attn_output.weight").T
            h = self.rms(x, self.W(b + "ffn_norm.weight"))
            gate = h @ self.W(b + "ffn_gate.weight").T
            up = h @ self.W(b + "ffn_up.weight").T
            x = x + (gate / (dt(1.0) + np.exp(-gate)) * up) @ self.W(b + "ffn_down.weight").T
            xs.append(x.copy())
        return xs

    def read(self, x: np.ndarray) -> np.ndarray:
        return (self.rms(x, self.W("output_norm.weight")) @ self.out.T).astype(np.float64)


def entropy(z: np.ndarray) -> float:
    m = z.max()
    e = np.exp(z - m)
    s = e.sum()
    p = e / s
    return float(-(p[p > 0] * np.log(p[p > 0])).sum())


def top_ids(z: np.ndarray, k: int) -> list[int]:
    return [int(i) for i in np.lexsort((np.arange(len(z)), -z))[:k]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--ref", type=Path, required=True, help="llama_ref.py forward output (JSON): the prompts' ids")
    ap.add_argument("--cli", type=Path, required=True)
    ap.add_argument("--tol", type=float, default=0.02)
    ap.add_argument("--max-tokens", type=int, default=64, help="skip prompts longer than this")
    a = ap.parse_args()
    m = Model(a.model)
    ref = json.loads(a.ref.read_text())
    prompts = [(n, r) for n, r in enumerate(ref["results"]) if r["ids"] and len(r["ids"]) <= a.max_tokens]
    # the reference's own spread: its forward in float64 and with float32 arrays, every cell
    reads, spread = {}, 0.0
    for n, r in prompts:
        z64 = [m.read(x) for x in m.forward(r["ids"], np.float64)]
        z32 = [m.read(x) for x in m.forward(r["ids"], np.float32)]
        own = max(float(np.max(np.abs(p - q))) for p, q in zip(z64, z32))
        print(f"info: prompt {n}: the reference in float64 vs float32 differs by {own:.3e}", flush=True)
        spread = max(spread, own)
        reads[n] = z64
    tol = max(a.tol, 2 * spread)
    print(f"info: tolerance {tol:.3e} (2 × the reference's own spread {spread:.3e}, at least --tol {a.tol})")
    passed = failed = 0
    worst = {"logits": 0.0, "cell": 0.0, "entropy": 0.0}

    def check(name: str, ok: bool, detail: str):
        nonlocal passed, failed
        passed += ok
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        for n, r in prompts:
            ids = r["ids"]
            t = a.tol if len(ids) == 1 else tol
            where = f"prompt {n} ({len(ids)} tokens, {r['prompt'][:32]!r})"
            out = Path(tmp) / f"z{n}.f32"
            cmd = [str(a.cli), "lens", str(a.model), "--ids", ",".join(map(str, ids)), "--exact",
                   "--exact-head", "--top", "5", "--json", "--logits-out", str(out)]
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
            if res.returncode != 0:
                check(where, False, f"exit {res.returncode}: {res.stderr.strip()[-500:]}")
                continue
            got = json.loads(res.stdout)
            zs_all = reads[n]
            z = np.fromfile(out, dtype="<f4").astype(np.float64)
            zr = zs_all[-1][-1]
            d = float(np.max(np.abs(z - zr)))
            worst["logits"] = max(worst["logits"], d)
            check(f"{where} logits", d <= t, f"max |Δz| {d:.2e} over {len(z)} tokens (tol {t:.3g})")
            rows = got["layers"]
            if len(rows) != m.n_layer + 1 or any(len(row) != len(ids) for row in rows):
                check(f"{where} lens", False, f"grid {len(rows)}×{len(rows[0]) if rows else 0}, "
                      f"want {m.n_layer + 1}×{len(ids)}")
                continue
            bad = []
            for layer, zs in enumerate(zs_all):
                for p in range(len(ids)):
                    zl, cell = zs[p], rows[layer][p]
                    mine = [x["id"] for x in cell["top"]]
                    want = top_ids(zl, len(mine))
                    order_ok = len(mine) == 5 and all(
                        w == g or abs(zl[w] - zl[g]) <= t for w, g in zip(want, mine))
                    dz = abs(cell["top"][0]["logit"] - zl[mine[0]])
                    dh = abs(cell["entropy"] - entropy(zl))
                    worst["cell"] = max(worst["cell"], dz)
                    worst["entropy"] = max(worst["entropy"], dh)
                    if not order_ok or dz > t or dh > 2 * t:
                        bad.append(f"layer {layer} position {p}: top {mine} vs {want}, "
                                   f"Δz {dz:.2e}, Δentropy {dh:.2e}")
            check(f"{where} lens", not bad,
                  f"{(m.n_layer + 1) * len(ids)} cells" + (": " + "; ".join(bad[:5]) if bad else ""))
    print(f"info: worst |Δz| last position {worst['logits']:.3e}, lens top logit {worst['cell']:.3e}, "
          f"entropy {worst['entropy']:.3e}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
