#!/usr/bin/env python3
"""runs the CLI on every case of the hostile corpus (make_corpus.py) and checks that each one
  - exits 0 for a control case, and otherwise 1 with one `error: …` line matching its regex,
  - never prints a panic, a backtrace or a signal,
  - (control cases) prints what the file says escaped: no raw control or bidi character,
  - gives a message no other case gives (the errors say what is wrong, not just "bad file"),
  - stays under the memory bound: peak RSS <= BASE_MB + 4 x the file's size. the base covers
    the binary (about 14 MB) and the decoded header's limit (64 MiB: gguf.rs, MAX_ITEMS); the
    4 x covers a file's tensors read (1 x) and converted (about 1 x) and its strings decoded.

usage: check.py --cli target/release/unembed --dir target/hostile
prints one line per case (peak RSS, message) and a summary; exits 1 on any failure.
"""
import argparse
import json
import os
import re
import subprocess
import sys

# control, zero-width and bidi characters (newline aside): none may reach the terminal raw.
INVISIBLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
BASE_MB = 80  # the binary and its libraries (~14 MB) plus the decoded header's 64 MiB limit


def run(cmd):
    """runs cmd; returns (exit code or -signal, stdout, stderr, peak RSS in KiB) via wait4."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.stdout.read(), p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, out.decode("utf8", "replace"), err.decode("utf8", "replace"), usage.ru_maxrss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default="target/release/unembed")
    ap.add_argument("--dir", default="target/hostile")
    a = ap.parse_args()
    cases = json.load(open(os.path.join(a.dir, "cases.json")))
    failures, seen = [], {}
    worst = 0.0
    for c in cases:
        path = os.path.join(a.dir, c["file"])
        size = os.path.getsize(path)
        cmd = [a.cli, "query", path, "--id", "0", "--json"]
        if c["tokenizer"]:
            cmd += ["--tokenizer", os.path.join(a.dir, c["tokenizer"])]
        rc, out, err, rss_kib = run(cmd)
        bound_kib = BASE_MB * 1024 + 4 * size // 1024
        worst = max(worst, rss_kib / bound_kib)
        # the CLI names the file in some messages; take the names out so that "distinct" means
        # the errors differ in what they say is wrong, not in which file they name.
        msg = err.strip()
        for f in [c["file"], c["tokenizer"]]:
            if f:
                msg = msg.replace(os.path.join(a.dir, f) + ": ", "").replace(os.path.join(a.dir, f), "FILE")
        problems = []
        if "panicked" in err or "RUST_BACKTRACE" in err or rc < 0:
            problems.append("crashed (rc %d): %s" % (rc, msg[:300]))
        elif c["expect"] == "ok":
            if rc != 0:
                problems.append("a control case failed: %s" % msg)
            else:
                json.loads(out)
                # what the file says reaches the terminal escaped (inspect and the table).
                for args in (["inspect", path], ["query", path, "--id", "0", "--top", "20"]):
                    _, text, _, _ = run([a.cli] + args)
                    bad = INVISIBLE.search(text)
                    if bad:
                        problems.append("%s prints a raw U+%04X" % (args[0], ord(bad.group())))
        else:
            if rc != 1:
                problems.append("exit code %d, expected 1" % rc)
            if not msg.startswith("error: ") or "\n" in msg:
                problems.append("stderr is not one `error: ` line: %r" % msg[:300])
            elif not re.search(c["expect"], msg):
                problems.append("message %r does not match %r" % (msg, c["expect"]))
            if msg in seen:
                problems.append("same message as %s" % seen[msg])
            seen[msg] = c["name"]
        if c.get("lens") and not problems:
            # a whole model the explorer opens but the forward pass refuses: one clear error.
            rc2, _, err2, rss2 = run([a.cli, "lens", path, "--ids", "1,2"])
            msg2 = err2.strip().replace(path + ": ", "").replace(path, "FILE")
            rss_kib = max(rss_kib, rss2)
            if "panicked" in err2 or rc2 < 0:
                problems.append("lens crashed (rc %d): %s" % (rc2, msg2[:300]))
            elif rc2 != 1 or not msg2.startswith("error: ") or "\n" in msg2:
                problems.append("lens: exit %d, stderr %r" % (rc2, msg2[:300]))
            elif not re.search(c["lens"], msg2):
                problems.append("lens message %r does not match %r" % (msg2, c["lens"]))
            elif msg2 in seen:
                problems.append("lens says the same as %s" % seen[msg2])
            seen[msg2] = c["name"]
            msg = (msg or "ok") + " | lens: " + msg2
        if c["name"] == "ok-llama.gguf" and not problems:
            rc2, out2, err2, _ = run([a.cli, "lens", path, "--ids", "1,2,3", "--generate", "2", "--json"])
            if rc2 != 0:
                problems.append("the control model does not run: %s" % err2.strip()[:300])
        if rss_kib > bound_kib:
            problems.append("peak RSS %.1f MB above the bound %.1f MB" % (rss_kib / 1024, bound_kib / 1024))
        status = "FAIL" if problems else "ok  "
        print("%s %-34s %8d B  rss %6.1f MB  %s" % (status, c["name"], size, rss_kib / 1024, (msg or "ok")[:110]))
        for p in problems:
            print("     -> " + p)
            failures.append((c["name"], p))
    print("\n%d cases, %d failed; peak RSS at most %.0f%% of the bound (%d MB + 4 x file size)"
          % (len(cases), len(failures), 100 * worst, BASE_MB))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
