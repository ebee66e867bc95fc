#!/usr/bin/env python3
"""`unembed serve` against hostile and careful clients, on 127.0.0.1 only.

    python3 tests/server/check_server.py --bin target/release/unembed

Starts the server on a temporary folder of test files (a 40 MB model among them) with short
timeouts (UNEMBED_SERVE_HEADER_TIMEOUT_MS, UNEMBED_SERVE_WRITE_TIMEOUT_MS) and checks: request
smuggling through an unread body, Connection: close on every status, HTTP/1.0, a half-sent
request, an idle keep-alive connection, a 300 MB request line and oversized headers (memory
read from /proc/PID/status), 3,000 idle connections at once, a client that stops reading,
every Range form of RFC 9110 §14, If-Range, conditional requests (§13), HEAD, path traversal
and symlinks out of the folder, the security headers and --isolate. Timing is only bounded
generously (a close is expected within several times the configured timeout). Prints one line
per check and `N passed, M failed` last; exits 1 on any failure. Python 3.11 standard library.
"""
import argparse
import email.utils
import hashlib
import http.client
import os
import re
import resource
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time

HEADER_TIMEOUT = 1.5  # seconds, given to the server as UNEMBED_SERVE_HEADER_TIMEOUT_MS
WRITE_TIMEOUT = 3.0  # UNEMBED_SERVE_WRITE_TIMEOUT_MS
MAX_CONNECTIONS = 512  # the server's default
CLOSE_BOUND = 15.0  # a close the server owes us must come within this (10x the timeout)
BIG = 40 * 2**20
SECRET = b"SECRET-OUTSIDE-THE-FOLDER"
INNER = b"INNER-FILE-NAMED-IN-A-BODY"
CSP_NEEDS = ["default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "worker-src 'self'",
             "connect-src 'self'", "style-src 'self'"]


# ---- the server ----

