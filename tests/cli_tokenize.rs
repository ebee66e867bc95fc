//! `unembed tokenize` on the small byte-level BPE fixture (`fixtures::tiny_bpe_model_bytes`,
//! shaped like SmolLM2's vocabulary): the table, `--json`, `--batch`, `--no-special`, and its
//! errors. agreement with llama.cpp on the real model is `tests/tokenizer/check.py`.

mod common;

use common::*;
use serde_json::json;
use unembed::core::fixtures::tiny_bpe_model_bytes;

fn fixture(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    dir.write("bpe.gguf", tiny_bpe_model_bytes());
    dir
}

#[test]
fn json_ids_and_raw_tokens() {
    let dir = fixture("tok-json");
    let v = json(dir.path(), &["tokenize", "bpe.gguf", "the world", "--json"]);
    assert_eq!(v["tokens"], json!(["t", "he", "Ġworld"]));
    assert_eq!(v["ids"].as_array().unwrap().len(), 3);
    // special-token text is parsed by default, and kept as text with --no-special
    let v = json(
        dir.path(),
        &["tokenize", "bpe.gguf", "<|im_start|>hi", "--json"],
    );
    assert_eq!(v["ids"][0], 1);
    assert_eq!(v["tokens"][0], "<|im_start|>");
    let v = json(
        dir.path(),
        &[
            "tokenize",
            "bpe.gguf",
            "<|im_start|>hi",
            "--json",
            "--no-special",
        ],
    );
    assert_eq!(v["tokens"][0], "<|");
    // no BOS: the model does not ask for one; the empty text has no tokens
    let v = json(dir.path(), &["tokenize", "bpe.gguf", "", "--json"]);
    assert_eq!(v, json!({"ids": [], "tokens": []}));
    // text that looks like a flag goes through --text
    let v = json(
        dir.path(),
        &["tokenize", "bpe.gguf", "--text=--x", "--json"],
    );
    assert_eq!(v["tokens"], json!(["-", "-", "x"]));
}

#[test]
fn batch_keeps_order_and_mode() {
    let dir = fixture("tok-batch");
    dir.write("s.json", json!(["a", "", "<|im_end|>", "12"]).to_string());
    let v = json(dir.path(), &["tokenize", "bpe.gguf", "--batch", "s.json"]);
    let a = v.as_array().unwrap();
    assert_eq!(a.len(), 4);
    assert_eq!(a[1], json!({"ids": [], "tokens": []}));
    assert_eq!(a[2]["ids"], json!([2]));
    assert_eq!(a[3]["tokens"], json!(["1", "2"]));
    let v = json(
        dir.path(),
        &["tokenize", "bpe.gguf", "--batch", "s.json", "--no-special"],
    );
    assert!(v[2]["ids"].as_array().unwrap().len() > 1);
}

#[test]
fn table_shows_escaped_tokens_and_end_of_generation() {
    let dir = fixture("tok-table");
    let out = ok(
        dir.path(),
        &["tokenize", "bpe.gguf", "é\u{202E}\n<|im_end|>"],
    );
    assert!(out.starts_with("6 tokens; no BOS"), "{out}");
    assert!(out.contains("\"Ã©\"") && out.contains("\"é\""), "{out}");
    // the bidi override (three byte tokens here) and the newline reach the terminal escaped
    assert!(!out.contains('\u{202E}'), "{out}");
    assert!(
        out.contains("\"\\xE2\"") && out.contains("\"\\xAE\""),
        "{out}"
    );
    assert!(out.contains("\"\\n\""), "{out}");
    assert!(out.contains("(end of generation)"), "{out}");
    assert!(out.trim_end().ends_with(']'), "{out}");
}

