//! bad input through the `unembed` binary: exit 1, `error: …` on stderr, never a panic; and regressions, each of which once failed.

mod common;

use common::*;
use unembed::core::quant::GgmlType;

#[test]
fn error_missing_file() {
    let (dir, _) = small_fixture("e-missing");
    for args in [
        &["inspect", "nope.gguf"][..],
        &["query", "nope.gguf", "--id", "1"],
        &["convert", "nope.gguf", "-o", "out.gguf"],
        &["spectrum", "nope.safetensors"],
        &["inspect", "q.gguf", "--tokenizer", "nope.json"],
        &["tokenize", "nope.gguf", "text"],
    ] {
        let e = fails(dir.path(), args);
        assert!(e.contains("nope"), "{e}");
    }
    assert!(!dir.join("out.gguf").exists());
}

#[test]
fn error_not_a_model() {
    let dir = TempDir::new("e-random");
    let mut rng = Lcg::new(11);
    let mut b: Vec<u8> = (0..4096).map(|_| rng.next_u32() as u8).collect();
    b[8] = b'x';
    dir.write("random.bin", &b);
    dir.write("empty.gguf", b"");
    dir.write("json.safetensors", b"{\"a\": 1}");
    for file in ["random.bin", "empty.gguf", "json.safetensors"] {
        let e = fails(dir.path(), &["inspect", file]);
        assert!(e.contains("neither") || e.contains("format"), "{e}");
        fails(dir.path(), &["query", file, "--id", "0"]);
        fails(dir.path(), &["convert", file, "-o", "out.gguf"]);
    }
}

#[test]
fn error_truncated_gguf() {
    let dir = TempDir::new("e-trunc");
    let (full, _) = small_model();
    let h = gguf_header(&full);
    let data = h.data_start as usize;
    assert!(full.len() > data + 1000);
    let cuts = [
        0,
        3,
        4,
        7,
        23,
        60,
        data / 2,
        data - 1,
        data + 500,
        full.len() - 1,
    ];
    for n in cuts {
        dir.write("t.gguf", &full[..n]);
        let e = fails(dir.path(), &["inspect", "t.gguf"]);
        if n >= 4 {
            assert!(
                e.contains("truncated") || e.contains("cannot fit"),
                "cut {n}: {e}"
            );
        }
        fails(dir.path(), &["query", "t.gguf", "--id", "0"]);
    }
    dir.write("t.gguf", &full[..data + 500]);
    fails(dir.path(), &["convert", "t.gguf", "-o", "out.gguf"]);
}

#[test]
fn error_gguf_version_9() {
    let dir = TempDir::new("e-version");
    let (mut b, _) = small_model();
    b[4..8].copy_from_slice(&9u32.to_le_bytes());
    dir.write("v9.gguf", b);
    let e = fails(dir.path(), &["inspect", "v9.gguf"]);
    assert!(e.contains("version 9"), "{e}");
    fails(dir.path(), &["convert", "v9.gguf", "-o", "out.gguf"]);
}

#[test]
fn error_safetensors_header_longer_than_file() {
    let dir = TempDir::new("e-sthdr");
    let e = encode(&Lcg::new(12).fill(10 * D), "F32");
    let mut b = safetensors(&[("wte.weight", "F32", &[10, D as u64], &e)]);
    let len = b.len() as u64;
    b[..8].copy_from_slice(&len.to_le_bytes());
    dir.write("m.safetensors", b);
    let e = fails(dir.path(), &["inspect", "m.safetensors"]);
    assert!(
        e.contains("only") && e.contains("follow its 8-byte length"),
        "{e}"
    );
    fails(dir.path(), &["query", "m.safetensors", "--id", "0"]);
}