class Server:
    def __init__(self, binary, root, *args, **env_extra):
        env = dict(os.environ, UNEMBED_SERVE_HEADER_TIMEOUT_MS=str(int(HEADER_TIMEOUT * 1000)),
                   UNEMBED_SERVE_WRITE_TIMEOUT_MS=str(int(WRITE_TIMEOUT * 1000)), **env_extra)
        self.p = subprocess.Popen([binary, "serve", root, "--port", "0", *args], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        line = self.p.stdout.readline().decode()
        m = re.search(r"at http://127\.0\.0\.1:(\d+)/", line)
        if not m:
            self.p.kill()
            raise SystemExit(f"the server did not start: {line!r}")
        self.port = int(m.group(1))
        self.pid = self.p.pid

    def status(self, key):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        raise KeyError(key)

    def rss(self):
        return self.status("VmRSS")  # KiB

    def fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        self.p.kill()
        self.p.wait()


# ---- a small HTTP/1.1 client that shows exactly what came back ----

class Resp:
    def __init__(self, version, status, reason, headers, body):
        self.version, self.status, self.reason, self.headers, self.body = version, status, reason, headers, body

    def h(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return f"{self.status} {self.reason} {self.headers} +{len(self.body)} bytes"


def read_response(f, method="GET"):
    line = f.readline(65537)
    if not line:
        return None
    m = re.match(rb"(HTTP/\d\.\d) (\d{3}) ?(.*)\r\n$", line)
    if not m:
        raise ValueError(f"bad status line {line[:100]!r}")
    headers = {}
    while True:
        h = f.readline(65537)
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        k = k.strip().lower()
        headers[k] = f"{headers[k]}, {v.strip()}" if k in headers else v.strip()
    status = int(m.group(2))
    body = b""
    if method == "HEAD" or status in (204, 304) or status < 200:
        pass
    elif "chunked" in headers.get("transfer-encoding", ""):
        while True:
            size = int(f.readline().split(b";")[0], 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b""):
                    pass
                break
            body += f.read(size)
            f.readline()
    elif "content-length" in headers:
        body = f.read(int(headers["content-length"]))
    else:
        body = f.read()
    return Resp(m.group(1).decode(), status, m.group(3).decode("latin-1"), headers, body)


def request_bytes(path, method="GET", headers=(), version="HTTP/1.1", body=b"", host=True):
    lines = [f"{method} {path} {version}"]
    if host:
        lines.append("Host: 127.0.0.1")
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Conn:
    def __init__(self, port, timeout=10):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.s.makefile("rb")

    def send(self, data):
        self.s.sendall(data)

    def ask(self, path, method="GET", headers=(), **kw):
        self.send(request_bytes(path, method, headers, **kw))
        return read_response(self.f, method)

    def closed_within(self, seconds):
        """(closed, bytes that came meanwhile): waits for the server to close the connection."""
        end = time.monotonic() + seconds
        extra = b""
        while time.monotonic() < end:
            r, _, _ = select.select([self.s], [], [], max(0.0, end - time.monotonic()))
            if not r:
                break
            try:
                data = self.s.recv(65536)
            except (ConnectionResetError, OSError):
                return True, extra
            if not data:
                return True, extra
            extra += data
        return False, extra

    def close(self):
        self.f.close()
        self.s.close()


def get(port, path, method="GET", headers=(), **kw):
    """one request on its own connection."""
    c = Conn(port)
    try:
        return c.ask(path, method, list(headers) + [("Connection", "close")], **kw)
    finally:
        c.close()


# ---- the test folder ----

def make_site(base):
    root = os.path.join(base, "site")
    os.makedirs(os.path.join(root, "sub"))
    os.makedirs(os.path.join(root, "models"))
    files = {
        "index.html": b"<!doctype html><title>t</title><p>index",
        "sub/index.html": b"<p>sub index",
        "app.js": b"export const a = 1;\n",
        "mod.mjs": b"export const b = 2;\n",
        "style.css": b"body { color: black }\n",
        "unembed_bg.wasm": b"\0asm\x01\0\0\0",
        "models/models.json": b'{"models": []}',
        "pic.png": b"\x89PNG\r\n\x1a\n" + bytes(32),
        "pic.svg": b'<svg xmlns="http://www.w3.org/2000/svg"/>',
        "notes.txt": b"plain text\n",
        "small.txt": b"small file\n",
        "inner.txt": INNER,
        "r.bin": bytes(range(256)) * 8,  # 2048 bytes for the range checks
        "empty.bin": b"",
        ".hidden": b"dotfile",
    }
    for name, data in files.items():
        with open(os.path.join(root, name), "wb") as f:
            f.write(data)
    big = os.urandom(BIG)
    with open(os.path.join(root, "models", "big.gguf"), "wb") as f:
        f.write(big)
    # validators an hour old: a Last-Modified that old is a strong validator (RFC 9110 §8.8.2.2).
    past = time.time() - 3600
    for name in ["r.bin", "small.txt"]:
        os.utime(os.path.join(root, name), (past, past))
    with open(os.path.join(base, "secret.txt"), "wb") as f:
        f.write(SECRET)
    os.symlink(os.path.join(base, "secret.txt"), os.path.join(root, "escape.txt"))
    os.symlink(base, os.path.join(root, "up"))
    os.symlink(os.path.join(root, "small.txt"), os.path.join(root, "alias.txt"))
    os.mkfifo(os.path.join(root, "fifo.txt"))
    return root, files, big


# ---- the checks ----

RESULTS = []
# RFC 9110's reason phrases where Python's table keeps older ones.
REASONS = {413: "Content Too Large", 416: "Range Not Satisfiable", 422: "Unprocessable Content"}


def check(name):
    def wrap(fn):
        def run(*a):
            t = time.monotonic()
            try:
                detail = fn(*a) or ""
                ok = True
            except AssertionError as e:
                ok, detail = False, str(e)
            except Exception as e:  # a crash of the check is a failure too
                ok, detail = False, f"{type(e).__name__}: {e}"
            RESULTS.append(ok)
            took = time.monotonic() - t
            print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail else "") + f" ({took:.1f} s)",
                  flush=True)
        return run
    return wrap


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


@check("a normal request is answered (200, type, ETag, Last-Modified, Accept-Ranges)")
def normal(srv, files):
    r = get(srv.port, "/")
    expect(r.status == 200 and r.body == files["index.html"], f"got {r}")
    expect(r.h("content-type") == "text/html; charset=utf-8", f"type {r.h('content-type')}")
    expect(r.h("etag") and r.h("last-modified"), "no validators")
    expect(r.h("accept-ranges") == "bytes", "no Accept-Ranges")
    expect(r.h("cache-control") == "no-cache", f"Cache-Control {r.h('cache-control')}")
    return f"ETag {r.h('etag')}"


@check("content types of the page's files")
def types(srv, files):
    want = {"app.js": "text/javascript; charset=utf-8", "mod.mjs": "text/javascript; charset=utf-8",
            "style.css": "text/css; charset=utf-8", "unembed_bg.wasm": "application/wasm",
            "models/models.json": "application/json", "models/big.gguf": "application/octet-stream",
            "pic.png": "image/png", "pic.svg": "image/svg+xml", "notes.txt": "text/plain; charset=utf-8"}
    for name, ct in want.items():
        r = get(srv.port, "/" + name, "HEAD")
        expect(r.status == 200 and r.h("content-type") == ct, f"{name}: {r.status} {r.h('content-type')}")