#[test]
fn errors() {
    let dir = fixture("tok-errors");
    let e = fails(dir.path(), &["tokenize", "bpe.gguf"]);
    assert!(e.contains("give the text"), "{e}");
    let e = fails(dir.path(), &["tokenize"]);
    assert!(e.contains("model file"), "{e}");
    let e = fails(dir.path(), &["tokenize", "nope.gguf", "x"]);
    assert!(e.contains("nope.gguf"), "{e}");
    let e = fails(dir.path(), &["tokenize", "bpe.gguf", "a", "b"]);
    assert!(e.contains("one TEXT"), "{e}");
    dir.write("bad.json", "{\"a\": 1}");
    let e = fails(dir.path(), &["tokenize", "bpe.gguf", "--batch", "bad.json"]);
    assert!(e.contains("array of strings"), "{e}");
    let e = fails(
        dir.path(),
        &["tokenize", "bpe.gguf", "x", "--batch", "bad.json"],
    );
    assert!(e.contains("give no TEXT"), "{e}");
    // the served file keeps the tokens but not the merges: a clear error, not a wrong answer
    ok(dir.path(), &["convert", "bpe.gguf", "-o", "served.gguf"]);
    let e = fails(dir.path(), &["tokenize", "served.gguf", "x"]);
    assert!(e.contains("tokenizer.ggml.merges"), "{e}");
    // a file without any tokenizer metadata
    let (small, _) = small_model();
    dir.write("small.gguf", small);
    let e = fails(dir.path(), &["tokenize", "small.gguf", "x"]);
    assert!(e.contains("tokenizer.ggml"), "{e}");
}

#[cfg(unix)]
#[test]
fn an_argument_that_is_not_utf8_is_an_error() {
    use std::os::unix::ffi::OsStrExt;
    let dir = fixture("tok-utf8");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_unembed"))
        .arg("tokenize")
        .arg("bpe.gguf")
        .arg(std::ffi::OsStr::from_bytes(b"a\xFFb"))
        .current_dir(dir.path())
        .output()
        .expect("spawn unembed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error: ") && err.contains("argument 3 is not valid UTF-8"),
        "{err}"
    );
}

/// the time to tokenize 10,000 characters with a real model's tokenizer:
/// `UNEMBED_GGUF=path/to/model.gguf cargo test --release --test cli_tokenize -- --ignored --nocapture`
#[cfg(not(target_arch = "wasm32"))]
#[test]
#[ignore]
fn speed_on_a_real_model() {
    use unembed::core::plan::read_header;
    use unembed::core::source::FileSource;
    use unembed::core::tokenize::Tokenizer;
    let Some(path) = std::env::var_os("UNEMBED_GGUF") else {
        panic!("set UNEMBED_GGUF to a GGUF model with a BPE tokenizer");
    };
    let t0 = std::time::Instant::now();
    let file = read_header(&FileSource::open(std::path::Path::new(&path)).unwrap()).unwrap();
    let tok = Tokenizer::from_metadata(&file.metadata).unwrap();
    let load = t0.elapsed();
    let base = "The capital of France is Paris. Hà Nội là thủ đô của Việt Nam. \
                fn main() { let x = 42; }\n\t1234567890 😀👍🏽 <|im_start|>user\n";
    let mut text = String::new();
    while text.chars().count() < 10_000 {
        text.push_str(base);
    }
    let text: String = text.chars().take(10_000).collect();
    let mut best = f64::INFINITY;
    let mut n = 0;
    for _ in 0..20 {
        let t = std::time::Instant::now();
        n = tok.encode(&text, true, true).unwrap().len();
        best = best.min(t.elapsed().as_secs_f64());
    }
    let words = "a".repeat(10_000);
    let t = std::time::Instant::now();
    let m = tok.encode(&words, true, true).unwrap().len();
    let one_word = t.elapsed().as_secs_f64();
    println!(
        "bos {:?}, eos {:?}, adds BOS {}, end of generation {:?}",
        tok.bos(),
        tok.eos(),
        tok.adds_bos(),
        tok.eog()
    );
    println!(
        "load (header + tokenizer): {:.0} ms; 10,000 characters → {n} tokens in {:.2} ms (best of 20); \
         one 10,000-letter word → {m} tokens in {:.2} ms",
        load.as_secs_f64() * 1e3,
        best * 1e3,
        one_word * 1e3
    );
}
