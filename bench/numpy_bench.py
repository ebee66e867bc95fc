#!/usr/bin/env python3
"""numpy baseline for the unembedding step: E @ h in float32, and the spectrum of E.

    python3 bench/numpy_bench.py --model ORIGINAL.gguf [--reps 200] [--warmup 10]

dequantizes `token_embd.weight` with the `gguf` package into E, C-contiguous float32 [vocab, d],
then times (time.perf_counter):
    E @ h                        float32, h ~ N(0, 1), `--warmup` untimed runs then `--reps` timed
    np.linalg.svd(E, compute_uv=False)                     float32, once
    np.linalg.eigh(E.T.astype(f64) @ E.astype(f64))        Gram in float64 + eigh, once
and prints machine-readable lines `name value` (e.g. `numpy_matvec_f32_median_ms 4.61`).

the BLAS thread count and kernel choice matter: this script leaves the environment alone. on this
machine OPENBLAS_CORETYPE may be set (it pins OpenBLAS to one kernel family); benchmark runs may
unset it, e.g. `env -u OPENBLAS_CORETYPE python3 bench/numpy_bench.py ...`, to let OpenBLAS pick
the kernel for the CPU. the value in force is printed.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import gguf


def load_embedding(path: Path) -> np.ndarray:
    reader = gguf.GGUFReader(str(path))
    tensor = next((t for t in reader.tensors if t.name == "token_embd.weight"), None)
    if tensor is None:
        raise SystemExit(f"numpy_bench: {path}: no token_embd.weight")
    E = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
    return np.ascontiguousarray(E, dtype=np.float32)


def print_env():
    print(f"# python {platform.python_version()}, numpy {np.__version__}, machine {platform.machine()}, "
          f"cpus {os.cpu_count()}")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        print(f"# {var}={os.environ.get(var, '(unset)')}")
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        print("# threadpoolctl: not installed")
        return
    for pool in threadpool_info():
        keys = ("internal_api", "num_threads", "version", "threading_layer", "architecture")
        print("# threadpool " + ", ".join(f"{k}={pool.get(k)}" for k in keys if k in pool))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, type=Path, help="the ORIGINAL gguf")
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()

    print_env()
    t0 = time.perf_counter()
    E = load_embedding(args.model)
    print(f"# E {E.shape} {E.dtype} C-contiguous={E.flags['C_CONTIGUOUS']}, loaded in {time.perf_counter() - t0:.2f} s")
    h = np.random.default_rng(args.seed).standard_normal(E.shape[1]).astype(np.float32)

    z = np.empty(E.shape[0], dtype=np.float32)
    for _ in range(args.warmup):
        np.matmul(E, h, out=z)
    times = np.empty(args.reps)
    for r in range(args.reps):
        t = time.perf_counter()
        np.matmul(E, h, out=z)
        times[r] = time.perf_counter() - t
    ms = times * 1e3
    print(f"numpy_matvec_f32_median_ms {np.median(ms):.3f}")
    print(f"numpy_matvec_f32_p95_ms {np.percentile(ms, 95):.3f}")
    print(f"numpy_matvec_f32_min_ms {ms.min():.3f}")
    gbs = E.nbytes / np.median(times) / 1e9
    print(f"# matvec reads {E.nbytes / 1e6:.1f} MB of f32 per call: {gbs:.1f} GB/s at the median")

    t = time.perf_counter()
    s = np.linalg.svd(E, compute_uv=False)
    print(f"numpy_svd_f32_s {time.perf_counter() - t:.3f}")

    t = time.perf_counter()
    w, _ = np.linalg.eigh(E.T.astype(np.float64) @ E.astype(np.float64))
    print(f"numpy_gram_eigh_f64_s {time.perf_counter() - t:.3f}")

    sg = np.sqrt(np.clip(w[::-1], 0.0, None))
    print(f"# sigma_max {s[0]:.6g} / {sg[0]:.6g}, sigma_min {s[-1]:.6g} / {sg[-1]:.6g} (svd f32 / gram f64), "
          f"max rel diff {np.max(np.abs(sg - s) / sg):.2e}")


if __name__ == "__main__":
    main()