@check("a folder serves its index.html; without its slash it redirects to it")
def folders(srv, files):
    r = get(srv.port, "/sub/")
    expect(r.status == 200 and r.body == files["sub/index.html"], f"/sub/: {r}")
    r = get(srv.port, "/sub")
    expect(r.status in (301, 302, 307, 308) and (r.h("location") or "").endswith("sub/"), f"/sub: {r}")


@check("HEAD: the GET's headers and no body (the next response on the connection is intact)")
def head(srv, files):
    c = Conn(srv.port)
    r = c.ask("/models/big.gguf", "HEAD")
    expect(r.status == 200 and r.h("content-length") == str(BIG), f"HEAD: {r}")
    r2 = c.ask("/small.txt")
    expect(r2 and r2.status == 200 and r2.body == files["small.txt"], f"after HEAD: {r2}")
    c.close()


def smuggle(srv, files, first):
    """sends `first` (a request whose body holds a request for /inner.txt), then a request for
    /small.txt on the same connection: nothing may answer the request inside the body."""
    c = Conn(srv.port)
    c.send(first)
    r = read_response(c.f, "POST")
    expect(r is not None, "no response at all")
    got = [r]
    closed, extra = c.closed_within(1.0)
    expect(INNER not in extra, f"the body was answered as a request: {extra[:200]!r}")
    if not closed and not extra:
        c.send(request_bytes("/small.txt"))
        r2 = read_response(c.f)
        if r2 is not None:
            got.append(r2)
            expect(r2.body == files["small.txt"], f"the next request got {r2}")
    expect(all(INNER not in x.body for x in got), f"responses {got}")
    c.close()
    return " then ".join(str(x.status) for x in got) + (" then closed" if closed or len(got) == 1 else "")


INNER_REQ = b"GET /inner.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@check("smuggling: a POST whose body is a GET gets 405 with Allow, and the body is not a request")
def smuggle_post(srv, files):
    first = request_bytes("/index.html", "POST", [("Content-Length", len(INNER_REQ))], body=INNER_REQ)
    c = Conn(srv.port)
    c.send(first)
    r = read_response(c.f, "POST")
    c.close()
    expect(r.status == 405 and "GET" in (r.h("allow") or "") and "HEAD" in r.h("allow"), f"{r}")
    expect(r.reason == "Method Not Allowed", f"reason {r.reason!r}")
    return smuggle(srv, files, first)


@check("smuggling: a chunked POST body holding a GET")
def smuggle_chunked(srv, files):
    chunk = f"{len(INNER_REQ):x}\r\n".encode() + INNER_REQ + b"\r\n0\r\n\r\n"
    return smuggle(srv, files, request_bytes("/", "POST", [("Transfer-Encoding", "chunked")], body=chunk))


@check("smuggling: a GET with a body holding a GET")
def smuggle_get_body(srv, files):
    return smuggle(srv, files, request_bytes("/", "GET", [("Content-Length", len(INNER_REQ))], body=INNER_REQ))


@check("smuggling: Content-Length and Transfer-Encoding together, and two Content-Lengths")
def smuggle_both(srv, files):
    a = smuggle(srv, files, request_bytes("/", "POST", [("Content-Length", "5"), ("Transfer-Encoding", "chunked")],
                                          body=b"0\r\n\r\n" + INNER_REQ))
    b = smuggle(srv, files, request_bytes("/", "POST", [("Content-Length", "0"), ("Content-Length", str(len(INNER_REQ)))],
                                          body=INNER_REQ))
    return f"{a}; {b}"


@check("Connection: close is honoured on every status")
def connection_close(srv, files):
    etag = get(srv.port, "/small.txt").h("etag")
    cases = [("/small.txt", "GET", [], 200), ("/r.bin", "GET", [("Range", "bytes=0-0")], 206),
             ("/small.txt", "GET", [("If-None-Match", etag)], 304), ("/nope", "GET", [], 404),
             ("/", "POST", [("Content-Length", "0")], 405), ("/%zz", "GET", [], 400),
             ("/small.txt", "GET", [("If-Match", '"other"')], 412), ("/r.bin", "GET", [("Range", "bytes=9999-")], 416),
             ("/sub", "GET", [], 307), ("/", "HEAD", [], 200), ("/nope", "HEAD", [], 404)]
    seen = []
    for path, method, headers, status in cases:
        c = Conn(srv.port)
        r = c.ask(path, method, headers + [("Connection", "close")])
        expect(r.status == status, f"{method} {path}: {r}")
        closed, extra = c.closed_within(5)
        expect(closed and not extra, f"{status} left the connection open (extra {extra[:80]!r})")
        c.close()
        seen.append(status)
    return " ".join(map(str, seen))


