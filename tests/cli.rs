//! end-to-end tests of the `unembed` binary on files written into a temp dir.

mod common;

use common::*;
use serde_json::{json, Value};
use unembed::core::gguf::{GGML_BF16, GGML_F16, GGML_F32, GGML_Q8_0};
use unembed::core::q8::Q8Matrix;

// ---- shared checks ----

/// `query FILE --token " Paris" --cosine`: the token's own row is its best cosine match.
fn assert_paris_is_own_best_match(dir: &TempDir, file: &str) {
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

fn manifest_entry<'a>(m: &'a Value, file: &str) -> &'a Value {
    m["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["file"] == file)
        .unwrap_or_else(|| panic!("no {file} in {m}"))
}

/// (id, prob) of every entry of a query's top list (`--top` = vocabulary size: all of them).
fn all_entries(q: &Value) -> Vec<(usize, f64)> {
    let top = q["top"].as_array().unwrap();
    top.iter()
        .map(|e| (e["id"].as_u64().unwrap() as usize, f(&e["prob"])))
        .collect()
}

/// a temp dir holding `q.gguf`: the small Q8_0 query fixture (first 300 GPT-2 tokens,
/// rows 298 = 299), with its dequantized matrix.
fn small_fixture(tag: &str) -> (TempDir, Q8Matrix) {
    let dir = TempDir::new(tag);
    let (bytes, q) = small_model();
    dir.write("q.gguf", bytes);
    (dir, q)
}

fn write_h(dir: &TempDir, name: &str, h: &[f32]) {
    let v: Vec<f64> = h.iter().map(|&x| x as f64).collect();
    dir.write(name, serde_json::to_string(&v).unwrap());
}

// ---- 1. safetensors input ----

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
        assert_eq!(h.get_str("unembed.source.embedding_type"), Some(dtype));
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

// ---- 2. GGUF input ----

#[test]
fn gguf_q8_0_is_copied_bit_exactly() {
    let dir = TempDir::new("gguf-q8");
    let raw = raw_q8(SMALL_ROWS, D, &mut Lcg::new(6));
    let src = small_gguf(SMALL_ROWS, (GGML_Q8_0, &raw), None);
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
    let toks = h.get_strings("tokenizer.ggml.tokens").unwrap().unwrap();
    assert_eq!(toks, &gpt2_tokens()[..SMALL_ROWS]);
    assert_eq!(h.get_str("tokenizer.ggml.model"), Some("gpt2"));
    assert_eq!(h.get_str("general.name"), Some("tiny-gpt2"));
    assert_eq!(h.get_str("general.architecture"), Some("gpt2"));
    assert_eq!(h.get_str("general.license"), Some("apache-2.0"));
    assert_eq!(h.get_str("unembed.source.file"), Some("in.gguf"));
    assert_eq!(h.get_str("unembed.source.format"), Some("gguf"));
    assert_eq!(h.get_str("unembed.source.embedding_type"), Some("Q8_0"));
    assert_eq!(
        h.get_str("unembed.source.sha256"),
        Some(sha256_hex(&src).as_str())
    );
    assert!(h.get("tokenizer.ggml.merges").is_none() && h.get("general.file_type").is_none());
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
        small_gguf(SMALL_ROWS, (GGML_Q8_0, &embd), Some((GGML_Q8_0, &outw))),
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
        gguf_header(&out).get("unembed.tied"),
        Some(&unembed::core::gguf::Value::Bool(false))
    );
    // the stored spectrum is that of W_U: the same as a tied file whose E is W_U.
    dir.write("wu.gguf", small_gguf(SMALL_ROWS, (GGML_Q8_0, &outw), None));
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
        (GGML_F32, None),
        (GGML_F16, None),
        (GGML_BF16, None),
        (GGML_BF16, Some(GGML_F16)),
    ];
    for (ty, out_ty) in cases {
        let dir = TempDir::new(&format!("gguf-float-{ty}"));
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
            gguf_header(&out).get_str("unembed.source.embedding_type"),
            Some(dt)
        );
    }
}

// ---- 3. query modes (small Q8_0 GGUF: the first 300 GPT-2 tokens, rows 298 = 299) ----

