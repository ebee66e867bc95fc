#!/usr/bin/env python3
"""independent oracle for `unembed`: numpy + llama.cpp's `gguf` reader, no project code.

the reference dequantizes `token_embd.weight` (Q8_0) of the ORIGINAL gguf with `gguf.quants.dequantize`
into E (float32, [vocab, d]) and computes everything else in float64:

    z   = E h                                  (raw logits; the "logit" field is z, not z/T)
    p   = softmax(z / T)
    H   = -sum_i p_i log p_i                   (nats)
    top = first k ids of argsort by (-z_i, i)  (ties broken by lower id)
    ‖v_i‖ = ‖E[i]‖,  cos θ_i = z_i / (‖v_i‖ ‖h‖)
    σ   = singular values of E                 (np.linalg.svd, float64, compute_uv=False)

queries (seed 1234): 200 token ids drawn uniformly without replacement plus the ids of
" the", " Paris", "Paris", "\\n", " king" (an id query means h = E[id]); 50 Gaussian h (d = 576
for SmolLM2, 640 for Gemma 3) with scales geomspace(0.1, 100, 50) (‖h‖ up to about 2400); every
query at T = 1 and T = 0.7, top 10, each with a target token drawn uniformly (seeded), whose
readout is checked too (--ids and --random-h change the 200 and the 50: scripts/test.sh asks 100
and 20 of Gemma 3, whose 262,144 × 640 products take minutes in float64 on a shared machine, and
--gram-spectrum, the reference σ from EᵀE alone: its SVD takes minutes too, and on Gemma the two
agree within 1e-12 relative, measured by a run without the flag):

    loss     = log Σ exp(z/T) − z_t/T           (−log p_t, computed stably), within
               (b_t + max_i b_i)/T + 1e-12·|L|, b_i the exact kernel's stated bound on logit i
    rank     = 1 + #{j : z_j > z_t or (z_j = z_t and j < t)},  cos_rank likewise on cos θ, exact
               but for tokens whose scores lie within b_j + b_t of the target's (near-ties)
    gradient = (Eᵀp − E[t]) / T:  norm ‖·‖, push_norm ‖Eᵀp‖, pull_norm ‖E[t]‖, cos_push_pull

and the top-10 by cosine (`by_cosine`, ties by lower id) where a result carries it; the CLI also
answers the whole batch again with "cosine": true, whose top-10 (ranked by cos θ) must be the
reference's top-10 by cosine, but for near-ties (cosines within the logit bounds' effect).

the vocabulary may be byte-level BPE (`gpt2`: SmolLM2) or SentencePiece (`llama`: Gemma 3, whose
pieces spell a space ▁ and bytes <0xXX>); the fixed tokens are looked up in the model's own
spelling.

implementations compared, each answering a batch file (JSON array of {"id": N} or {"h": [...]},
each with "temperature", "top" and "target": "#id") with a JSON array of readouts {"top": [{"id",
"token","text","logit","prob","norm","cos","rank","cos_rank"}...], "entropy", "target": {...,
"loss", "gradient": {...}}, ...} in the same order:
    cli:   <cli> query <served> --batch queries.json --json      (and `<cli> spectrum <served> --json`)
    wasm:  node tests/node/query.mjs <served> queries.json        (only with --wasm; the façade's query)
    page:  node tests/node/view.mjs <served> queries.json         (only with --wasm; the View that the
           page's Widget.update returns for the same state, with by_cosine)

tolerances (per query): top-k logits within 1e-4·max_i|z_i| of the reference; top-k ids identical,
except that ids whose reference logits lie within 1e-6·max|z| of each other (a near-tie) may swap;
probs within 1e-6 + 2·p_i·ε/T and entropy within 1e-5 + ε/T·Σ p_i|log p_i + H|, with ε = 1e-6·max|z|
(the second terms bound what a logit error ε does to p and H: a plain float32 matvec, numpy's own,
errs up to ≈4e-7·max|z| and moves p by up to 5e-6 when ‖h‖ ≈ 200, so a bare 1e-6 would fail any
float32 implementation; --eps 0 restores the bare tolerances); norm and cos within 1e-5 relative;
"token" equal to the gguf vocabulary string. spectrum: all d (576, 640) within 1e-4 relative.
"text" (display decoding) is only reported, never failed: its conventions belong to the project.

usage:
    python3 tests/oracle/oracle.py --model ORIGINAL.gguf [--served SERVED.gguf] [--cli PATH] [--wasm]
    python3 tests/oracle/oracle.py --model ORIGINAL.gguf --no-cli          # reference self-checks only
    python3 tests/oracle/oracle.py --model ORIGINAL.gguf --make-batch OUT.json
the last line printed is `N passed, M failed` (counts of checks); exit status 1 when M > 0.
"""