@check("HTTP/1.0 closes after the response unless it asks for keep-alive")
def http10(srv, files):
    c = Conn(srv.port)
    r = c.ask("/small.txt", version="HTTP/1.0", host=False)
    expect(r.status == 200 and r.body == files["small.txt"], f"{r}")
    closed, _ = c.closed_within(5)
    expect(closed, "HTTP/1.0 stayed open")
    c.close()
    c = Conn(srv.port)
    for _ in range(2):
        r = c.ask("/small.txt", headers=[("Connection", "keep-alive")], version="HTTP/1.0")
        expect(r and r.status == 200 and r.body == files["small.txt"], f"keep-alive: {r}")
    c.close()


@check("a half-sent request is closed after the header timeout")
def half_sent(srv, files):
    out = []
    c = Conn(srv.port)
    c.send(b"GET /small.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    t = time.monotonic()
    closed, extra = c.closed_within(CLOSE_BOUND)
    expect(closed and b"small file" not in extra, f"closed={closed} extra={extra[:80]!r}")
    out.append(f"closed after {time.monotonic() - t:.1f} s")
    c.close()
    # a header sent a byte at a time: the deadline is for the whole head.
    c = Conn(srv.port)
    c.send(b"GET /small.txt HTTP/1.1\r\nX-Slow: ")
    t = time.monotonic()
    closed = False
    while time.monotonic() - t < CLOSE_BOUND and not closed:
        try:
            c.send(b"a")
        except OSError:
            closed = True
            break
        closed, _ = c.closed_within(0.2)
    expect(closed, "a trickled header was never timed out")
    out.append(f"trickled: {time.monotonic() - t:.1f} s")
    c.close()
    # a connection that sends nothing.
    c = Conn(srv.port)
    t = time.monotonic()
    closed, _ = c.closed_within(CLOSE_BOUND)
    expect(closed, "a silent connection stayed open")
    out.append(f"silent: {time.monotonic() - t:.1f} s")
    c.close()
    return "; ".join(out)


@check("an idle kept-alive connection is closed after the idle timeout")
def idle(srv, files):
    c = Conn(srv.port)
    r = c.ask("/small.txt")
    expect(r.status == 200, f"{r}")
    t = time.monotonic()
    closed, extra = c.closed_within(CLOSE_BOUND)
    expect(closed and not extra, "the idle connection stayed open")
    c.close()
    return f"closed after {time.monotonic() - t:.1f} s"


class Sampler:
    """the server's peak RSS while a check runs."""
    def __init__(self, srv):
        self.srv, self.peak, self.stop_ = srv, srv.rss(), False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop_:
            try:
                self.peak = max(self.peak, self.srv.rss())
            except (OSError, KeyError):
                return
            time.sleep(0.005)

    def stop(self):
        self.stop_ = True
        self.t.join()
        return self.peak


def settle(srv, base, slack_kib, seconds=10.0):
    """waits for RSS to come back within `slack_kib` of `base`; returns the last reading."""
    end = time.monotonic() + seconds
    while True:
        now = srv.rss()
        if now <= base + slack_kib or time.monotonic() > end:
            return now
        time.sleep(0.1)


MEMORY = {}


@check("a 300 MB request line is refused; RSS grows by at most a few MB and comes back")
def huge_line(srv, files):
    base = srv.rss()
    s = Sampler(srv)
    c = Conn(srv.port, timeout=20)
    sent = 0
    chunk = b"a" * 2**16
    try:
        c.send(b"GET /")
        for _ in range(300 * 16):
            c.send(chunk)
            sent += len(chunk)
        c.send(b" HTTP/1.1\r\nHost: x\r\n\r\n")
    except OSError:
        pass
    status = None
    try:
        r = read_response(c.f)
        status = r.status if r else None
    except (OSError, ValueError):
        pass
    c.close()
    peak = s.stop()
    after = settle(srv, base, 1024)
    MEMORY["300 MB line"] = (base, peak, after)
    expect(status in (None, 400, 413, 414, 431), f"answered {status}")
    expect(sent < 300 * 2**20 or status in (400, 413, 414, 431), "the whole line was read")
    expect(peak - base <= 4096, f"RSS grew by {(peak - base) / 1024:.1f} MiB")
    expect(after - base <= 1024, f"RSS stayed {(after - base) / 1024:.1f} MiB above")
    r = get(srv.port, "/small.txt")
    expect(r.status == 200, f"then {r}")
    return (f"sent {sent / 2**10:.0f} KiB before the server closed, status {status}; RSS {base / 1024:.1f} MiB, "
            f"peak +{(peak - base) / 1024:.2f} MiB, after +{(after - base) / 1024:.2f} MiB")


@check("oversized heads get 431: 64 KiB of headers, 300 MB of headers, 500 headers")
def big_headers(srv, files):
    base = srv.rss()
    s = Sampler(srv)
    r = get(srv.port, "/", headers=[("X-Big", "b" * 65536)])
    expect(r is None or r.status == 431, f"64 KiB header: {r}")
    r = get(srv.port, "/", headers=[(f"X-H{i}", "v") for i in range(500)])
    expect(r is None or r.status == 431, f"500 headers: {r}")
    c = Conn(srv.port, timeout=20)
    sent = 0
    try:
        c.send(b"GET / HTTP/1.1\r\n")
        line = b"X-A: " + b"a" * 1000 + b"\r\n"
        for _ in range(300 * 1000):
            c.send(line)
            sent += len(line)
    except OSError:
        pass
    c.close()
    peak = s.stop()
    after = settle(srv, base, 1024)
    expect(sent < 300 * 2**20, "300 MB of headers were all read")
    expect(peak - base <= 4096, f"RSS grew by {(peak - base) / 1024:.1f} MiB")
    return f"headers cut after {sent / 2**20:.1f} MiB; peak +{(peak - base) / 1024:.2f} MiB, after +{(after - base) / 1024:.2f} MiB"


@check("3,000 idle connections: a normal request is still answered, threads and connections stay bounded, all idle ones are closed")
def flood(srv, files):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 3000 + 200
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, want), hard))
    base, base_threads = srv.rss(), srv.status("Threads")
    s = Sampler(srv)
    socks = []
    t = time.monotonic()
    for _ in range(3000):
        socks.append(socket.create_connection(("127.0.0.1", srv.port), timeout=10))
    opened = time.monotonic() - t
    t = time.monotonic()
    r = get(srv.port, "/small.txt")
    answered = time.monotonic() - t
    expect(r.status == 200 and r.body == files["small.txt"], f"normal request: {r}")
    threads, fds = srv.status("Threads"), srv.fds()
    expect(threads <= base_threads + 20, f"{threads} threads")
    expect(fds <= MAX_CONNECTIONS + 64, f"{fds} open descriptors")
    # every idle connection is closed by the server (given way to newer ones, or timed out).
    poller = select.poll()
    open_ = {}
    for x in socks:
        open_[x.fileno()] = x
        poller.register(x, select.POLLIN)
    end = time.monotonic() + HEADER_TIMEOUT + CLOSE_BOUND
    while open_ and time.monotonic() < end:
        for fd, _ in poller.poll(500):
            x = open_.pop(fd)
            poller.unregister(fd)
            try:
                data = x.recv(1024)
            except OSError:
                data = b""
            x.close()
            expect(not data, f"an idle connection got {data[:80]!r}")
    left = len(open_)
    for x in open_.values():
        x.close()
    expect(left == 0, f"{left} idle connections still open")
    peak = s.stop()
    after = settle(srv, base, 2048)
    MEMORY["3,000 idle connections"] = (base, peak, after)
    expect(after - base <= 2048, f"RSS stayed {(after - base) / 1024:.1f} MiB above")
    r = get(srv.port, "/small.txt")
    expect(r.status == 200, f"after: {r}")
    return (f"opened in {opened:.1f} s, normal request answered in {answered * 1000:.0f} ms, {threads} threads, "
            f"{fds} fds; RSS {base / 1024:.1f} MiB, peak +{(peak - base) / 1024:.1f} MiB, after +{(after - base) / 1024:.2f} MiB")


