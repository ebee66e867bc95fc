//! the `unembed` binary on hugging face safetensors files: convert, manifest, inspect, query; float types, untied heads, vocabularies beside the model.

mod common;

use common::*;
use serde_json::{json, Value};

#[test]
fn safetensors_f32_convert_manifest_inspect_query() {
    let dir = TempDir::new("st-f32");
    let wte = Lcg::new(1).fill(GPT2_VOCAB * D);
    let src = gpt2_safetensors(&wte, "F32", None);
    dir.write("model.safetensors", &src);
    ok(
        dir.path(),
        &[
            "convert",
            "model.safetensors",
            "--tokenizer",
            ENCODER,
            "-o",
            "out.gguf",
            "--name",
            "gpt2-test",
            "--license",
            "mit",
            "--manifest",
            "models.json",
        ],
    );
    let out = dir.read("out.gguf");
    assert_eq!(
        gguf_tensor(&out, "token_embd.weight"),
        q8_bytes(&wte, GPT2_VOCAB, D)
    );

    let m: Value = serde_json::from_slice(&dir.read("models.json")).unwrap();
    assert_eq!(m["models"].as_array().unwrap().len(), 1);
    let e = manifest_entry(&m, "out.gguf");
    assert_eq!(e["bytes"], out.len());
    assert_eq!(e["sha256"], sha256_hex(&out));
    assert_eq!(e["name"], "gpt2-test");
    assert_eq!(e["license"], "mit");
    assert_eq!(
        (&e["vocab"], &e["d"], &e["tied"]),
        (&json!(50257), &json!(64), &json!(true))
    );
    assert_eq!(e["source"], "model.safetensors");
    assert_eq!(e["source_sha256"], sha256_hex(&src));

    let i = json(dir.path(), &["inspect", "out.gguf", "--json"]);
    assert_eq!(i["format"], "GGUF");
    assert_eq!((&i["vocab"], &i["d"]), (&json!(50257), &json!(64)));
    assert_eq!(i["tied"], true);
    assert_eq!(i["spectrum_in_file"], true);
    assert_eq!(i["embedding"]["type"], "Q8_0");
    assert_eq!(i["output"], Value::Null);
    assert_eq!(i["tokenizer"], "ByteLevel");
    assert_eq!(
        (&i["name"], &i["license"]),
        (&json!("gpt2-test"), &json!("mit"))
    );
    assert_eq!(i["bytes"], out.len());

    let s = json(
        dir.path(),
        &[
            "inspect",
            "model.safetensors",
            "--tokenizer",
            ENCODER,
            "--json",
        ],
    );
    assert_eq!(
        (&s["format"], &s["tensors"]),
        (&json!("safetensors"), &json!(3))
    );
    assert_eq!(s["embedding"]["name"], "wte.weight");
    assert_eq!(s["embedding"]["type"], "F32");
    assert_eq!(s["spectrum_in_file"], false);

    assert_paris_is_own_best_match(&dir, "out.gguf");
    let nl = json(
        dir.path(),
        &["query", "out.gguf", "--token", "Ċ", "--json", "--cosine"],
    );
    assert_eq!(nl["top"][0]["id"], NEWLINE);
    assert_eq!(nl["top"][0]["text"], "\n");

    let sp = json(dir.path(), &["spectrum", "out.gguf", "--json"]);
    assert_eq!(sp["from_file"], true);
    let sigma: Vec<f64> = sp["singular_values"]
        .as_array()
        .unwrap()
        .iter()
        .map(f)
        .collect();
    assert_eq!(sigma.len(), D);
    assert!(sigma.windows(2).all(|w| w[0] >= w[1]) && sigma[D - 1] > 0.0);

    // converting the served file again keeps its bytes and spectrum; the manifest gains an entry.
    ok(
        dir.path(),
        &[
            "convert",
            "out.gguf",
            "-o",
            "again.gguf",
            "--manifest",
            "models.json",
        ],
    );
    let again = dir.read("again.gguf");
    for t in [
        "token_embd.weight",
        "unembed.singular_values",
        "unembed.right_singular_vectors",
    ] {
        assert_eq!(gguf_tensor(&again, t), gguf_tensor(&out, t), "{t}");
    }
    let m: Value = serde_json::from_slice(&dir.read("models.json")).unwrap();
    assert_eq!(m["models"].as_array().unwrap().len(), 2);
    assert_eq!(manifest_entry(&m, "again.gguf")["source"], "out.gguf");
    assert_eq!(manifest_entry(&m, "again.gguf")["license"], "mit");
    assert_eq!(manifest_entry(&m, "out.gguf")["sha256"], sha256_hex(&out));
}

