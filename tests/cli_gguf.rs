//! the `unembed` binary on GGUF files: Q8_0 copied bit-exactly, untied outputs, float and block-quantized embeddings requantized to Q8_0.

mod common;

use common::*;
use serde_json::json;
use unembed::core::quant::GgmlType;

#[test]
fn gguf_q8_0_is_copied_bit_exactly() {
    let dir = TempDir::new("gguf-q8");
    let raw = raw_q8(SMALL_ROWS, D, &mut Lcg::new(6));
    let src = small_gguf(SMALL_ROWS, (GgmlType::Q8_0, &raw), None);
    dir.write("in.gguf", &src);
    ok(
        dir.path(),
        &[
            "convert",
            "in.gguf",
            "-o",
            "out.gguf",
            "--license",
            "apache-2.0",
        ],
    );
    let out = dir.read("out.gguf");
    assert_eq!(gguf_tensor(&out, "token_embd.weight"), raw);
    let h = gguf_header(&out);
    let toks = h
        .metadata
        .get_strings("tokenizer.ggml.tokens")
        .unwrap()
        .unwrap();
    assert_eq!(toks, &gpt2_tokens()[..SMALL_ROWS]);
    assert_eq!(h.metadata.get_str("tokenizer.ggml.model"), Some("gpt2"));
    assert_eq!(h.metadata.get_str("general.name"), Some("tiny-gpt2"));
    assert_eq!(h.metadata.get_str("general.architecture"), Some("gpt2"));
    assert_eq!(h.metadata.get_str("general.license"), Some("apache-2.0"));
    assert_eq!(h.metadata.get_str("unembed.source.file"), Some("in.gguf"));
    assert_eq!(h.metadata.get_str("unembed.source.format"), Some("gguf"));
    assert_eq!(
        h.metadata.get_str("unembed.source.embedding_type"),
        Some("Q8_0")
    );
    assert_eq!(
        h.metadata.get_str("unembed.source.sha256"),
        Some(sha256_hex(&src).as_str())
    );
    assert!(
        h.metadata.get("tokenizer.ggml.merges").is_none()
            && h.metadata.get("general.file_type").is_none()
    );
    assert!(h.tensor("output.weight").is_none());
    let i = json(dir.path(), &["inspect", "out.gguf", "--json"]);
    assert_eq!((&i["vocab"], &i["d"]), (&json!(SMALL_ROWS), &json!(D)));
    assert_eq!(
        (&i["tied"], &i["spectrum_in_file"]),
        (&json!(true), &json!(true))
    );
}

#[test]
fn gguf_untied_output_is_copied_bit_exactly() {
    let dir = TempDir::new("gguf-untied");
    let mut rng = Lcg::new(8);
    let embd = raw_q8(SMALL_ROWS, D, &mut rng);
    let outw = raw_q8(SMALL_ROWS, D, &mut rng);
    dir.write(
        "in.gguf",
        small_gguf(
            SMALL_ROWS,
            (GgmlType::Q8_0, &embd),
            Some((GgmlType::Q8_0, &outw)),
        ),
    );
    let i = json(dir.path(), &["inspect", "in.gguf", "--json"]);
    assert_eq!(
        (&i["tied"], &i["output"]["name"]),
        (&json!(false), &json!("output.weight"))
    );
    ok(dir.path(), &["convert", "in.gguf", "-o", "out.gguf"]);
    let out = dir.read("out.gguf");
    assert_eq!(gguf_tensor(&out, "token_embd.weight"), embd);
    assert_eq!(gguf_tensor(&out, "output.weight"), outw);
    let i = json(dir.path(), &["inspect", "out.gguf", "--json"]);
    assert_eq!(
        (&i["tied"], &i["output"]["type"]),
        (&json!(false), &json!("Q8_0"))
    );
    assert_eq!(
        gguf_header(&out).metadata.get("unembed.tied"),
        Some(&unembed::core::files::gguf::Value::Bool(false))
    );
    // the stored spectrum is that of W_U: the same as a tied file whose E is W_U.
    dir.write(
        "wu.gguf",
        small_gguf(SMALL_ROWS, (GgmlType::Q8_0, &outw), None),
    );
    ok(dir.path(), &["convert", "wu.gguf", "-o", "wu-out.gguf"]);
    let wu = dir.read("wu-out.gguf");
    for t in ["unembed.singular_values", "unembed.right_singular_vectors"] {
        assert_eq!(gguf_tensor(&out, t), gguf_tensor(&wu, t), "{t}");
    }
}