@check("a client that stops reading a 40 MB response is cut off after the write timeout")
def slow_reader(srv, files):
    s = stalled_download(srv.port)
    time.sleep(0.5)
    r = get(srv.port, "/small.txt")
    expect(r.status == 200, f"meanwhile: {r}")
    time.sleep(WRITE_TIMEOUT + 2)
    got = 0
    try:
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            got += len(d)
    except OSError:
        pass
    s.close()
    expect(got < BIG, f"all {got} bytes came: the stalled response was never cut off")
    return f"{got / 2**20:.1f} MiB had been sent when it was cut off"


def ranged(port, path, rng, method="GET", extra=()):
    return get(port, path, method, [("Range", rng), *extra])


@check("Range: every form of RFC 9110 §14 on a 2,048-byte file")
def ranges(srv, files):
    data = files["r.bin"]
    n = len(data)
    whole = ("whole", None)
    cases = [
        ("bytes=0-0", 0, 0), ("bytes=0-499", 0, 499), ("bytes=500-", 500, n - 1), ("bytes=-500", n - 500, n - 1),
        (f"bytes={n - 10}-{n + 1000}", n - 10, n - 1),  # past the end: clipped
        (f"bytes=-{n + 100}", 0, n - 1),  # a suffix longer than the file: all of it
        ("Bytes=1-2", 1, 2),  # units are case-insensitive
        ("bytes=007-9", 7, 9),  # leading zeros are digits
        (f"bytes={n}-", "416", None), (f"bytes={n}-{n + 5}", "416", None), ("bytes=-0", "416", None),
        ("bytes=0-0,5-9", *whole), ("bytes=0-10, 20-30, 40-", *whole),  # several ranges: the whole file
        ("items=0-1", *whole), ("bytes=abc", *whole), ("bytes=5-2", *whole), ("bytes=--1", *whole),
        ("bytes=0-99999999999999999999999", *whole), ("bytes=99999999999999999999999-", *whole),
        ("bytes 0-1", *whole), ("bytes=", *whole), ("bytes=1-2-3", *whole),
    ]
    out = []
    for rng, a, b in cases:
        r = ranged(srv.port, "/r.bin", rng)
        if a == "416":
            expect(r.status == 416 and r.h("content-range") == f"bytes */{n}", f"{rng}: {r}")
        elif a == "whole":
            if r.status == 206:  # multipart/byteranges would be allowed for several ranges
                expect("multipart/byteranges" in (r.h("content-type") or ""), f"{rng}: {r}")
            else:
                expect(r.status == 200 and r.body == data, f"{rng}: {r}")
        else:
            expect(r.status == 206, f"{rng}: {r}")
            expect(r.h("content-range") == f"bytes {a}-{b}/{n}", f"{rng}: Content-Range {r.h('content-range')}")
            expect(r.body == data[a:b + 1] and r.h("content-length") == str(b - a + 1), f"{rng}: body")
        out.append(f"{rng}→{r.status}")
    r = ranged(srv.port, "/r.bin", "bytes=0-0", "HEAD")
    expect(r.status == 200 and r.h("content-length") == str(n), f"HEAD with Range (ignored, §14.2): {r}")
    r = ranged(srv.port, "/empty.bin", "bytes=0-0")
    expect(r.status in (200, 416) and r.body == b"", f"empty file: {r}")
    return "several ranges → the whole file (200); " + ", ".join(out[:4]) + ", …"


