//! helpers for the CLI tests: a temp dir, a seeded fill, file builders, and binary runners.
//! (each test file uses some of them.)
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use half::{bf16, f16};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use unembed::core::files::gguf::{self, Value as GgufValue};
use unembed::core::fixtures::GgufBuilder;
use unembed::core::index::TensorIndex;
use unembed::core::quant::matrix::Q8Matrix;
use unembed::core::quant::GgmlType;
use unembed::core::source::SliceSource;
use unembed::core::vocab::VocabKind;

pub const ENCODER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/gpt2-encoder.json");
pub const GPT2_VOCAB: usize = 50257;
pub const D: usize = 64;
pub const PARIS: u64 = 6342;
pub const NEWLINE: u64 = 198;

// ---- temp dir ----

/// a fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("unembed-cli-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        std::fs::write(self.join(name), bytes).expect("write temp file");
    }
    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.join(name)).expect("read temp file")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---- deterministic fill ----

/// 64-bit LCG (Knuth's MMIX constants); the high bits are used.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 32) as u32
    }
    /// uniform in [-1, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 / (1u32 << 23) as f32 - 1.0
    }
    pub fn fill(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.unit()).collect()
    }
}

// ---- vocabulary ----

/// the GPT-2 vocabulary, indexed by id.
pub fn gpt2_tokens() -> &'static [String] {
    static T: OnceLock<Vec<String>> = OnceLock::new();
    T.get_or_init(|| {
        let text = std::fs::read_to_string(ENCODER).expect("tests/data/gpt2-encoder.json");
        let map: Map<String, Value> = serde_json::from_str(&text).expect("encoder json");
        let mut v = vec![String::new(); map.len()];
        for (tok, id) in map {
            v[id.as_u64().expect("id") as usize] = tok;
        }
        assert_eq!(v.len(), GPT2_VOCAB);
        v
    })
}

/// a minimal hf tokenizer.json around the GPT-2 encoder.
pub fn gpt2_tokenizer_json() -> String {
    let enc = std::fs::read_to_string(ENCODER).expect("encoder");
    format!(
        r#"{{"model": {{"type": "BPE", "vocab": {}}}, "pre_tokenizer": {{"type": "ByteLevel"}}}}"#,
        enc.trim()
    )
}

// ---- element encodings ----

/// little-endian bytes of `v` as a safetensors dtype ("F32", "F16", "BF16").
pub fn encode(v: &[f32], dtype: &str) -> Vec<u8> {
    match dtype {
        "F32" => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        "F16" => v
            .iter()
            .flat_map(|&x| f16::from_f32(x).to_bits().to_le_bytes())
            .collect(),
        "BF16" => v
            .iter()
            .flat_map(|&x| bf16::from_f32(x).to_bits().to_le_bytes())
            .collect(),
        other => panic!("dtype {other}"),
    }
}

/// what the reader sees after `encode`: the values rounded to the dtype.
pub fn rounded(v: &[f32], dtype: &str) -> Vec<f32> {
    match dtype {
        "F32" => v.to_vec(),
        "F16" => v.iter().map(|&x| f16::from_f32(x).to_f32()).collect(),
        "BF16" => v.iter().map(|&x| bf16::from_f32(x).to_f32()).collect(),
        other => panic!("dtype {other}"),
    }
}

/// the Q8_0 bytes a converter should write for these values.
pub fn q8_bytes(v: &[f32], rows: usize, cols: usize) -> Vec<u8> {
    Q8Matrix::quantize(v, rows, cols)
        .expect("quantize")
        .to_ggml_bytes()
}

/// ggml type → safetensors-style dtype name (float types only).
pub fn ggml_dtype(ty: GgmlType) -> &'static str {
    match ty {
        GgmlType::F32 => "F32",
        GgmlType::F16 => "F16",
        GgmlType::BF16 => "BF16",
        other => panic!("ggml type {other:?}"),
    }
}

/// raw Q8_0 blocks with arbitrary finite f16 scales (incl. −0, subnormal, max) and every int8.
pub fn raw_q8(rows: usize, cols: usize, rng: &mut Lcg) -> Vec<u8> {
    let blocks = rows * cols / 32;
    let mut out = Vec::with_capacity(blocks * 34);
    for k in 0..blocks {
        let bits: u16 = match k {
            0 => 0x8000, // −0
            1 => 0x0001, // smallest subnormal
            2 => 0x7bff, // 65504
            3 => 0x0000,
            _ => loop {
                let b = rng.next_u32() as u16;
                if b & 0x7c00 != 0x7c00 {
                    break b;
                }
            },
        };
        out.extend_from_slice(&bits.to_le_bytes());
        out.extend((0..32).map(|_| rng.next_u32() as u8));
    }
    out
}

