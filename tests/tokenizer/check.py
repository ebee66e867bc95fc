#!/usr/bin/env python3
"""holds `unembed tokenize` to llama.cpp's token ids, string by string, in both special modes.

the reference is the JSON written by `tests/oracle/llama_ref.py tokenize` (llama-cpp-python's
Llama.tokenize with add_bos=True, i.e. the model's own add_bos, and special=False / True); this
script needs only the Python standard library. It runs

    unembed tokenize MODEL --batch STRINGS --json                (parse_special: ids_special)
    unembed tokenize MODEL --batch STRINGS --json --no-special   (ids_plain)

on the reference's own strings and compares every list of ids exactly. It prints the first
differences (the string, both id lists from the first difference on, our token strings there)
and `N passed, M failed`; the exit status is 1 on any difference (or a CLI failure).

usage:
    python3 tests/tokenizer/check.py --cli target/release/unembed --model M.gguf --ref tok.json [--show 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_cli(cli: str, model: str, strings_file: str, special: bool) -> tuple[list[dict], float]:
    cmd = [cli, "tokenize", model, "--batch", strings_file, "--json"]
    if not special:
        cmd.append("--no-special")
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} exited {r.returncode}: {r.stderr.decode('utf-8', 'replace').strip()}")
    return json.loads(r.stdout), dt


def show(text: str) -> str:
    s = json.dumps(text, ensure_ascii=True)
    return s if len(s) <= 160 else s[:157] + '..."'


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 1)[1])
    ap.add_argument("--cli", required=True, help="the unembed binary")
    ap.add_argument("--model", required=True, help="the GGUF model the reference was made with")
    ap.add_argument("--ref", required=True, type=Path, help="output of llama_ref.py tokenize")
    ap.add_argument("--show", type=int, default=10, help="differences to print (default %(default)s)")
    args = ap.parse_args()

    ref = json.loads(args.ref.read_text(encoding="utf-8"))
    results = ref["results"]
    texts = [r["text"] for r in results]
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8", delete=False) as f:
        json.dump(texts, f)
        strings_file = f.name
    try:
        ours = {}
        for special in (False, True):
            ours[special], dt = run_cli(args.cli, args.model, strings_file, special)
            if len(ours[special]) != len(texts):
                sys.exit(f"error: the CLI answered {len(ours[special])} strings for {len(texts)}")
            print(f"unembed tokenize: {len(texts)} strings, special={special}, {dt:.2f} s (with loading the model)")
    finally:
        Path(strings_file).unlink(missing_ok=True)

    failed = 0
    shown = 0
    per_mode = {False: 0, True: 0}
    for i, r in enumerate(results):
        bad = []
        for special, key in ((False, "ids_plain"), (True, "ids_special")):
            want, got = r[key], ours[special][i]["ids"]
            if want != got:
                per_mode[special] += 1
                bad.append((special, want, got, ours[special][i]["tokens"]))
        if not bad:
            continue
        failed += 1
        if shown >= args.show:
            continue
        shown += 1
        print(f"\nFAIL string {i}: {show(r['text'])}")
        for special, want, got, tokens in bad:
            k = next((j for j, (a, b) in enumerate(zip(want, got)) if a != b), min(len(want), len(got)))
            print(f"  special={special}: first difference at token {k} (llama.cpp {len(want)} tokens, ours {len(got)})")
            print(f"    llama.cpp: ...{want[max(0, k - 2):k + 6]}")
            print(f"    unembed:   ...{got[max(0, k - 2):k + 6]} {tokens[max(0, k - 2):k + 6]}")
    n = len(results)
    print(f"\nspecial=False: {n - per_mode[False]}/{n} agree; special=True: {n - per_mode[True]}/{n} agree")
    print(f"{n - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