@check("Range on the 40 MB file: a middle slice, the last 500 bytes, from an offset to the end")
def big_ranges(srv, files, big):
    n = len(big)
    for rng, a, b in [("bytes=20000000-20000099", 20000000, 20000099), ("bytes=-500", n - 500, n - 1),
                      (f"bytes={n - 70000}-", n - 70000, n - 1)]:
        r = ranged(srv.port, "/models/big.gguf", rng)
        expect(r.status == 206 and r.h("content-range") == f"bytes {a}-{b}/{n}" and r.body == big[a:b + 1],
               f"{rng}: {r.status} {r.h('content-range')}")
    r = get(srv.port, "/models/big.gguf")
    expect(r.status == 200 and hashlib.sha256(r.body).digest() == hashlib.sha256(big).digest(), "whole file")


@check("If-Range: a matching ETag or date gives the range, another (or a weak tag) the whole file")
def if_range(srv, files):
    data = files["r.bin"]
    r0 = get(srv.port, "/r.bin")
    etag, lm = r0.h("etag"), r0.h("last-modified")
    older = email.utils.formatdate(time.time() - 7200, usegmt=True)
    for cond, partial in [(etag, True), ('"not-it"', False), ("W/" + etag, False), (lm, True), (older, False)]:
        r = ranged(srv.port, "/r.bin", "bytes=0-9", extra=[("If-Range", cond)])
        if partial:
            expect(r.status == 206 and r.body == data[:10], f"If-Range {cond}: {r}")
        else:
            expect(r.status == 200 and r.body == data, f"If-Range {cond}: {r}")
    r = ranged(srv.port, "/r.bin", f"bytes={len(data)}-", extra=[("If-Range", '"not-it"')])
    expect(r.status == 200, f"unsatisfiable range with a stale If-Range: {r}")