from __future__ import annotations

import argparse
import json
import math
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import gguf

REPO = Path(__file__).resolve().parents[2]
SEED = 1234
N_IDS = 200
N_H = 50
TEMPERATURES = (1.0, 0.7)
TOP_K = 10
FIXED_TOKENS = (" the", " Paris", "Paris", "\n", " king")

TOL_LOGIT = 1e-4  # × max|z|
EPS = 1e-12  # × max|z|: logits this close count as tied, and the logit error budget. unembed's
# logits are f64-grade (see src/core/kernels), so the bare tolerances apply (1e-6 would
# allow for a float32 implementation).
TOL_PROB = 1e-6  # + 2·p_i·ε/T (what a logit error ε does to p_i)
TOL_ENTROPY = 1e-5  # + ε/T·Σ p_i|log p_i + H| (what a logit error ε does to H)
TOL_REL = 1e-5  # norm, cos
TOL_GRAD = 1e-6  # gradient norms and cosine, relative (the transposed product is summed in f64)
TOL_SPECTRUM = 1e-4


# ---------------------------------------------------------------------------------------------
# byte-level BPE (gpt2) display mapping: bytes <-> printable unicode, as in GPT-2's encoder.py


def bytes_to_unicode() -> dict[int, str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()
U2B = {u: b for b, u in B2U.items()}


def encode_piece(text: str, kind: str | None = "gpt2") -> str:
    """the vocabulary string of a text piece (e.g. " the" -> "Ġthe", or "▁the" for SentencePiece)."""
    if kind == "llama":
        return text.replace(" ", "\u2581")
    return "".join(B2U[b] for b in text.encode("utf-8"))


def decode_piece(token: str, kind: str | None = "gpt2") -> str:
    """display text of a vocabulary string; tokens outside the byte alphabet are shown as is."""
    if kind == "llama":
        if len(token) == 6 and token.startswith("<0x") and token.endswith(">"):
            return bytes([int(token[3:5], 16)]).decode("utf-8", errors="replace")
        return token.replace("\u2581", " ")
    if all(c in U2B for c in token):
        return bytes(U2B[c] for c in token).decode("utf-8", errors="replace")
    return token


# ---------------------------------------------------------------------------------------------
# model


class Model:
    def __init__(self, path: Path):
        t0 = time.perf_counter()
        self.path = path
        reader = gguf.GGUFReader(str(path))
        tensors = [t for t in reader.tensors if t.name == "token_embd.weight"]
        if not tensors:
            raise SystemExit(f"oracle: {path}: no token_embd.weight")
        self.tensor = tensors[0]
        self.E = np.ascontiguousarray(gguf.quants.dequantize(self.tensor.data, self.tensor.tensor_type), dtype=np.float32)
        field = reader.fields["tokenizer.ggml.tokens"]
        self.tokens = [bytes(field.parts[i]).decode("utf-8") for i in field.data]
        model_field = reader.fields.get("tokenizer.ggml.model")
        self.tokenizer_model = bytes(model_field.parts[model_field.data[0]]).decode() if model_field else None
        self.E64 = self.E.astype(np.float64)
        self.Eabs = np.abs(self.E64)
        # Σ_{j∈b} |E_ij| per 32-block: the scale of the exact kernel's stated error bound.
        self.Eabs_blocks = self.Eabs.reshape(self.E.shape[0], -1, 32).sum(axis=2)
        self.norms = np.sqrt(np.einsum("ij,ij->i", self.E64, self.E64))
        self.V, self.d = self.E.shape
        self.load_seconds = time.perf_counter() - t0

    def token_id(self, text: str) -> int:
        piece = encode_piece(text, self.tokenizer_model)
        try:
            return self.tokens.index(piece)
        except ValueError:
            raise SystemExit(f"oracle: token {text!r} ({piece!r}) is not in the vocabulary") from None


# ---------------------------------------------------------------------------------------------
# queries and reference


def make_queries(model: Model, n_ids: int = N_IDS, n_h: int = N_H) -> list[dict]:
    rng = np.random.default_rng(SEED)
    ids = [int(i) for i in rng.choice(model.V, size=n_ids, replace=False)]
    ids += [model.token_id(t) for t in FIXED_TOKENS]
    scales = np.geomspace(0.1, 100.0, n_h)
    hs = (rng.standard_normal((n_h, model.d)) * scales[:, None]).astype(np.float32)
    queries = []
    for temperature in TEMPERATURES:
        for i in ids:
            queries.append({"id": i, "temperature": temperature, "top": TOP_K})
        for h in hs:
            # float(np.float32) is the exact value; its repr reads back to the same float32.
            queries.append({"h": [float(x) for x in h], "temperature": temperature, "top": TOP_K})
    targets = rng.integers(0, model.V, len(queries))
    for q, t in zip(queries, targets):
        q["target"] = f"#{int(t)}"
    return queries


def query_h(model: Model, q: dict) -> np.ndarray:
    if "id" in q:
        return model.E64[q["id"]]
    return np.asarray(q["h"], dtype=np.float32).astype(np.float64)


def num(x) -> float:
    """a JSON number as float; anything else (null, string, missing) becomes nan and fails its check."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


class Reference:
    """float64 reference for one query."""

    def __init__(self, model: Model, q: dict, z: np.ndarray, h: np.ndarray, absz: np.ndarray, blockz: np.ndarray):
        """z = E h; absz = |E| |h| and blockz = Σ_b max_b|h|·Σ_{j∈b}|E_ij| (the bound's two sums),
        computed for a chunk of queries at once by `references`."""
        self.z = z
        self.T = q["temperature"]
        self.k = q["top"]
        self.zmax = float(np.max(np.abs(z)))
        s = z / self.T
        s = s - s.max()
        lse = math.log(np.exp(s).sum())
        logp = s - lse
        self.p = np.exp(logp)
        self.entropy = float(-(self.p * logp).sum())
        self.dH = float((self.p * np.abs(logp + self.entropy)).sum())  # |∂H/∂z|₁ · T
        self.hnorm = float(np.sqrt(h @ h))
        # head of the order by (-z, id): every id at least as large as the m-th largest logit, sorted.
        m = min(max(4 * self.k, 64), len(z))
        cut = np.partition(z, len(z) - m)[len(z) - m]
        head = np.flatnonzero(z >= cut)
        order = head[np.lexsort((head, -z[head]))]
        self.order = order[:m]
        self.top = [int(i) for i in order[: self.k]]
        # the target: loss, ranks (with how many tokens lie within a near-tie of it), gradient.
        # near-ties come from the exact kernel's stated bound on every logit
        # (src/core/quant/kernels/mod.rs): |Δz_i| ≤ 1e-9·Σ_b max_b|h|·Σ_{j∈b}|E_ij| + 1e-13·Σ_j|E_ij h_j|.
        t = int(q["target"][1:])
        self.t = t
        self.bound = 1e-9 * blockz + 1e-13 * absz
        self.loss = float(lse - s[t])
        # L = lse(z/T) − z_t/T moves by at most (|Δz_t| + max_i|Δz_i|)/T.
        self.loss_tol = 1e-12 * max(1.0, abs(self.loss)) + (self.bound[t] + float(self.bound.max())) / self.T
        self.cosv = z / (model.norms * self.hnorm) if self.hnorm > 0 else np.zeros_like(z)
        self.rank = 1 + int(np.count_nonzero((z > z[t]) | ((z == z[t]) & (np.arange(len(z)) < t))))
        self.rank_ties = int(np.count_nonzero(np.abs(z - z[t]) <= self.bound + self.bound[t])) - 1
        c = self.cosv
        self.cos_rank = 1 + int(np.count_nonzero((c > c[t]) | ((c == c[t]) & (np.arange(len(z)) < t))))
        # a logit error ε_i moves cos θ_i by ε_i/(‖v_i‖‖h‖) (norms are f64 on both sides).
        cb = self.bound / (model.norms * self.hnorm + 1e-300) + 1e-15
        self.cos_rank_ties = int(np.count_nonzero(np.abs(c - c[t]) <= cb + cb[t])) - 1
        self.grad = None  # set_push, once Eᵀp is known (batched over queries)
        # the top by cosine (ties by lower id): the head of the order, sorted.
        cut_c = np.partition(c, len(c) - m)[len(c) - m]
        head_c = np.flatnonzero(c >= cut_c)
        order_c = head_c[np.lexsort((head_c, -c[head_c]))]
        self.by_cosine = [int(i) for i in order_c[: self.k]]
        # near-tie groups over the head of the order: consecutive logits within ε = EPS·max|z| chain.
        self.group = {}
        g = 0
        for j, i in enumerate(self.order):
            if j > 0 and z[self.order[j - 1]] - z[i] > EPS * self.zmax:
                g += 1
            self.group[int(i)] = g

    def set_push(self, model: Model, push: np.ndarray):
        """the gradient's parts from push = Eᵀp."""
        pull = model.E64[self.t]
        grad = (push - pull) / self.T
        self.grad = {
            "norm": float(np.linalg.norm(grad)),
            "push_norm": float(np.linalg.norm(push)),
            "pull_norm": float(np.linalg.norm(pull)),
            "cos_push_pull": float(push @ pull / (np.linalg.norm(push) * np.linalg.norm(pull))),
        }

    def cos(self, model: Model, i: int) -> float:
        return float(self.z[i] / (model.norms[i] * self.hnorm))


def references(model: Model, queries: list[dict]) -> list[Reference]:
    H = np.stack([query_h(model, q) for q in queries])  # [n, d] float64
    refs = []
    chunk = 64
    # every product over the vocabulary is one matrix product per chunk of queries (a matrix
    # times a vector per query costs minutes on Gemma's 262,144 × 640).
    for a in range(0, len(queries), chunk):
        Hc = H[a : a + chunk]
        Z = model.E64 @ Hc.T  # [V, chunk]
        A = model.Eabs @ np.abs(Hc).T
        B = model.Eabs_blocks @ np.abs(Hc).reshape(len(Hc), -1, 32).max(axis=2).T
        part = [Reference(model, queries[a + j], np.ascontiguousarray(Z[:, j]), H[a + j], A[:, j], B[:, j])
                for j in range(Z.shape[1])]
        P = np.stack([r.p for r in part], axis=1)  # [V, chunk]
        push = model.E64.T @ P
        for j, r in enumerate(part):
            r.set_push(model, push[:, j])
        refs += part
    return refs


# ---------------------------------------------------------------------------------------------
# bookkeeping


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def record(self, name: str, ok: bool, summary: str, offenders: list[tuple[float, str]] = ()):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print(f"{'PASS' if ok else 'FAIL'} {name}: {summary}", flush=True)
        if not ok and offenders:
            for _, text in sorted(offenders, key=lambda o: -o[0])[:8]:
                print(f"    {text}")

    def error(self, name: str, message: str):
        self.record(name, False, message)


class Metric:
    """max of err/tol over items; items above 1 are failures."""

    def __init__(self, name: str):
        self.name = name
        self.worst = 0.0
        self.n = 0
        self.bad: list[tuple[float, str]] = []

    def add(self, err: float, tol: float, where: str):
        self.n += 1
        ratio = err / tol if tol > 0 else (0.0 if err == 0 else math.inf)
        if not math.isfinite(err):
            ratio = math.inf
        self.worst = max(self.worst, ratio)
        if ratio > 1.0:
            self.bad.append((ratio, f"{where}: err {err:.3g} > tol {tol:.3g} ({ratio:.3g}×)"))

    def report(self, checks: Checks, prefix: str, unit: str):
        ok = not self.bad
        checks.record(
            f"{prefix} {self.name}",
            ok,
            f"{self.n - len(self.bad)}/{self.n} {unit} within tolerance, worst err/tol {self.worst:.3g}",
            self.bad,
        )


# ---------------------------------------------------------------------------------------------
# self-checks of the reference (no implementation needed)


def hand_dequant_check(model: Model, checks: Checks):
    """read Q8_0 blocks straight from the file bytes (f16 scale + 32 int8) and compare with gguf."""
    t = model.tensor
    ok = True
    notes = []
    if int(t.tensor_type) != int(gguf.GGMLQuantizationType.Q8_0):
        checks.error("self dequant", f"token_embd.weight is {t.tensor_type!r}, expected Q8_0")
        return
    block_bytes, block_len = 34, 32
    row_bytes = model.d // block_len * block_bytes
    expected_bytes = model.V * row_bytes
    if int(t.n_bytes) != expected_bytes or list(map(int, t.shape)) != [model.d, model.V]:
        ok = False
        notes.append(f"shape {list(t.shape)} / {t.n_bytes} bytes, expected [{model.d}, {model.V}] / {expected_bytes}")
    rng = np.random.default_rng(SEED + 1)
    rows = [0] + [int(r) for r in rng.integers(0, model.V, 7)] + [model.V - 1]
    worst = 0.0
    with open(model.path, "rb") as f:
        for row in rows:
            for blk in (0, model.d // block_len - 1):
                f.seek(int(t.data_offset) + row * row_bytes + blk * block_bytes)
                raw = f.read(block_bytes)
                (scale,) = struct.unpack("<e", raw[:2])
                qs = struct.unpack("<32b", raw[2:])
                mine = np.array([np.float32(scale) * np.float32(q) for q in qs], dtype=np.float32)
                theirs = model.E[row, blk * block_len : (blk + 1) * block_len]
                worst = max(worst, float(np.max(np.abs(mine - theirs))))
    if worst != 0.0:
        ok = False
        notes.append(f"max |hand - gguf| = {worst:g}")
    first = model.E[0, :4]
    checks.record(
        "self dequant",
        ok,
        f"{len(rows) * 2} Q8_0 blocks read from raw bytes equal gguf.quants.dequantize exactly "
        f"(E[0,:4] = {np.array2string(first, precision=6)})" if ok else "; ".join(notes),
    )


def reference_self_checks(model: Model, queries: list[dict], refs: list[Reference], checks: Checks):
    hand_dequant_check(model, checks)

    ok = model.tokenizer_model in ("gpt2", "llama") and model.E.shape == (len(model.tokens), model.d)
    fixed = {t: model.token_id(t) for t in FIXED_TOKENS}
    checks.record(
        "self vocab",
        ok,
        f"E {model.E.shape}, {len(model.tokens)} tokens, tokenizer {model.tokenizer_model}; ids "
        + ", ".join(f"{t!r}={i}" for t, i in fixed.items()),
    )

    sums = Metric("softmax sums")
    ent = Metric("entropy range")
    cosr = Metric("cos range")
    f32 = Metric("float32 vs float64 logits")
    logV = math.log(model.V)
    for n, (q, r) in enumerate(zip(queries, refs)):
        sums.add(abs(float(r.p.sum()) - 1.0), 1e-12, f"query {n}")
        ent.add(max(0.0, -r.entropy, r.entropy - logV), 1e-12, f"query {n} entropy {r.entropy}")
        for i in r.top:
            cosr.add(max(0.0, abs(r.cos(model, i)) - 1.0), 1e-12, f"query {n} id {i}")
        if n % 64 == 0:  # float32 logits for 64 queries at once
            H32 = np.stack([query_h(model, qq).astype(np.float32) for qq in queries[n : n + 64]])
            Z32 = (model.E @ H32.T).astype(np.float64)
        f32.add(float(np.max(np.abs(Z32[:, n % 64] - r.z))), TOL_LOGIT * r.zmax, f"query {n}")
    for m, unit in ((sums, "queries"), (ent, "queries"), (cosr, "top entries"), (f32, "queries")):
        m.report(checks, "self", unit)

    id_top1 = sum(1 for q, r in zip(queries, refs) if "id" in q and r.top[0] == q["id"])
    n_id = sum(1 for q in queries if "id" in q)
    print(f"info self: for {id_top1}/{n_id} id queries (h = v_id) the token itself is the top-1 logit")


def reference_spectrum(model: Model, checks: Checks, gram_only: bool = False) -> np.ndarray:
    t0 = time.perf_counter()
    w = np.linalg.eigvalsh(model.E64.T @ model.E64)[::-1]
    t1 = time.perf_counter()
    s_gram = np.sqrt(np.clip(w, 0.0, None))
    if gram_only:
        fro = float(np.sum(model.E64 * model.E64))
        m = Metric("spectrum gram+eigvalsh")
        m.add(abs(float(np.sum(s_gram * s_gram)) - fro) / fro, 1e-12, "Σσ² vs ‖E‖_F²")
        m.report(checks, "self", "values")
        print(f"info spectrum reference: E^T E float64 + eigvalsh {t1 - t0:.2f} s (--gram-spectrum: no SVD); "
              f"σ_max {s_gram[0]:.6g}, σ_min {s_gram[-1]:.6g}")
        return s_gram
    s = np.linalg.svd(model.E64, compute_uv=False)
    t2 = time.perf_counter()
    m = Metric("spectrum svd vs gram+eigvalsh")
    for i in range(len(s)):
        m.add(abs(s_gram[i] - s[i]) / s[i], 1e-9, f"σ[{i}] svd {s[i]:.10g} gram {s_gram[i]:.10g}")
    fro = float(np.sum(model.E64 * model.E64))
    m.add(abs(float(np.sum(s * s)) - fro) / fro, 1e-12, "Σσ² vs ‖E‖_F²")
    m.report(checks, "self", "values")
    print(
        f"info spectrum reference: np.linalg.svd(float64, compute_uv=False) {t2 - t1:.2f} s "
        f"(cross-check E^T E float64 + eigvalsh {t1 - t0:.2f} s); σ_max {s[0]:.6g}, σ_min {s[-1]:.6g}"
    )
    return s


# ---------------------------------------------------------------------------------------------
# comparison against an implementation


def compare_results(prefix: str, model: Model, queries: list[dict], refs: list[Reference], results, checks: Checks):
    if not isinstance(results, list) or len(results) != len(queries):
        got = len(results) if isinstance(results, list) else type(results).__name__
        checks.error(f"{prefix} batch", f"expected a JSON array of {len(queries)} results, got {got}")
        return
    ids = Metric("top-k ids")
    logit = Metric("logits")
    prob = Metric("probs")
    ent = Metric("entropy")
    norm = Metric("norms")
    cos = Metric("cos")
    tok = Metric("token strings")
    loss = Metric("target loss")
    rank = Metric("target ranks")
    grad = Metric("target gradient")
    bycos = Metric("by_cosine ids")
    tie_swaps = []
    text_mismatch = []
    scaled_logits = 0  # logits that would match if the field held z/T instead of z
    for n, (q, r, res) in enumerate(zip(queries, refs, results)):
        kind = f"id {q['id']}" if "id" in q else f"h#{n} ‖h‖={r.hnorm:.3g}"
        where = f"query {n} ({kind}, T={r.T})"
        try:
            top = res["top"]
            got_ids = [int(e["id"]) for e in top]
        except (KeyError, TypeError, ValueError) as e:
            ids.add(math.inf, 1.0, f"{where}: malformed result ({e!r})")
            continue
        # ids: same length, and position by position the same near-tie group as the reference.
        same = got_ids == r.top
        if not same:
            groups_ok = len(got_ids) == len(r.top) and len(set(got_ids)) == len(got_ids)
            if groups_ok:
                for gi, ri in zip(got_ids, r.top):
                    if r.group.get(gi, -1) != r.group[ri]:
                        groups_ok = False
                        break
            if groups_ok:
                tie_swaps.append(n)
            ids.add(0.0 if groups_ok else 1.0, 0.5, f"{where}: got {got_ids}, expected {r.top}")
        else:
            ids.add(0.0, 0.5, where)
        ent_got = res.get("entropy")
        eps = EPS * r.zmax
        t = res.get("target") or {}
        if t.get("id") != r.t:
            loss.add(math.inf, 1.0, f"{where}: target {t.get('id')!r}, expected {r.t}")
        else:
            loss.add(abs(num(t.get("loss")) - r.loss), r.loss_tol,
                     f"{where}: loss {t.get('loss')} vs {r.loss:.12g}")
            for key, want, ties in (("rank", r.rank, r.rank_ties), ("cos_rank", r.cos_rank, r.cos_rank_ties)):
                got = t.get(key)
                ok = isinstance(got, int) and abs(got - want) <= ties
                rank.add(0.0 if ok else 1.0, 0.5, f"{where}: {key} {got!r} vs {want} (±{ties} near ties)")
            g = t.get("gradient") or {}
            for key, want in r.grad.items():
                grad.add(abs(num(g.get(key)) - want), TOL_GRAD * max(abs(want), 1e-12) + 2 * eps / r.T,
                         f"{where}: gradient.{key} {g.get(key)} vs {want:.12g}")
        if "by_cosine" in res:
            got_c = [int(e["id"]) for e in res["by_cosine"]]
            bycos.add(0.0 if got_c == r.by_cosine else 1.0, 0.5, f"{where}: by_cosine {got_c} vs {r.by_cosine}")
        ent.add(abs(num(ent_got) - r.entropy), TOL_ENTROPY + eps / r.T * r.dH,
                f"{where}: entropy {ent_got} vs {r.entropy:.10g}")
        for e, i in zip(top, got_ids):
            if not 0 <= i < model.V:
                logit.add(math.inf, 1.0, f"{where}: id {i} out of range")
                continue
            tol = TOL_LOGIT * r.zmax
            gl = num(e.get("logit"))
            err = abs(gl - r.z[i])
            if err > tol and abs(gl - r.z[i] / r.T) <= tol:
                scaled_logits += 1
            logit.add(err, tol, f"{where} id {i}: logit {gl:.9g} vs {r.z[i]:.9g}")
            gp = num(e.get("prob"))
            prob.add(abs(gp - r.p[i]), TOL_PROB + 2 * r.p[i] * eps / r.T, f"{where} id {i}: prob {gp:.9g} vs {r.p[i]:.9g}")
            gn = num(e.get("norm"))
            norm.add(abs(gn - model.norms[i]) / model.norms[i], TOL_REL, f"{where} id {i}: norm {gn:.9g} vs {model.norms[i]:.9g}")
            rc = r.cos(model, i)
            gc = num(e.get("cos"))
            cos.add(abs(gc - rc) / max(abs(rc), 1e-12), TOL_REL, f"{where} id {i}: cos {gc:.9g} vs {rc:.9g}")
            tok.add(0.0 if e.get("token") == model.tokens[i] else 1.0, 0.5,
                    f"{where} id {i}: token {e.get('token')!r} vs {model.tokens[i]!r}")
            plain = decode_piece(model.tokens[i], model.tokenizer_model)
            if "text" in e and e["text"] != plain:
                text_mismatch.append(f"id {i}: text {e['text']!r}, plain decode {plain!r}")
    ids.report(checks, prefix, "queries")
    if tie_swaps:
        print(f"    note: {len(tie_swaps)} queries matched only by allowing swaps of near-tied ids "
              f"(reference gap ≤ {EPS:g}·max|z|): queries {tie_swaps[:10]}")
    logit.report(checks, prefix, "top entries")
    if scaled_logits:
        print(f"    note: {scaled_logits} logits match z/T instead of z: the oracle expects the raw logit z = E·h")
    prob.report(checks, prefix, "top entries")
    ent.report(checks, prefix, "queries")
    norm.report(checks, prefix, "top entries")
    cos.report(checks, prefix, "top entries")
    tok.report(checks, prefix, "top entries")
    loss.report(checks, prefix, "targets")
    rank.report(checks, prefix, "targets")
    grad.report(checks, prefix, "gradient parts")
    if bycos.n:
        bycos.report(checks, prefix, "queries")
    uniq = sorted(set(text_mismatch))
    print(f"info {prefix} text: {len(uniq)} distinct top tokens whose \"text\" differs from a plain "
          f"decode (reported, not failed){': ' + '; '.join(uniq[:5]) if uniq else ''}")


def compare_cosine(prefix: str, model: Model, queries: list[dict], refs: list[Reference], results, checks: Checks):
    """the batch asked again with "cosine": true: each `top` must be the reference's top-k by cos θ,
    but that ids whose cosines lie within their bounds of each other (near-ties) may swap."""
    if not isinstance(results, list) or len(results) != len(queries):
        checks.error(f"{prefix} batch", f"expected a JSON array of {len(queries)} results")
        return
    m = Metric("top-k ids by cosine")
    swaps = 0
    for n, (q, r, res) in enumerate(zip(queries, refs, results)):
        kind = f"id {q['id']}" if "id" in q else f"h#{n} ‖h‖={r.hnorm:.3g}"
        where = f"query {n} ({kind}, T={r.T})"
        try:
            got = [int(e["id"]) for e in res["top"]]
            ranked = res.get("ranked_by")
        except (KeyError, TypeError, ValueError) as e:
            m.add(math.inf, 1.0, f"{where}: malformed result ({e!r})")
            continue
        if ranked != "cosine":
            m.add(1.0, 0.5, f"{where}: ranked_by {ranked!r}, expected \"cosine\"")
            continue
        want = r.by_cosine
        ok = got == want
        if not ok and len(got) == len(want) and len(set(got)) == len(got):
            c = r.cosv
            cb = r.bound / (model.norms * r.hnorm + 1e-300) + 1e-15
            ok = all(g == w or abs(c[g] - c[w]) <= cb[g] + cb[w] for g, w in zip(got, want))
            swaps += ok
        m.add(0.0 if ok else 1.0, 0.5, f"{where}: got {got}, expected {want}")
    m.report(checks, prefix, "queries")
    if swaps:
        print(f"    note: {swaps} queries matched only by allowing swaps of near-tied cosines")


def run_json(prefix: str, cmd: list[str], checks: Checks, timeout: float):
    print(f"run {prefix}: {' '.join(cmd)}", flush=True)
    t0 = time.perf_counter()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        checks.error(f"{prefix} run", f"{e}")
        return None
    dt = time.perf_counter() - t0
    if out.returncode != 0:
        checks.error(f"{prefix} run", f"exit {out.returncode}; stderr: {out.stderr.strip()[-2000:]}")
        return None
    try:
        value = json.loads(out.stdout)
    except json.JSONDecodeError as e:
        checks.error(f"{prefix} run", f"stdout is not JSON ({e}); first 300 chars: {out.stdout[:300]!r}")
        return None
    print(f"info {prefix}: finished in {dt:.2f} s")
    return value


def compare_spectrum(prefix: str, s_ref: np.ndarray, got, checks: Checks):
    try:
        s = np.asarray(got["singular_values"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as e:
        checks.error(f"{prefix} spectrum", f"no singular_values array ({e!r})")
        return
    if s.shape != s_ref.shape:
        checks.error(f"{prefix} spectrum", f"{s.shape[0] if s.ndim else 0} values, expected {len(s_ref)}")
        return
    m = Metric("spectrum")
    for i in range(len(s_ref)):
        m.add(abs(s[i] - s_ref[i]) / s_ref[i], TOL_SPECTRUM, f"σ[{i}] {s[i]:.9g} vs {s_ref[i]:.9g}")
    m.report(checks, prefix, "singular values")


# ---------------------------------------------------------------------------------------------


def main() -> int:
    global EPS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 1)[1])
    ap.add_argument("--model", required=True, type=Path, help="the ORIGINAL gguf (reference data)")
    ap.add_argument("--served", type=Path, help="the file the implementations load (default: --model)")
    ap.add_argument("--cli", type=Path, default=REPO / "target/release/unembed", help="unembed binary")
    ap.add_argument("--no-cli", action="store_true", help="skip the CLI comparison (reference self-checks only)")
    ap.add_argument("--wasm", action="store_true", help="also compare the wasm build via node tests/node/query.mjs")
    ap.add_argument("--node-script", type=Path, default=REPO / "tests/node/query.mjs")
    ap.add_argument("--view-script", type=Path, default=REPO / "tests/node/view.mjs")
    ap.add_argument("--no-spectrum", action="store_true", help="skip the spectrum reference and comparison")
    ap.add_argument("--make-batch", type=Path, metavar="OUT.json", help="only write the queries batch file and exit")
    ap.add_argument("--eps", type=float, default=EPS, help="tie window and logit error budget, × max|z| (default %(default)g)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per implementation run")
    ap.add_argument("--gram-spectrum", action="store_true",
                    help="the reference σ from eigvalsh(EᵀE) alone, without np.linalg.svd (minutes on Gemma's "
                         "262,144 × 640; the two agree within 1e-12 relative there)")
    ap.add_argument("--ids", type=int, default=N_IDS, help="random token ids queried (default %(default)d)")
    ap.add_argument("--random-h", type=int, default=N_H, help="random Gaussian h queried (default %(default)d)")
    args = ap.parse_args()
    served = args.served or args.model
    EPS = args.eps

    model = Model(args.model)
    queries = make_queries(model, args.ids, args.random_h)
    if args.make_batch:
        args.make_batch.parent.mkdir(parents=True, exist_ok=True)
        args.make_batch.write_text(json.dumps(queries))
        print(f"wrote {len(queries)} queries to {args.make_batch}")
        return 0

    print(f"oracle: numpy {np.__version__}, gguf {gguf_version()}; model {args.model} "
          f"(E {model.E.shape} loaded in {model.load_seconds:.1f} s); served {served}")
    print(f"oracle: {len(queries)} queries ({args.ids}+{len(FIXED_TOKENS)} ids, {args.random_h} random h; T in {TEMPERATURES}; top {TOP_K})")
    checks = Checks()
    t0 = time.perf_counter()
    refs = references(model, queries)
    print(f"info reference logits: {time.perf_counter() - t0:.2f} s")
    reference_self_checks(model, queries, refs, checks)
    s_ref = None if args.no_spectrum else reference_spectrum(model, checks, args.gram_spectrum)

    with tempfile.TemporaryDirectory(prefix="unembed-oracle-") as tmp:
        batch = Path(tmp) / "queries.json"
        batch.write_text(json.dumps(queries))
        if not args.no_cli:
            if not args.cli.is_file():
                checks.error("cli run", f"binary not found at {args.cli} (build it: cargo build --release)")
            else:
                res = run_json("cli", [str(args.cli), "query", str(served), "--batch", str(batch), "--json"], checks, args.timeout)
                if res is not None:
                    compare_results("cli", model, queries, refs, res, checks)
                cos_batch = Path(tmp) / "queries-cosine.json"
                cos_batch.write_text(json.dumps([dict(q, cosine=True) for q in queries]))
                res = run_json("cli cosine", [str(args.cli), "query", str(served), "--batch", str(cos_batch), "--json"],
                               checks, args.timeout)
                if res is not None:
                    compare_cosine("cli", model, queries, refs, res, checks)
                if s_ref is not None:
                    spec = run_json("cli spectrum", [str(args.cli), "spectrum", str(served), "--json"], checks, args.timeout)
                    if spec is not None:
                        compare_spectrum("cli", s_ref, spec, checks)
        if args.wasm:
            res = run_json("wasm", ["node", str(args.node_script), str(served), str(batch)], checks, args.timeout)
            if res is not None:
                compare_results("wasm", model, queries, refs, res, checks)
            res = run_json("page", ["node", str(args.view_script), str(served), str(batch)], checks, args.timeout)
            if res is not None:
                compare_results("page", model, queries, refs, res, checks)

    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


def gguf_version() -> str:
    try:
        from importlib.metadata import version

        return version("gguf")
    except Exception:  # noqa: BLE001 - only informative
        return "?"


if __name__ == "__main__":
    sys.exit(main())