// ---- file builders ----

/// a safetensors file: tensors `(name, dtype, shape, bytes)` laid out in order.
pub fn safetensors(tensors: &[(&str, &str, &[u64], &[u8])]) -> Vec<u8> {
    let mut header = Map::new();
    header.insert("__metadata__".into(), json!({"format": "pt"}));
    let mut off = 0usize;
    for (name, dtype, shape, data) in tensors {
        header.insert(
            (*name).into(),
            json!({"dtype": dtype, "shape": shape, "data_offsets": [off, off + data.len()]}),
        );
        off += data.len();
    }
    let mut text = Value::Object(header).to_string();
    while text.len() % 8 != 0 {
        text.push(' ');
    }
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    for (.., data) in tensors {
        out.extend_from_slice(data);
    }
    out
}

/// a GPT-2 layout safetensors model: wte [50257, 64] in `dtype`, wpe, a layer norm, and
/// optionally lm_head (given as f32 values, written in the same dtype).
pub fn gpt2_safetensors(wte: &[f32], dtype: &str, lm_head: Option<&[f32]>) -> Vec<u8> {
    let mut rng = Lcg::new(99);
    let wpe = encode(&rng.fill(1024 * D), "F32");
    let ln = encode(&vec![1.0; D], "F32");
    let wte = encode(wte, dtype);
    let head = lm_head.map(|h| encode(h, dtype));
    let vd = [GPT2_VOCAB as u64, D as u64];
    let mut t: Vec<(&str, &str, &[u64], &[u8])> = vec![
        ("wte.weight", dtype, &vd, &wte),
        ("wpe.weight", "F32", &[1024, D as u64], &wpe),
        ("h.0.ln_1.weight", "F32", &[D as u64], &ln),
    ];
    if let Some(h) = &head {
        t.push(("lm_head.weight", dtype, &vd, h));
    }
    safetensors(&t)
}

/// a GGUF with the first `rows` GPT-2 tokens, `token_embd.weight` and optional
/// `output.weight`, each `(ggml type, bytes)` with row length 64.
pub fn small_gguf(
    rows: usize,
    embd: (GgmlType, &[u8]),
    output: Option<(GgmlType, &[u8])>,
) -> Vec<u8> {
    let mut b = GgufBuilder::new()
        .meta("general.architecture", GgufValue::Str("gpt2".into()))
        .meta("general.name", GgufValue::Str("tiny-gpt2".into()))
        .meta("general.file_type", GgufValue::U32(7))
        .tokens(VocabKind::ByteLevel, gpt2_tokens()[..rows].to_vec())
        .meta(
            "tokenizer.ggml.merges",
            GgufValue::Array(8, vec![GgufValue::Str("Ġ t".into())]),
        )
        .tensor(
            "token_embd.weight",
            vec![D as u64, rows as u64],
            embd.0,
            embd.1.to_vec(),
        );
    if let Some((ty, data)) = output {
        b = b.tensor(
            "output.weight",
            vec![D as u64, rows as u64],
            ty,
            data.to_vec(),
        );
    }
    b.build()
}

pub const SMALL_ROWS: usize = 300;

/// the values of the small query fixture: uniform rows, and rows 298 and 299 equal (a tie).
pub fn small_values() -> Vec<f32> {
    let mut v = Lcg::new(7).fill(SMALL_ROWS * D);
    let (a, b) = v.split_at_mut(299 * D);
    b.copy_from_slice(&a[298 * D..]);
    v
}

/// the small query fixture as a Q8_0 GGUF, and its dequantized rows.
pub fn small_model() -> (Vec<u8>, Q8Matrix) {
    let q = Q8Matrix::quantize(&small_values(), SMALL_ROWS, D).expect("quantize");
    let bytes = small_gguf(SMALL_ROWS, (GgmlType::Q8_0, &q.to_ggml_bytes()), None);
    (bytes, q)
}

// ---- reading results ----