#[test]
fn error_bad_queries() {
    let (dir, _) = small_fixture("e-query");
    write_h(&dir, "short.json", &[1.0, 2.0, 3.0]);
    let mut big = vec!["0".to_string(); D];
    big[0] = "1e39".into(); // overflows f32 to +∞
    dir.write("big.json", format!("[{}]", big.join(",")));
    dir.write("notjson.json", "[1, 2,");
    dir.write("batch.json", r#"[{"id": 1}, {"token": "zzzqqq"}]"#);
    let q = |extra: &[&str]| {
        let mut a = vec!["query", "q.gguf"];
        a.extend_from_slice(extra);
        fails(dir.path(), &a)
    };
    assert!(q(&["--token", "zzzqqq"]).contains("zzzqqq"));
    assert!(q(&["--id", "999999"]).contains("999999"));
    q(&["--expr", "a +"]);
    q(&["--expr", "a * b"]);
    q(&["--expr", "\"unclosed"]);
    assert!(q(&["--h", "short.json"]).contains("3"));
    let e = q(&["--h", "big.json"]);
    assert!(e.contains("inf"), "{e}");
    q(&["--h", "notjson.json"]);
    q(&["--h", "missing.json"]);
    assert!(q(&["--id", "1", "--temperature", "-1"]).contains("temperature"));
    q(&["--id", "1", "--temperature", "NaN"]);
    q(&["--id", "1", "--temperature", "inf"]);
    q(&["--id", "1", "--target", "zzzqqq"]);
    q(&["--id", "1", "--token", " a"]);
    q(&[]);
    assert!(q(&["--batch", "batch.json"]).contains("query 1"));
    q(&["--id", "-1"]);
}

#[test]
fn error_bad_command_line() {
    let (dir, _) = small_fixture("e-cli");
    let e = fails(
        dir.path(),
        &["query", "q.gguf", "--id", "1", "--frobnicate"],
    );
    assert!(e.contains("--frobnicate"), "{e}");
    fails(dir.path(), &["inspect", "q.gguf", "--frobnicate"]);
    fails(
        dir.path(),
        &["convert", "q.gguf", "-o", "x.gguf", "--frobnicate"],
    );
    let e = fails(dir.path(), &["frobnicate", "q.gguf"]);
    assert!(e.contains("unknown command"), "{e}");
    fails(dir.path(), &["convert", "q.gguf"]);
    fails(dir.path(), &["query", "q.gguf", "--id"]);
    fails(dir.path(), &["query", "q.gguf", "--id", "abc"]);
    fails(dir.path(), &["inspect", "q.gguf", "q.gguf"]);
    fails(dir.path(), &["inspect"]);
    assert!(!dir.join("x.gguf").exists());
}

#[test]
fn error_bad_matrices() {
    use unembed::core::files::gguf::{write, TensorOut, Value as V};
    let dir = TempDir::new("e-matrix");
    let st = |name: &str, dtype: &str, shape: &[u64], data: &[u8]| {
        dir.write(name, safetensors(&[("wte.weight", dtype, shape, data)]));
    };
    st(
        "d48.safetensors",
        "F32",
        &[10, 48],
        &encode(&[0.5; 480], "F32"),
    );
    let mut v = Lcg::new(13).fill(10 * D);
    v[100] = f32::INFINITY;
    st(
        "inf.safetensors",
        "F32",
        &[10, D as u64],
        &encode(&v, "F32"),
    );
    st("i8.safetensors", "I8", &[10, D as u64], &[0; 640]);
    st("3d.safetensors", "F32", &[2, 5, D as u64], &[0; 2560]);
    dir.write(
        "none.safetensors",
        safetensors(&[("wpe.weight", "F32", &[2, 2], &[0; 16])]),
    );
    // GGUF: an infinite Q8_0 scale, a type we do not read (Q8_1, an activation format), too
    // few tokens, no embedding.
    let mut q = raw_q8(4, D, &mut Lcg::new(14));
    q[34..36].copy_from_slice(&0x7c00u16.to_le_bytes());
    dir.write("infscale.gguf", small_gguf(4, (GgmlType::Q8_0, &q), None));
    dir.write(
        "q81.gguf",
        small_gguf(4, (GgmlType::Q8_1, &[0; 4 * 2 * 36]), None),
    );
    let toks = V::Array(8, vec![V::Str("a".into()), V::Str("b".into())]);
    let t = |name: &str| TensorOut {
        name: name.into(),
        dims: vec![D as u64, 3],
        ggml_type: GgmlType::F32,
        data: vec![0; 3 * D * 4],
    };
    let md = vec![("tokenizer.ggml.tokens".to_string(), toks)];
    dir.write("fewtokens.gguf", write(&md, &[t("token_embd.weight")]));
    dir.write("noembd.gguf", write(&md, &[t("blk.0.attn_q.weight")]));
    for (file, needle) in [
        ("d48.safetensors", "multiple of 32"),
        ("inf.safetensors", "infinite"),
        ("i8.safetensors", "I8"),
        ("3d.safetensors", "2-d"),
        ("none.safetensors", "no embedding"),
        ("infscale.gguf", "scale"),
        ("q81.gguf", "Q8_1"),
        ("fewtokens.gguf", "2 tokens"),
        ("noembd.gguf", "token_embd"),
    ] {
        let e = fails(dir.path(), &["inspect", file]);
        assert!(e.contains(needle), "{file}: {e}");
        fails(dir.path(), &["convert", file, "-o", "out.gguf"]);
    }
    assert!(!dir.join("out.gguf").exists());
}

// ---- regressions: each of these once failed ----

#[test]
fn bug_nan_in_float_embedding_is_rejected() {
    let dir = TempDir::new("bug-nan");
    let mut v = Lcg::new(15).fill(10 * D);
    v[100] = f32::NAN;
    let e = encode(&v, "F32");
    dir.write(
        "m.safetensors",
        safetensors(&[("wte.weight", "F32", &[10, D as u64], &e)]),
    );
    let e = fails(dir.path(), &["inspect", "m.safetensors"]);
    assert!(e.contains("NaN"), "{e}");
}

#[test]
fn bug_huge_values_convert_to_a_readable_file_or_fail() {
    let dir = TempDir::new("bug-huge");
    let e = encode(&vec![1e30; 10 * D], "F32");
    dir.write(
        "m.safetensors",
        safetensors(&[("wte.weight", "F32", &[10, D as u64], &e)]),
    );
    let convert = [
        "convert",
        "m.safetensors",
        "-o",
        "out.gguf",
        "--no-spectrum",
    ];
    // either a clean error, or a file that loads.
    if run(dir.path(), &convert).code == Some(0) {
        ok(dir.path(), &["inspect", "out.gguf"]);
    } else {
        fails(dir.path(), &convert);
    }
}

#[test]
fn bug_gguf_without_extension_keeps_its_own_tokens() {
    let (dir, _) = small_fixture("bug-ext");
    std::fs::copy(dir.join("q.gguf"), dir.join("model.bin")).unwrap();
    std::fs::copy(ENCODER, dir.join("vocab.json")).unwrap();
    let i = json(dir.path(), &["inspect", "model.bin", "--json"]);
    assert_eq!(i["vocab"], SMALL_ROWS);
}

#[test]
fn bug_closed_stdout_is_not_a_panic() {
    use std::process::{Command, Stdio};
    let (dir, _) = small_fixture("bug-pipe");
    let mut child = Command::new(env!("CARGO_BIN_EXE_unembed"))
        .args(["query", "q.gguf", "--id", "1", "--top", "300", "--json"])
        .current_dir(dir.path())
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdout = None; // closes our end of the pipe
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn error_untied_checkpoint_missing_lm_head() {
    let dir = TempDir::new("untied-shard");
    let e = encode(&Lcg::new(21).fill(10 * D), "F32");
    dir.write(
        "model-00001-of-00002.safetensors",
        safetensors(&[("model.embed_tokens.weight", "F32", &[10, D as u64], &e)]),
    );
    dir.write(
        "model.safetensors.index.json",
        br#"{"weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors",
             "lm_head.weight": "model-00002-of-00002.safetensors"}}"#,
    );
    let err = fails(dir.path(), &["inspect", "model-00001-of-00002.safetensors"]);
    assert!(err.contains("model-00002-of-00002.safetensors"), "{err}");
    std::fs::remove_file(dir.join("model.safetensors.index.json")).unwrap();
    dir.write("config.json", br#"{"tie_word_embeddings": false}"#);
    let err = fails(dir.path(), &["inspect", "model-00001-of-00002.safetensors"]);
    assert!(err.contains("tie_word_embeddings"), "{err}");
    dir.write("config.json", br#"{"tie_word_embeddings": true}"#);
    ok(dir.path(), &["inspect", "model-00001-of-00002.safetensors"]);
}