#[test]
fn safetensors_f16_and_bf16() {
    let wte = Lcg::new(2).fill(GPT2_VOCAB * D);
    for dtype in ["F16", "BF16"] {
        let dir = TempDir::new(&format!("st-{dtype}"));
        dir.write("model.safetensors", gpt2_safetensors(&wte, dtype, None));
        let s = json(
            dir.path(),
            &[
                "inspect",
                "model.safetensors",
                "--tokenizer",
                ENCODER,
                "--json",
            ],
        );
        assert_eq!(s["embedding"]["type"], dtype);
        ok(
            dir.path(),
            &[
                "convert",
                "model.safetensors",
                "--tokenizer",
                ENCODER,
                "-o",
                "out.gguf",
                "--no-spectrum",
            ],
        );
        let out = dir.read("out.gguf");
        assert_eq!(
            gguf_tensor(&out, "token_embd.weight"),
            q8_bytes(&rounded(&wte, dtype), GPT2_VOCAB, D),
            "{dtype}"
        );
        let h = gguf_header(&out);
        assert_eq!(
            h.metadata.get_str("unembed.source.embedding_type"),
            Some(dtype)
        );
        let i = json(dir.path(), &["inspect", "out.gguf", "--json"]);
        assert_eq!((&i["vocab"], &i["tied"]), (&json!(50257), &json!(true)));
        assert_eq!(i["spectrum_in_file"], false);
        assert_paris_is_own_best_match(&dir, "out.gguf");
    }
}

#[test]
fn safetensors_untied_lm_head() {
    let dir = TempDir::new("st-untied");
    let wte = Lcg::new(3).fill(GPT2_VOCAB * D);
    // W_U = −E: h = v_Paris scores Paris last, with cos −1.
    let head: Vec<f32> = wte.iter().map(|x| -x).collect();
    dir.write(
        "model.safetensors",
        gpt2_safetensors(&wte, "F32", Some(&head)),
    );
    let s = json(
        dir.path(),
        &[
            "inspect",
            "model.safetensors",
            "--tokenizer",
            ENCODER,
            "--json",
        ],
    );
    assert_eq!(s["tied"], false);
    assert_eq!(s["output"]["name"], "lm_head.weight");
    ok(
        dir.path(),
        &[
            "convert",
            "model.safetensors",
            "--tokenizer",
            ENCODER,
            "-o",
            "out.gguf",
            "--no-spectrum",
        ],
    );
    let out = dir.read("out.gguf");
    assert_eq!(
        gguf_tensor(&out, "token_embd.weight"),
        q8_bytes(&wte, GPT2_VOCAB, D)
    );
    assert_eq!(
        gguf_tensor(&out, "output.weight"),
        q8_bytes(&head, GPT2_VOCAB, D)
    );
    let i = json(dir.path(), &["inspect", "out.gguf", "--json"]);
    assert_eq!(i["tied"], false);
    assert_eq!(i["output"]["name"], "output.weight");
    assert_eq!(i["output"]["type"], "Q8_0");
    let q = json(
        dir.path(),
        &[
            "query", "out.gguf", "--token", " Paris", "--target", " Paris", "--cosine", "--json",
        ],
    );
    let t = &q["target"];
    assert_eq!(t["id"], PARIS);
    assert!((f(&t["cos"]) + 1.0).abs() < 1e-6, "{t}");
    assert_eq!((&t["rank"], &t["cos_rank"]), (&json!(50257), &json!(50257)));
    assert_ne!(q["top"][0]["id"], PARIS);
}

#[test]
fn safetensors_vocabulary_beside_the_model() {
    let dir = TempDir::new("st-beside");
    let wte = Lcg::new(4).fill(GPT2_VOCAB * D);
    let src = gpt2_safetensors(&wte, "BF16", None);
    for (sub, name, body) in [
        ("a", "tokenizer.json", gpt2_tokenizer_json()),
        ("b", "vocab.json", std::fs::read_to_string(ENCODER).unwrap()),
    ] {
        std::fs::create_dir(dir.join(sub)).unwrap();
        dir.write(&format!("{sub}/model.safetensors"), &src);
        dir.write(&format!("{sub}/{name}"), body);
        let model = format!("{sub}/model.safetensors");
        let s = json(dir.path(), &["inspect", &model, "--json"]);
        assert_eq!(
            (&s["vocab"], &s["tokenizer"]),
            (&json!(50257), &json!("ByteLevel")),
            "{name}"
        );
        ok(
            dir.path(),
            &["convert", &model, "-o", "out.gguf", "--no-spectrum"],
        );
        let out = dir.read("out.gguf");
        let toks = gguf_header(&out)
            .metadata
            .get_strings("tokenizer.ggml.tokens")
            .unwrap()
            .unwrap();
        assert_eq!(toks, gpt2_tokens(), "{name}");
        assert_paris_is_own_best_match(&dir, "out.gguf");
    }
}

#[test]
fn safetensors_without_vocabulary_uses_placeholders() {
    let dir = TempDir::new("st-novocab");
    let v = Lcg::new(5).fill(100 * D);
    let e = encode(&v, "F32");
    dir.write(
        "m.safetensors",
        safetensors(&[("model.embed_tokens.weight", "F32", &[100, D as u64], &e)]),
    );
    let i = json(dir.path(), &["inspect", "m.safetensors", "--json"]);
    assert_eq!(
        (&i["vocab"], &i["tokenizer"]),
        (&json!(100), &json!("Plain"))
    );
    let q = json(
        dir.path(),
        &[
            "query",
            "m.safetensors",
            "--token",
            "<42>",
            "--cosine",
            "--json",
        ],
    );
    assert_eq!(
        (&q["top"][0]["id"], &q["top"][0]["text"]),
        (&json!(42), &json!("<42>"))
    );
}