#[test]
fn query_by_id_and_token() {
    let (dir, q) = small_fixture("q-id");
    let by_id = json(dir.path(), &["query", "q.gguf", "--id", "257", "--json"]);
    let by_text = json(dir.path(), &["query", "q.gguf", "--token", " a", "--json"]);
    let by_raw = json(dir.path(), &["query", "q.gguf", "--token", "Ġa", "--json"]);
    assert_eq!(by_id, by_text);
    assert_eq!(by_id, by_raw);
    let row = q.row(257);
    let norm = row.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
    assert!((f(&by_id["h_norm"]) - norm).abs() < 1e-9 * norm);
    assert_eq!(
        (&by_id["ranked_by"], &by_id["temperature"]),
        (&json!("logit"), &json!(1.0))
    );
    let top = by_id["top"].as_array().unwrap();
    assert_eq!(top.len(), 10);
    assert!(top
        .windows(2)
        .all(|w| f(&w[0]["logit"]) >= f(&w[1]["logit"])));
    // the logit of a row with itself is ‖v‖².
    let own = top
        .iter()
        .find(|e| e["id"] == 257)
        .expect("own token in the top 10");
    assert!((f(&own["logit"]) - norm * norm).abs() < 1e-6 * norm * norm);
    assert_eq!(own["text"], " a");
}

#[test]
fn query_expression_matches_explicit_h() {
    let (dir, q) = small_fixture("q-expr");
    let (a, b, c) = (q.row(257), q.row(275), q.row(269)); // " a", " b", " c"
    let h: Vec<f32> = (0..D)
        .map(|j| (a[j] as f64 - b[j] as f64 + c[j] as f64) as f32)
        .collect();
    write_h(&dir, "h.json", &h);
    let e = json(
        dir.path(),
        &["query", "q.gguf", "--expr", "a - b + c", "--json"],
    );
    let x = json(dir.path(), &["query", "q.gguf", "--h", "h.json", "--json"]);
    assert_eq!(e, x);
    let quoted = json(
        dir.path(),
        &["query", "q.gguf", "--expr", "\" a\" - #275 + 1*c", "--json"],
    );
    assert_eq!(e, quoted);
}

#[test]
fn query_batch_keeps_order() {
    let (dir, q) = small_fixture("q-batch");
    let h: Vec<f32> = q.row(12).iter().map(|x| 0.5 * x).collect();
    write_h(&dir, "h.json", &h);
    let hv: Vec<f64> = h.iter().map(|&x| x as f64).collect();
    let batch = json!([
        {"token": " a"},
        {"id": 5, "top": 3},
        {"expr": "a - b + c", "temperature": 0.5},
        {"h": hv, "cosine": true},
        {"token": " the", "target": " a"},
    ]);
    dir.write("batch.json", batch.to_string());
    let singles: [&[&str]; 5] = [
        &["--token", " a"],
        &["--id", "5", "--top", "3"],
        &["--expr", "a - b + c", "--temperature", "0.5"],
        &["--h", "h.json", "--cosine"],
        &["--token", " the", "--target", " a"],
    ];
    let out = json(
        dir.path(),
        &["query", "q.gguf", "--batch", "batch.json", "--top", "4"],
    );
    let out = out.as_array().expect("a json array");
    assert_eq!(out.len(), singles.len());
    for (i, extra) in singles.iter().enumerate() {
        let mut args = vec!["query", "q.gguf", "--json", "--top", "4"];
        // a query's own "top" wins over the command line's.
        if extra.contains(&"--top") {
            args.truncate(3);
        }
        args.extend_from_slice(extra);
        assert_eq!(out[i], json(dir.path(), &args), "batch item {i}");
    }
    assert_eq!(out[1]["top"].as_array().unwrap().len(), 3);
    assert_eq!(out[2]["temperature"], 0.5);
    assert_eq!(out[3]["ranked_by"], "cosine");
    assert_eq!(out[4]["target"]["id"], 257);
}

#[test]
fn query_temperature_zero() {
    let (dir, _) = small_fixture("q-t0");
    let q = json(
        dir.path(),
        &[
            "query",
            "q.gguf",
            "--id",
            "10",
            "--temperature",
            "0",
            "--json",
        ],
    );
    assert_eq!(q["top"][0]["id"], 10);
    assert_eq!(q["top"][0]["prob"], 1.0);
    assert_eq!(q["top"][1]["prob"], 0.0);
    assert_eq!(f(&q["entropy"]), 0.0);
    // rows 298 and 299 are equal: the mass splits.
    let q = json(
        dir.path(),
        &[
            "query",
            "q.gguf",
            "--id",
            "298",
            "--temperature",
            "0",
            "--json",
        ],
    );
    let top = &q["top"];
    assert_eq!((&top[0]["id"], &top[1]["id"]), (&json!(298), &json!(299)));
    assert_eq!(
        (&top[0]["prob"], &top[1]["prob"]),
        (&json!(0.5), &json!(0.5))
    );
    assert_eq!(top[2]["prob"], 0.0);
    assert!((f(&q["entropy"]) - 2f64.ln()).abs() < 1e-12);
    // a target that is not the arg-max: p = 0, loss = +∞ (json has no ∞), no gradient.
    let q = json(
        dir.path(),
        &[
            "query",
            "q.gguf",
            "--id",
            "10",
            "--temperature",
            "0",
            "--target",
            " a",
            "--json",
        ],
    );
    let t = &q["target"];
    assert_eq!((&t["id"], &t["prob"]), (&json!(257), &json!(0.0)));
    assert!(t["loss"].is_null() || f(&t["loss"]).is_infinite(), "{t}");
    assert!(t["grad_norm"].is_null(), "{t}");
    assert!(f(&q["entropy"]).is_finite());
}

