#!/usr/bin/env python3
"""reference tokenizer and forward pass from llama.cpp itself (PyPI llama-cpp-python), no project code.

uses only `llama_cpp` (installed by scripts/setup-llama.sh, pinned to 0.3.36, which vendors
llama.cpp 0c1e57098) and numpy. Three subcommands:

  tokenize --model M --strings S.json --out OUT.json
      S.json is a JSON array of strings. For each: {"text", "ids_plain", "ids_special"}, the
      llama.cpp tokenization (model loaded with vocab_only=True) with special=False and
      special=True. The header records the vocabulary's add_bos/add_eos flags, the BOS/EOS/EOT
      ids and the special (control and user-defined) tokens.

  forward --model M --prompts P.json --out OUT.json [--greedy 16] [--top 20]
      P.json is a JSON array of prompt strings. For each prompt: its ids (special=True, default
      add_bos), the top --top (id, logit) of the LAST position, the top 5 (id, logit) of EVERY
      position (position i predicts token i+1), and a greedy continuation of --greedy tokens,
      each the argmax of the raw logits (lowest id on a tie; not llama.cpp's sampler), with that
      step's top 2 (so a near-tie can be told) — the continuation does not stop at EOS. The full
      last-position logits go to OUT.logits.npy next to OUT.json (float32, one row per prompt;
      the JSON names the file). The header records versions and every setting used.

  spread --model M --prompts P.json [--out OUT.json]
      llama.cpp's own numerical spread: the same prompts under settings that should not matter
      mathematically (threads, flash attention, one batch vs token by token, micro-batch size,
      context size, KV cache type, a second identical run), each compared with the default.

tokenization and add_bos, exactly:
  Llama.tokenize(text, add_bos, special) calls llama_tokenize(vocab, text, add_special=add_bos,
  parse_special=special). add_special=True does NOT force a BOS: it adds BOS only when the
  vocabulary says so (vocab.get_add_bos(): the GGUF key tokenizer.ggml.add_bos_token when
  present, else a default per tokenizer type; for BPE with pre-tokenizer "smollm" that default is
  false), and it also appends EOS when the vocabulary's add_eos says so. add_bos=True (used here
  throughout) therefore means "the model's default". parse_special=True turns the text of
  CONTROL tokens (<|im_start|>, <|endoftext|>, ...) into those tokens; with parse_special=False
  control tokens are plain text, but tokens marked USER_DEFINED in the vocabulary are split out
  of the text in BOTH modes (llama_vocab::tokenizer_st_partition).

settings that matter for the logits (all recorded in the output of `forward`):
  - KV cache type (type_k/type_v): llama.cpp's default F16 rounds every K and V to half precision
    before attention; an f32 implementation differs by that rounding. --kv f32 keeps them in f32.
  - flash attention: off here (llama-cpp-python's default; its bool maps to llama.cpp's
    ENABLED/DISABLED, never AUTO). With it on, K and V are cast to F16 even when the cache is
    F32 (llama-graph.cpp) and the CPU kernel accumulates softmax·V in an FP16 accumulator
    (ggml-cpu ops.cpp, VKQ16), so logits move, and "flash_attn + KV f32" equals "flash_attn".
  - one batch vs token by token: a single-token batch takes other code paths than a multi-token
    one (ggml picks matmul kernels by the number of rows), so the same position's logits differ. Position 0 is
    identical; n_ubatch 8 vs 512 (micro-batches of several tokens) gives bit-identical logits.
  - threads (n_threads = n_threads_batch = nproc here): each output row is summed by one thread
    in a fixed order: 1 vs 2 threads gives bit-identical logits. On a busy machine 2 threads can
    be 10x slower than 1 (ggml's OpenMP threads spin at barriers): use --threads 1 there.
  - n_ctx: 512 vs 4096 gives bit-identical logits (only the used KV cells are attended).
  - intrinsic, not a setting: ggml's CPU matmul quantizes the activations to 8 bits before every
    quantized matmul (Q8_1 blocks of 32 for the Q4_1 layers, Q8_0 for the Q8_0 tied output). That
    is the likely reason a perturbation of the last bits grows so much through the 30 layers (it
    flips some of those roundings): rounding only V of position 0 to f16 (KV f16 vs f32) moves
    position 0's logits by up to 0.77. An f32-activation implementation should expect
    differences of this size.
  - the build: GGML_NATIVE=ON compiles for this CPU (AVX2/AVX-512 paths); another CPU may give
    other last bits. Seeds do not matter (no sampler is used); the model is read without mmap.

  measured with `spread` (0.3.36, 2-core AMD EPYC with AVX-512, SmolLM2-135M-Instruct Q4_1, the
  12 prompts of tests/oracle/prompts.json, 328 positions; max |logit| 31.8), each vs the default:
      variant                      max|Δ| last pos  max|Δ| any pos  median max|Δ|  max|Δ| top-20  max KL  argmax changes
      second run, n_threads 1 vs 2,
        n_ubatch 8, n_ctx 4096            0               0              0              0          0          0
      token by token                      1.24            1.43           0.51           0.66       0.020      5
      flash_attn on (= with KV f32)       1.51            1.79           0.68           1.08       0.035     15
      KV cache f32                        1.16            2.40           0.72           1.65       0.031     12
  (max|Δ| per position is over the whole vocabulary; top-20 is over the default's top 20 ids;
  KL is KL(p_default || p_variant) at T = 1 in nats.) llama.cpp is bit-reproducible for fixed
  settings, but settings that are mathematically equivalent spread the logits by about 0.5
  (median) to 2.4 (worst) — the floor for any tolerance against it.

usage:
  python3 tests/oracle/llama_ref.py tokenize --model M.gguf --strings strings.json --out tok.json
  python3 tests/oracle/llama_ref.py forward --model M.gguf --prompts tests/oracle/prompts.json --out fwd.json
  python3 tests/oracle/llama_ref.py spread --model M.gguf --prompts tests/oracle/prompts.json
exit status 1 with `error: ...` on stderr for bad input (missing file, bad JSON, prompt too long).
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

try:
    import llama_cpp
except ImportError:
    sys.exit("error: llama_cpp is not installed (run: bash scripts/setup-llama.sh)")

# the llama.cpp commit each llama-cpp-python release vendors (from its CHANGELOG)
LLAMA_CPP_COMMIT = {"0.3.36": "0c1e57098"}
KV_TYPES = {"f16": llama_cpp.GGML_TYPE_F16, "f32": llama_cpp.GGML_TYPE_F32}
KV_NAMES = {v: k for k, v in KV_TYPES.items()}
TOP_POSITIONS = 5  # top-k recorded at every position
SEED = 1234  # only the (unused) sampler reads it; set for completeness


class RefError(Exception):
    """a user-facing error: printed as `error: ...`, exit status 1."""


@llama_cpp.llama_log_callback
def _errors_only(level: int, text: bytes, user_data) -> None:
    # llama-cpp-python 0.3.36 maps ggml's log levels with a stale table (WARN=3 taken for ERROR),
    # so with verbose=False it still prints llama.cpp's warnings; this keeps only GGML_LOG_LEVEL_ERROR.
    if level == 4:
        print(text.decode("utf-8", "replace"), end="", file=sys.stderr, flush=True)


def nproc() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def log(msg: str) -> None:
    print(f"llama_ref: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# loading and describing


def load(model: Path, *, vocab_only: bool = False, n_ctx: int = 512, threads: int | None = None,
         flash_attn: bool = False, kv: str = "f16", n_batch: int = 512, n_ubatch: int = 512,
         verbose: bool = False) -> llama_cpp.Llama:
    if not model.is_file():
        raise RefError(f"model not found: {model}")
    threads = threads or nproc()
    if not verbose:
        llama_cpp.llama_log_set(_errors_only, ctypes.c_void_p(0))
    try:
        return llama_cpp.Llama(
            model_path=str(model),
            vocab_only=vocab_only,
            n_ctx=n_ctx,
            n_batch=n_batch,
            n_ubatch=n_ubatch,
            n_threads=threads,
            n_threads_batch=threads,
            logits_all=not vocab_only,  # eval() keeps the logits of every position only with this
            flash_attn=flash_attn,
            type_k=KV_TYPES[kv],
            type_v=KV_TYPES[kv],
            use_mmap=False,  # read the file into memory: nothing changes under a mapped file
            n_gpu_layers=0,
            seed=SEED,
            verbose=verbose,
        )
    except ValueError as e:  # llama-cpp-python raises ValueError for unreadable models
        raise RefError(f"llama.cpp could not load {model}: {e}") from e


def versions() -> dict:
    v = llama_cpp.__version__
    return {
        "llama_cpp_python": v,
        "llama_cpp_commit": LLAMA_CPP_COMMIT.get(v, "unknown"),
        "numpy": np.__version__,
        "system_info": llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip(),
    }


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_header(path: Path) -> dict:
    return {"model": path.name, "model_sha256": sha256(path), "model_bytes": path.stat().st_size}


def vocab_info(llm: llama_cpp.Llama) -> dict:
    vocab = llm._model.vocab  # the llama_vocab pointer; the public Llama API has no accessor
    attrs = {"control": llama_cpp.LLAMA_TOKEN_ATTR_CONTROL, "user_defined": llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED,
             "unknown": llama_cpp.LLAMA_TOKEN_ATTR_UNKNOWN}
    special = []
    for i in range(llm.n_vocab()):
        a = llama_cpp.llama_vocab_get_attr(vocab, i)
        kinds = [k for k, bit in attrs.items() if a & bit]
        if kinds:
            text = llama_cpp.llama_vocab_get_text(vocab, i).decode("utf-8", "replace")
            special.append({"id": i, "text": text, "attr": kinds, "eog": bool(llama_cpp.llama_vocab_is_eog(vocab, i))})

    def tid(t: int) -> int | None:
        return None if t < 0 else int(t)

    meta = {k: v for k, v in llm.metadata.items() if k.startswith("tokenizer.ggml.")}
    return {
        "n_vocab": llm.n_vocab(),
        "vocab_type": {1: "SPM", 2: "BPE", 3: "WPM", 4: "UGM", 5: "RWKV"}.get(llama_cpp.llama_vocab_type(vocab), "other"),
        "add_bos": bool(llama_cpp.llama_vocab_get_add_bos(vocab)),
        "add_eos": bool(llama_cpp.llama_vocab_get_add_eos(vocab)),
        "bos_id": tid(llama_cpp.llama_vocab_bos(vocab)),
        "eos_id": tid(llama_cpp.llama_vocab_eos(vocab)),
        "eot_id": tid(llama_cpp.llama_vocab_eot(vocab)),
        "gguf_tokenizer_keys": meta,  # scalar tokenizer.ggml.* keys (arrays are not exposed)
        "special_tokens": special,
    }


def read_json_strings(path: Path, what: str) -> list[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise RefError(f"cannot read {what} file {path}: {e.strerror}") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RefError(f"{what} file {path} is not valid UTF-8 JSON: {e}") from e
    if not isinstance(data, list) or not all(isinstance(s, str) for s in data):
        raise RefError(f"{what} file {path} must hold a JSON array of strings")
    return data


def write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def tokenize(llm: llama_cpp.Llama, text: str, special: bool) -> list[int]:
    # add_bos=True is "add_special": BOS/EOS only as the vocabulary's add_bos/add_eos say (see top)
    return [int(t) for t in llm.tokenize(text.encode("utf-8"), add_bos=True, special=special)]


def detokenize(llm: llama_cpp.Llama, ids: list[int]) -> bytes:
    """the bytes of the tokens' pieces, special tokens rendered as their text.

    not Llama.detokenize: llama-cpp-python 0.3.36 reads each piece into a 32-byte buffer and
    silently drops pieces longer than that (SmolLM2 has tokens of 64 '-' or '='), and strips a
    space after BOS. llama_token_to_piece returns -needed when the buffer is too small."""
    out = []
    for t in ids:
        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_token_to_piece(llm._model.vocab, int(t), buf, size, 0, True)
            if n >= 0:
                out.append(buf.raw[:n])
                break
            size = -n
    return b"".join(out)


# ---------------------------------------------------------------------------------------------
# tokenize


def cmd_tokenize(args) -> int:
    strings = read_json_strings(args.strings, "strings")
    llm = load(args.model, vocab_only=True, verbose=args.verbose)
    info = vocab_info(llm)
    t0 = time.perf_counter()
    results = []
    roundtrip_bad = 0
    for s in strings:
        plain = tokenize(llm, s, special=False)
        spec = tokenize(llm, s, special=True)
        results.append({"text": s, "ids_plain": plain, "ids_special": spec})
        # informative: does detokenizing the plain ids give the text back? (BOS/EOS skipped)
        body = [t for t in plain if not (info["add_bos"] and t == info["bos_id"])]
        if detokenize(llm, body) != s.encode("utf-8"):
            roundtrip_bad += 1
    dt = time.perf_counter() - t0
    out = {
        "tool": "tests/oracle/llama_ref.py tokenize",
        **versions(),
        **model_header(args.model),
        "call": "Llama(vocab_only=True).tokenize(text.encode('utf-8'), add_bos=True, special=False|True)",
        "add_bos_meaning": "add_bos=True is llama_tokenize's add_special: BOS is added only if the vocab's add_bos "
                           "is true (and EOS appended only if add_eos is true)",
        "vocab": info,
        "results": results,
    }
    write_json(args.out, out)
    differ = sum(1 for r in results if r["ids_plain"] != r["ids_special"])
    print(f"tokenized {len(strings)} strings in {dt:.2f} s -> {args.out}; add_bos={info['add_bos']} "
          f"add_eos={info['add_eos']} bos={info['bos_id']} eos={info['eos_id']}; special=True differs from "
          f"special=False for {differ}; plain ids do not detokenize back to the text for {roundtrip_bad}")
    llm.close()
    return 0


# ---------------------------------------------------------------------------------------------
# forward


def topk(z: np.ndarray, k: int) -> list[list]:
    """the k largest logits as [id, logit], by logit descending, lower id first on a tie."""
    order = np.argsort(-z, kind="stable")[:k]
    return [[int(i), float(z[i])] for i in order]


def evaluate(llm: llama_cpp.Llama, ids: list[int], token_by_token: bool = False) -> np.ndarray:
    """run the prompt from an empty KV cache; returns the raw logits of every position [n, V]."""
    llm.reset()
    if token_by_token:
        for t in ids:
            llm.eval([t])
    else:
        llm.eval(ids)  # split into n_batch chunks by llama-cpp-python, n_ubatch micro-batches by llama.cpp
    return np.array(llm.scores[: llm.n_tokens], dtype=np.float32, copy=True)


def greedy(llm: llama_cpp.Llama, last: np.ndarray, steps: int) -> list[dict]:
    """continue from the evaluated prompt by argmax of the raw logits; `last` = its last row."""
    out = []
    z = last
    for step in range(steps):
        top2 = topk(z, 2)
        tok = top2[0][0]
        out.append({"id": tok, "top2": top2, "gap": top2[0][1] - top2[1][1]})
        if step + 1 < steps:
            llm.eval([tok])
            z = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32, copy=True)
    return out


def settings_of(llm: llama_cpp.Llama, token_by_token: bool) -> dict:
    p = llm.context_params
    return {
        "n_ctx": int(p.n_ctx),
        "n_batch": int(p.n_batch),
        "n_ubatch": int(p.n_ubatch),
        "n_threads": int(p.n_threads),
        "n_threads_batch": int(p.n_threads_batch),
        "flash_attn": {llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED: "enabled", llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED: "disabled",
                       llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO: "auto"}.get(int(p.flash_attn_type), str(p.flash_attn_type)),
        "type_k": KV_NAMES.get(int(p.type_k), str(p.type_k)),
        "type_v": KV_NAMES.get(int(p.type_v), str(p.type_v)),
        "logits_all": True,
        "use_mmap": False,
        "n_gpu_layers": 0,
        "seed": SEED,
        "prompt_eval": "token by token" if token_by_token else "one batch",
        "add_bos": "model default (add_special=True)",
        "parse_special": True,
    }


def ctx_size(lengths: list[int], extra: int) -> int:
    """smallest multiple of 256 (llama.cpp's padding) holding every prompt plus the continuation."""
    need = max(lengths, default=1) + extra
    return max(512, -(-need // 256) * 256)


def cmd_forward(args) -> int:
    prompts = read_json_strings(args.prompts, "prompts")
    if not prompts:
        raise RefError(f"prompts file {args.prompts} is empty")
    if args.greedy < 0 or args.top < 1:
        raise RefError("--greedy must be >= 0 and --top >= 1")
    tok = load(args.model, vocab_only=True, verbose=args.verbose)
    all_ids = [tokenize(tok, p, special=True) for p in prompts]
    tok.close()
    for n, ids in enumerate(all_ids):
        if not ids:
            raise RefError(f"prompt {n} tokenizes to no tokens (empty prompt and no BOS): nothing to evaluate")
    n_ctx = args.n_ctx or ctx_size([len(i) for i in all_ids], args.greedy)
    longest = max(len(i) for i in all_ids) + args.greedy
    if longest > n_ctx:
        raise RefError(f"a prompt needs {longest} positions (with --greedy), more than --n-ctx {n_ctx}")

    llm = load(args.model, n_ctx=n_ctx, threads=args.threads, flash_attn=args.flash_attn, kv=args.kv,
               n_batch=args.n_batch, n_ubatch=args.n_ubatch, verbose=args.verbose)
    V = llm.n_vocab()
    logits_file = args.out.with_name(args.out.stem + ".logits.npy")
    last_rows = np.zeros((len(prompts), V), dtype=np.float32)
    results = []
    t0 = time.perf_counter()
    for n, (prompt, ids) in enumerate(zip(prompts, all_ids)):
        z = evaluate(llm, ids, token_by_token=args.token_by_token)
        if z.shape != (len(ids), V) or not np.all(np.isfinite(z)):
            raise RefError(f"prompt {n}: llama.cpp returned logits of shape {z.shape} or non-finite values")
        last_rows[n] = z[-1]
        cont = greedy(llm, z[-1], args.greedy)
        cont_ids = [c["id"] for c in cont]
        results.append({
            "prompt": prompt,
            "ids": ids,
            "n_tokens": len(ids),
            "logits_row": n,
            "last_top": topk(z[-1], args.top),
            "last_max_abs": float(np.max(np.abs(z[-1]))),
            "positions_top5": [topk(row, TOP_POSITIONS) for row in z],
            "greedy": cont,
            "greedy_ids": cont_ids,
            "greedy_text": detokenize(llm, cont_ids).decode("utf-8", "replace"),
            "min_greedy_gap": min((c["gap"] for c in cont), default=None),
        })
        log(f"prompt {n}: {len(ids)} tokens, top {results[-1]['last_top'][0]}, greedy {results[-1]['greedy_text']!r}")
    dt = time.perf_counter() - t0
    out = {
        "tool": "tests/oracle/llama_ref.py forward",
        **versions(),
        **model_header(args.model),
        "settings": settings_of(llm, args.token_by_token),
        "n_vocab": V,
        "logits": "raw final logits (output of the LM head): no softmax, no temperature, no sampler",
        "logits_file": logits_file.name,
        "logits_shape": list(last_rows.shape),
        "greedy": f"{args.greedy} tokens, each argmax of the raw logits (lowest id on a tie), fed back one at a "
                  "time; does not stop at EOS",
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.save(logits_file, last_rows)
    write_json(args.out, out)
    llm.close()
    print(f"forward: {len(prompts)} prompts in {dt:.1f} s -> {args.out} and {logits_file}")
    return 0


# ---------------------------------------------------------------------------------------------
# spread


SPREAD_VARIANTS = [
    # (name, load() overrides, token_by_token)
    ("same settings, second run", {}, False),
    ("n_threads 1", {"threads": 1}, False),
    ("n_ubatch 8", {"n_ubatch": 8}, False),
    ("n_ctx 4096", {"n_ctx": 4096}, False),
    ("token by token", {}, True),
    ("flash_attn on", {"flash_attn": True}, False),
    ("KV cache f32", {"kv": "f32"}, False),
    ("flash_attn on, KV cache f32", {"flash_attn": True, "kv": "f32"}, False),
]


def run_all(args, all_ids, n_ctx, overrides, token_by_token) -> np.ndarray:
    """the logits of every position of every prompt, stacked: [sum of lengths, V]."""
    kw = {"n_ctx": n_ctx, "threads": args.threads, **overrides}
    llm = load(args.model, verbose=args.verbose, **kw)
    rows = [evaluate(llm, ids, token_by_token) for ids in all_ids]
    llm.close()
    return np.concatenate(rows)


def compare(base: np.ndarray, other: np.ndarray, last: np.ndarray) -> dict:
    """differences between two stacks of logits [positions, V]; `last` indexes the last positions."""
    a = base.astype(np.float64)
    d = other.astype(np.float64) - a
    per_pos = np.abs(d).max(axis=1)
    top20 = np.argsort(-a, axis=1, kind="stable")[:, :20]

    def log_softmax(z):
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    lp, lq = log_softmax(a), log_softmax(a + d)
    kl = (np.exp(lp) * (lp - lq)).sum(axis=1)
    return {
        "max_abs_last": float(per_pos[last].max()),
        "max_abs_any": float(per_pos.max()),
        "median_max_abs": float(np.median(per_pos)),  # median over positions of that position's max|Δ|
        "median_rms": float(np.median(np.sqrt((d * d).mean(axis=1)))),
        "max_abs_top20": float(np.abs(np.take_along_axis(d, top20, axis=1)).max()),  # on the default's top-20 ids
        "max_kl": float(kl.max()),  # KL(p_default || p_variant), nats, T = 1
        "argmax_changes": int(np.sum(np.argmax(a, axis=1) != np.argmax(a + d, axis=1))),
    }


def cmd_spread(args) -> int:
    prompts = read_json_strings(args.prompts, "prompts")
    tok = load(args.model, vocab_only=True, verbose=args.verbose)
    all_ids = [ids for ids in (tokenize(tok, p, special=True) for p in prompts) if ids]
    tok.close()
    if not all_ids:
        raise RefError(f"prompts file {args.prompts} has no non-empty prompt")
    n_ctx = ctx_size([len(i) for i in all_ids], 0)
    last = np.cumsum([len(i) for i in all_ids]) - 1
    log(f"default: {len(all_ids)} prompts, n_ctx {n_ctx}, n_threads {args.threads or nproc()}, flash_attn off, "
        f"one batch (n_batch = n_ubatch = 512), KV f16")
    base = run_all(args, all_ids, n_ctx, {}, False)
    zmax = float(np.abs(base[last]).max())
    rows = []
    for name, overrides, tbt in SPREAD_VARIANTS:
        t0 = time.perf_counter()
        r = {"variant": name, **compare(base, run_all(args, all_ids, n_ctx, overrides, tbt), last)}
        r["seconds"] = round(time.perf_counter() - t0, 1)
        rows.append(r)
        log(f"{name}: {r}")
    cols = [("max_abs_last", "max|Δ| last"), ("max_abs_any", "max|Δ| any"), ("median_max_abs", "median max|Δ|"),
            ("median_rms", "median rms"), ("max_abs_top20", "max|Δ| top20"), ("max_kl", "max KL"),
            ("argmax_changes", "argmax chg")]
    print(f"llama.cpp self-spread: {len(all_ids)} prompts, {len(base)} positions, max |logit| at the last positions "
          f"{zmax:.4g}; each variant vs the default (per position: max|Δ| over the vocabulary, rms Δ, KL of softmax)")
    print(f"  {'variant':28}" + "".join(f"{h:>15}" for _, h in cols))
    for r in rows:
        print(f"  {r['variant']:28}" + "".join(f"{r[k]:15d}" if isinstance(r[k], int) else f"{r[k]:15.3g}" for k, _ in cols))
    if args.out:
        write_json(args.out, {"tool": "tests/oracle/llama_ref.py spread", **versions(), **model_header(args.model),
                              "default": {"n_ctx": n_ctx, "n_threads": args.threads or nproc(), "flash_attn": False,
                                          "n_batch": 512, "n_ubatch": 512, "kv": "f16", "prompt_eval": "one batch"},
                              "n_prompts": len(all_ids), "n_positions": len(base), "max_abs_logit_last": zmax,
                              "variants": rows})
    return 0


# ---------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 1)[1])
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("--model", required=True, type=Path, help="the GGUF model (e.g. from scripts/fetch-model.sh)")
        p.add_argument("--verbose", action="store_true", help="let llama.cpp log to stderr")

    def compute(p):
        p.add_argument("--threads", type=int, default=None, help="n_threads = n_threads_batch (default nproc)")

    p = sub.add_parser("tokenize", help="tokenize a JSON array of strings, special=False and True")
    common(p)
    p.add_argument("--strings", required=True, type=Path, help="JSON array of strings")
    p.add_argument("--out", required=True, type=Path, help="output JSON")
    p.set_defaults(func=cmd_tokenize)

    p = sub.add_parser("forward", help="logits and greedy continuations for a JSON array of prompts")
    common(p)
    compute(p)
    p.add_argument("--prompts", required=True, type=Path, help="JSON array of prompt strings")
    p.add_argument("--out", required=True, type=Path, help="output JSON (the logits go to OUT.logits.npy beside it)")
    p.add_argument("--greedy", type=int, default=16, help="greedy continuation length (default %(default)s)")
    p.add_argument("--top", type=int, default=20, help="top-k recorded at the last position (default %(default)s)")
    p.add_argument("--n-ctx", type=int, default=0, help="context size (default: fits the longest prompt + --greedy, ≥ 512)")
    p.add_argument("--n-batch", type=int, default=512, help="llama.cpp n_batch (default %(default)s)")
    p.add_argument("--n-ubatch", type=int, default=512, help="llama.cpp n_ubatch (default %(default)s)")
    p.add_argument("--flash-attn", action="store_true", help="enable flash attention (default off)")
    p.add_argument("--kv", choices=sorted(KV_TYPES), default="f16", help="KV cache type (default %(default)s, llama.cpp's)")
    p.add_argument("--token-by-token", action="store_true", help="evaluate the prompt one token per batch")
    p.set_defaults(func=cmd_forward)

    p = sub.add_parser("spread", help="llama.cpp's own numerical spread across settings")
    common(p)
    compute(p)
    p.add_argument("--prompts", required=True, type=Path, help="JSON array of prompt strings")
    p.add_argument("--out", type=Path, help="also write the table as JSON")
    p.set_defaults(func=cmd_spread)

    args = ap.parse_args()
    try:
        return args.func(args)
    except RefError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