/// the bytes of a tensor in a GGUF file.
pub fn gguf_tensor(file: &[u8], name: &str) -> Vec<u8> {
    let h = gguf::parse_header(&SliceSource::whole(file)).expect("parse gguf");
    let t = TensorIndex::from_gguf(&h)
        .expect("tensor index")
        .matrix(name)
        .expect("tensor ref")
        .unwrap_or_else(|| panic!("no tensor {name}"));
    file[t.offset as usize..(t.offset + t.nbytes) as usize].to_vec()
}

pub fn gguf_header(file: &[u8]) -> gguf::Header {
    gguf::parse_header(&SliceSource::whole(file)).expect("parse gguf")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn f(v: &Value) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("expected a number, got {v}"))
}

// ---- running the binary ----

pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// runs `unembed args…` in `dir`.
pub fn run(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_unembed"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("spawn unembed");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// stdout of a run that must succeed.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let r = run(dir, args);
    assert_eq!(
        r.code,
        Some(0),
        "unembed {args:?} failed\nstdout: {}\nstderr: {}",
        r.stdout,
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{args:?}: {}", r.stderr);
    r.stdout
}

/// stdout of a successful run, as json.
pub fn json(dir: &Path, args: &[&str]) -> Value {
    let out = ok(dir, args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("unembed {args:?}: {e}\n{out}"))
}

/// the error line of a run that must fail cleanly: exit 1, nothing on stdout, `error: …` last
/// on stderr (first too, except `convert`, which announces the file it reads), no panic.
pub fn fails(dir: &Path, args: &[&str]) -> String {
    let r = run(dir, args);
    let ctx = format!(
        "unembed {args:?}\ncode {:?}\nstdout: {}\nstderr: {}",
        r.code, r.stdout, r.stderr
    );
    assert_eq!(r.code, Some(1), "{ctx}");
    assert!(
        !r.stderr.contains("panicked") && !r.stderr.contains("RUST_BACKTRACE"),
        "{ctx}"
    );
    assert!(r.stdout.is_empty(), "{ctx}");
    let last = r.stderr.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("error: "), "{ctx}");
    if args.first() != Some(&"convert") {
        assert!(r.stderr.starts_with("error: "), "{ctx}");
    }
    last.to_string()
}

// ---- shared checks ----

/// `query FILE --token " Paris" --cosine`: the token's own row is its best cosine match.
pub fn assert_paris_is_own_best_match(dir: &TempDir, file: &str) {
    let q = json(
        dir.path(),
        &[
            "query", file, "--token", " Paris", "--json", "--top", "5", "--cosine",
        ],
    );
    assert_eq!(q["ranked_by"], "cosine");
    let top = q["top"].as_array().unwrap();
    assert_eq!(top.len(), 5);
    assert_eq!(top[0]["id"], PARIS);
    assert_eq!(top[0]["text"], " Paris");
    assert_eq!(top[0]["token"], "ĠParis");
    // 1 − O(1e-8): row norms are kept as f32.
    assert!((f(&top[0]["cos"]) - 1.0).abs() < 1e-6, "{q}");
    assert!(f(&top[1]["cos"]) < 0.9, "{q}");
    // h is the row itself: ‖h‖ = ‖w_Paris‖ (tied).
    assert!((f(&q["h_norm"]) - f(&top[0]["norm"])).abs() < 1e-4 * f(&q["h_norm"]));
}

pub fn manifest_entry<'a>(m: &'a Value, file: &str) -> &'a Value {
    m["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["file"] == file)
        .unwrap_or_else(|| panic!("no {file} in {m}"))
}

/// (id, prob) of every entry of a query's top list (`--top` = vocabulary size: all of them).
pub fn all_entries(q: &Value) -> Vec<(usize, f64)> {
    let top = q["top"].as_array().unwrap();
    top.iter()
        .map(|e| (e["id"].as_u64().unwrap() as usize, f(&e["prob"])))
        .collect()
}

/// a temp dir holding `q.gguf`: the small Q8_0 query fixture (first 300 GPT-2 tokens,
/// rows 298 = 299), with its dequantized matrix.
pub fn small_fixture(tag: &str) -> (TempDir, Q8Matrix) {
    let dir = TempDir::new(tag);
    let (bytes, q) = small_model();
    dir.write("q.gguf", bytes);
    (dir, q)
}

pub fn write_h(dir: &TempDir, name: &str, h: &[f32]) {
    let v: Vec<f64> = h.iter().map(|&x| x as f64).collect();
    dir.write(name, serde_json::to_string(&v).unwrap());
}