@check("conditional GETs: If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since")
def conditionals(srv, files):
    r0 = get(srv.port, "/small.txt")
    etag, lm = r0.h("etag"), r0.h("last-modified")
    older = email.utils.formatdate(time.time() - 7200, usegmt=True)
    cases = [
        ([("If-None-Match", etag)], 304), ([("If-None-Match", "*")], 304), ([("If-None-Match", '"x"')], 200),
        ([("If-None-Match", f'"x", {etag}')], 304), ([("If-None-Match", "W/" + etag)], 304),
        ([("If-Modified-Since", lm)], 304), ([("If-Modified-Since", older)], 200),
        ([("If-Modified-Since", "not a date")], 200),
        ([("If-None-Match", '"x"'), ("If-Modified-Since", lm)], 200),  # If-None-Match wins (§13.2.2)
        ([("If-Match", '"x"')], 412), ([("If-Match", etag)], 200), ([("If-Match", "*")], 200),
        ([("If-Unmodified-Since", older)], 412), ([("If-Unmodified-Since", lm)], 200),
    ]
    for headers, status in cases:
        r = get(srv.port, "/small.txt", headers=headers)
        expect(r.status == status, f"{headers}: {r}")
        if status == 304:
            expect(r.body == b"" and r.h("etag") == etag and r.h("cache-control") == "no-cache", f"304: {r}")
        if status == 200:
            expect(r.body == files["small.txt"], f"{headers}: body")
    r = get(srv.port, "/small.txt", "HEAD", [("If-None-Match", etag)])
    expect(r.status == 304, f"HEAD If-None-Match: {r}")
    return f"If-Match mismatch → 412; {len(cases)} cases"


@check("no state leaks across requests on one connection")
def no_leaks(srv, files):
    c = Conn(srv.port)
    etag = c.ask("/r.bin").h("etag")
    seq = [("/r.bin", [("Range", "bytes=0-0")], 206), ("/r.bin", [], 200),
           ("/r.bin", [("If-None-Match", etag)], 304), ("/r.bin", [], 200),
           ("/nope", [], 404), ("/r.bin", [], 200), ("/", [("Content-Length", "3")], None), ("/r.bin", [], 200)]
    for path, headers, status in seq:
        if status is None:  # a GET with a 3-byte body that is not a request
            c.send(request_bytes(path, headers=headers, body=b"xyz"))
            r = read_response(c.f)
            expect(r.status == 200, f"GET with a body: {r}")
            continue
        r = c.ask(path, headers=headers)
        expect(r and r.status == status, f"{path} {headers}: {r}")
        if status == 200:
            expect(r.body == files["r.bin"] and r.h("content-range") is None, "a full response after a range")
    c.close()