#[test]
fn query_target_reports_rank_loss_gradient() {
    let (dir, q) = small_fixture("q-target");
    let n = SMALL_ROWS.to_string();
    let r = json(
        dir.path(),
        &[
            "query", "q.gguf", "--token", " the", "--target", " a", "--top", &n, "--json",
        ],
    );
    let t = &r["target"];
    assert_eq!(
        (&t["id"], &t["text"], &t["token"]),
        (&json!(257), &json!(" a"), &json!("Ġa"))
    );
    let all = all_entries(&r);
    let pos = all.iter().position(|e| e.0 == 257).unwrap();
    assert_eq!(t["rank"], pos + 1);
    let p = all[pos].1;
    assert!(p > 0.0 && (f(&t["loss"]) + p.ln()).abs() < 1e-9, "{t}");
    // cos rank = position in the cosine ranking.
    let c = json(
        dir.path(),
        &[
            "query", "q.gguf", "--token", " the", "--top", &n, "--cosine", "--json",
        ],
    );
    let cpos = all_entries(&c).iter().position(|e| e.0 == 257).unwrap();
    assert_eq!(t["cos_rank"], cpos + 1);
    // ‖∇‖ = ‖Σ p_i w_i − w_t‖ at T = 1.
    let mut g: Vec<f64> = q.row(257).iter().map(|&x| -(x as f64)).collect();
    for &(id, p) in &all {
        for (gj, &w) in g.iter_mut().zip(&q.row(id)) {
            *gj += p * w as f64;
        }
    }
    let gn = g.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!(
        (f(&t["grad_norm"]) - gn).abs() < 1e-5 * gn,
        "{} vs {gn}",
        t["grad_norm"]
    );
    // the token itself is its own best cosine match.
    let s = json(
        dir.path(),
        &[
            "query", "q.gguf", "--token", " a", "--target", " a", "--json",
        ],
    );
    assert_eq!(s["target"]["cos_rank"], 1);
}

#[test]
fn human_output_shows_token_text() {
    let (dir, _) = small_fixture("q-human");
    let out = ok(
        dir.path(),
        &["query", "q.gguf", "--token", " the", "--target", " a"],
    );
    assert!(out.contains("\" the\"") && out.contains("\" a\""), "{out}");
    assert!(out.contains("entropy") && out.contains("target"), "{out}");
    let out = ok(dir.path(), &["inspect", "q.gguf"]);
    assert!(out.contains("vocabulary  300 tokens"), "{out}");
    assert!(out.contains("unembedding tied"), "{out}");
    let out = ok(dir.path(), &["help"]);
    assert!(
        out.starts_with("unembed") && out.contains("usage:"),
        "{out}"
    );
    assert_eq!(ok(dir.path(), &[]), out);
}

// ---- 4. errors: exit 1, `error: …` on stderr, never a panic ----

#[test]
fn error_missing_file() {
    let (dir, _) = small_fixture("e-missing");
    for args in [
        &["inspect", "nope.gguf"][..],
        &["query", "nope.gguf", "--id", "1"],
        &["convert", "nope.gguf", "-o", "out.gguf"],
        &["spectrum", "nope.safetensors"],
        &["inspect", "q.gguf", "--tokenizer", "nope.json"],
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
    use unembed::core::gguf::{write, TensorOut, Value as V};
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
    // GGUF: an infinite Q8_0 scale, a type we do not read (Q4_0), too few tokens, no embedding.
    let mut q = raw_q8(4, D, &mut Lcg::new(14));
    q[34..36].copy_from_slice(&0x7c00u16.to_le_bytes());
    dir.write("infscale.gguf", small_gguf(4, (GGML_Q8_0, &q), None));
    dir.write("q4.gguf", small_gguf(4, (2, &[0; 4 * 2 * 18]), None));
    let toks = V::Array(8, vec![V::Str("a".into()), V::Str("b".into())]);
    let t = |name: &str| TensorOut {
        name: name.into(),
        dims: vec![D as u64, 3],
        ggml_type: GGML_F32,
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
        ("q4.gguf", "Q4_0"),
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