#[test]
fn gguf_float_embeddings_are_quantized() {
    let v = Lcg::new(9).fill(SMALL_ROWS * D);
    let w = Lcg::new(10).fill(SMALL_ROWS * D);
    let cases = [
        (GgmlType::F32, None),
        (GgmlType::F16, None),
        (GgmlType::BF16, None),
        (GgmlType::BF16, Some(GgmlType::F16)),
    ];
    for (ty, out_ty) in cases {
        let dir = TempDir::new(&format!("gguf-float-{}", ty.name()));
        let dt = ggml_dtype(ty);
        let e = encode(&v, dt);
        let o = out_ty.map(|t| (t, encode(&w, ggml_dtype(t))));
        dir.write(
            "in.gguf",
            small_gguf(
                SMALL_ROWS,
                (ty, &e),
                o.as_ref().map(|(t, b)| (*t, b.as_slice())),
            ),
        );
        let i = json(dir.path(), &["inspect", "in.gguf", "--json"]);
        assert_eq!(i["embedding"]["type"], dt);
        assert_eq!(i["tied"], out_ty.is_none());
        ok(
            dir.path(),
            &["convert", "in.gguf", "-o", "out.gguf", "--no-spectrum"],
        );
        let out = dir.read("out.gguf");
        assert_eq!(
            gguf_tensor(&out, "token_embd.weight"),
            q8_bytes(&rounded(&v, dt), SMALL_ROWS, D),
            "{dt}"
        );
        if let Some(t) = out_ty {
            assert_eq!(
                gguf_tensor(&out, "output.weight"),
                q8_bytes(&rounded(&w, ggml_dtype(t)), SMALL_ROWS, D)
            );
        }
        assert_eq!(
            gguf_header(&out)
                .metadata
                .get_str("unembed.source.embedding_type"),
            Some(dt)
        );
    }
}

#[test]
fn convert_full_checks_the_whole_model_before_recording_it() {
    let dir = TempDir::new("gguf-full");
    dir.write("tiny.gguf", unembed::core::fixtures::tiny_llama_bytes(3));
    // --full goes into the manifest, so it needs one.
    let e = fails(
        dir.path(),
        &[
            "convert",
            "tiny.gguf",
            "-o",
            "s.gguf",
            "--full",
            "tiny.gguf",
        ],
    );
    assert!(e.contains("--manifest"), "{e}");
    // the served file is not a whole model: its layers are missing.
    ok(
        dir.path(),
        &["convert", "tiny.gguf", "-o", "s.gguf", "--no-spectrum"],
    );
    let args = |full: &'static str| {
        [
            "convert",
            "tiny.gguf",
            "-o",
            "s2.gguf",
            "--no-spectrum",
            "--manifest",
            "m.json",
            "--full",
            full,
        ]
    };
    let e = fails(dir.path(), &args("s.gguf"));
    assert!(e.contains("--full") && e.contains("s.gguf"), "{e}");
    // a model that runs but cannot tokenize a prompt is no use to the lens.
    let e = fails(dir.path(), &args("tiny.gguf"));
    assert!(e.contains("no tokenizer for prompts"), "{e}");
    // a missing file is named.
    let e = fails(dir.path(), &args("nope.gguf"));
    assert!(e.contains("nope.gguf"), "{e}");
}