@check("path traversal, encoded separators, NUL and symlinks out of the folder: 400/404, nothing outside")
def traversal(srv, files):
    paths = ["/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/sub/..%2f..%2fsecret.txt",
             "/..%5csecret.txt", "/sub/../../secret.txt", "/%00", "/small.txt%00.html", "/sub%2f..%2f..%2fsecret.txt",
             "//../secret.txt", "/./../secret.txt", "/escape.txt", "/up/secret.txt",
             "/%zz", "/%c0%ae%c0%ae/secret.txt", "http://127.0.0.1/../secret.txt"]
    seen = []
    for p in paths:
        c = Conn(srv.port)
        c.send(f"GET {p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        r = read_response(c.f)
        c.close()
        expect(r.status in (400, 404), f"{p}: {r}")
        expect(SECRET not in r.body and b"small file" not in r.body, f"{p}: leaked")
        seen.append(r.status)
    t = time.monotonic()
    r = get(srv.port, "/fifo.txt")
    expect(r.status == 404 and time.monotonic() - t < 5, f"a FIFO: {r}")
    # what counts is where a symlink ends: inside the folder it is served.
    for p in ["/alias.txt", "/up/site/small.txt"]:
        r = get(srv.port, p)
        expect(r.status == 200 and r.body == files["small.txt"], f"{p}, inside the folder: {r}")
    return f"{seen.count(400)}×400, {seen.count(404)}×404; symlinks that end inside are served"


@check("security headers: nosniff and the CSP on every response, Allow on 405, standard reasons, no isolation by default")
def security_headers(srv, files):
    etag = get(srv.port, "/small.txt").h("etag")
    cases = [("/", "GET", []), ("/nope", "GET", []), ("/", "POST", [("Content-Length", "0")]),
             ("/small.txt", "GET", [("If-None-Match", etag)]), ("/r.bin", "GET", [("Range", "bytes=99999-")]),
             ("/%zz", "GET", []), ("/app.js", "GET", []), ("/unembed_bg.wasm", "GET", [])]
    csp = None
    for path, method, headers in cases:
        r = get(srv.port, path, method, headers)
        expect(r.h("x-content-type-options") == "nosniff", f"{r.status}: nosniff missing")
        csp = r.h("content-security-policy") or ""
        for need in CSP_NEEDS:
            expect(need in csp, f"{r.status}: CSP lacks {need}: {csp}")
        directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
        for d, values in directives.items():
            # inline style attributes only (plotters measures text with one); no inline script.
            expect("'unsafe-inline'" not in values or d == "style-src-attr", f"CSP: {d} {values}")
            expect("'unsafe-eval'" not in values, f"CSP: {d} {values}")
        expect(not re.search(r"https?:|\*", csp), f"CSP names other hosts: {csp}")
        expect(r.reason == REASONS.get(r.status, http.client.responses[r.status]), f"reason {r.reason!r} for {r.status}")
        expect(r.h("cross-origin-opener-policy") is None and r.h("cross-origin-embedder-policy") is None,
               "isolation headers without --isolate")
        if r.status == 405:
            expect(r.h("allow") == "GET, HEAD", f"Allow: {r.h('allow')}")
    return f"CSP: {csp}"


def isolate_check(binary, root):
    @check("--isolate adds Cross-Origin-Opener-Policy, -Embedder-Policy and -Resource-Policy")
    def isolate(srv):
        r = get(srv.port, "/")
        expect(r.h("cross-origin-opener-policy") == "same-origin", f"{r}")
        expect(r.h("cross-origin-embedder-policy") == "require-corp", f"{r}")
        expect(r.h("cross-origin-resource-policy") == "same-origin", f"{r}")
    try:
        srv = Server(binary, root, "--isolate")
    except SystemExit as e:
        RESULTS.append(False)
        print(f"FAIL --isolate: {e}", flush=True)
        return
    try:
        isolate(srv)
    finally:
        srv.stop()


def stalled_download(port):
    """a connection that asks for the 40 MB file and does not read it: busy until cut off."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.sendall(request_bytes("/models/big.gguf"))
    return s


def busy_check(binary, root):
    @check("every connection busy (a cap of 4, four stalled downloads): a new request waits, then is answered")
    def all_busy(srv):
        stalled = [stalled_download(srv.port) for _ in range(4)]
        time.sleep(0.5)
        fds = srv.fds()
        t = time.monotonic()
        c = Conn(srv.port, timeout=WRITE_TIMEOUT + CLOSE_BOUND)
        r = c.ask("/small.txt", headers=[("Connection", "close")])
        waited = time.monotonic() - t
        c.close()
        for x in stalled:
            x.close()
        expect(r is not None and r.status == 200, f"{r}")
        expect(fds <= 4 + 16, f"{fds} descriptors with 4 connections")
        return f"answered after {waited:.1f} s, when the write timeout freed a connection"
    srv = Server(binary, root, UNEMBED_SERVE_MAX_CONNECTIONS="4")
    try:
        all_busy(srv)
    finally:
        srv.stop()


@check("after all that: the server is alive and a normal request is answered")
def still_there(srv, files):
    expect(srv.alive(), "the server exited")
    r = get(srv.port, "/")
    expect(r.status == 200 and r.body == files["index.html"], f"{r}")
    return f"RSS {srv.rss() / 1024:.1f} MiB, {srv.status('Threads')} threads"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="target/release/unembed")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    with tempfile.TemporaryDirectory(prefix="unembed-serve-check-") as base:
        root, files, big = make_site(base)
        srv = Server(binary, root)
        try:
            print(f"# {binary} serve {root} on port {srv.port}; header timeout {HEADER_TIMEOUT} s, "
                  f"write timeout {WRITE_TIMEOUT} s; RSS {srv.rss() / 1024:.1f} MiB", flush=True)
            normal(srv, files)
            types(srv, files)
            folders(srv, files)
            head(srv, files)
            smuggle_post(srv, files)
            smuggle_chunked(srv, files)
            smuggle_get_body(srv, files)
            smuggle_both(srv, files)
            connection_close(srv, files)
            http10(srv, files)
            ranges(srv, files)
            big_ranges(srv, files, big)
            if_range(srv, files)
            conditionals(srv, files)
            no_leaks(srv, files)
            traversal(srv, files)
            security_headers(srv, files)
            huge_line(srv, files)
            big_headers(srv, files)
            half_sent(srv, files)
            idle(srv, files)
            flood(srv, files)
            slow_reader(srv, files)
            still_there(srv, files)
        finally:
            srv.stop()
        isolate_check(binary, root)
        busy_check(binary, root)
    for what, (base, peak, after) in MEMORY.items():
        print(f"# memory, {what}: RSS {base / 1024:.1f} MiB before, peak {peak / 1024:.1f} MiB, "
              f"{after / 1024:.1f} MiB after")
    passed = sum(RESULTS)
    failed = len(RESULTS) - passed
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
