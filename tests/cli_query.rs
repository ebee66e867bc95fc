//! `unembed query` on the small Q8_0 fixture (the first 300 GPT-2 tokens, rows 298 = 299): ids and tokens, expressions, batches, T = 0, targets, the human table.

mod common;

use common::*;
use serde_json::json;

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
    // a target that is not the arg-max: p = 0, loss = +∞ (JSON has no ∞: the string
    // "Infinity", which JavaScript's Number and Python's float read), no gradient.
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
    assert_eq!(t["loss"], "Infinity", "{t}");
    assert!(t.get("gradient").is_none(), "{t}");
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
        (f(&t["gradient"]["norm"]) - gn).abs() < 1e-5 * gn,
        "{} vs {gn}",
        t["gradient"]["norm"]
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

#[test]
fn compare_two_files_in_order() {
    let (dir, q) = small_fixture("q-compare");
    dir.write("r.gguf", dir.read("q.gguf"));
    let v = json(
        dir.path(),
        &["compare", "q.gguf", "r.gguf", "--token", " a", "--json"],
    );
    let models = v["models"].as_array().unwrap();
    assert_eq!(models.len(), 2);
    assert_eq!(
        (&models[0]["file"], &models[1]["file"]),
        (&json!("q.gguf"), &json!("r.gguf"))
    );
    // the same file twice: the same summary.
    let strip = |m: &serde_json::Value| {
        let mut m = m.clone();
        m["file"] = json!(null);
        m
    };
    assert_eq!(strip(&models[0]), strip(&models[1]));
    let m = &models[0];
    assert_eq!(
        (m["vocab"].as_u64(), m["d"].as_u64()),
        (Some(300), Some(D as u64))
    );
    assert!(f(&m["effective_rank"]) > 1.0 && f(&m["effective_rank"]) <= D as f64);
    // a token's own vector is its best match by cosine.
    assert_eq!(m["h"]["top_cosine"][0]["id"], 257);
    assert_eq!(m["h"]["top_logit"].as_array().unwrap().len(), 10);
    let rho = f(&m["spearman_dot_cos"]);
    assert!(rho > 0.0 && rho <= 1.0 && rho == f(&m["h"]["spearman_dot_cos"]));
    let norms: Vec<f64> = (0..300)
        .map(|i| {
            q.row(i)
                .iter()
                .map(|&x| x as f64 * x as f64)
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    let max = norms.iter().cloned().fold(0.0, f64::max);
    assert!((f(&m["norms"]["max"]) - max).abs() < 1e-12 * max);
    let out = ok(dir.path(), &["compare", "q.gguf", "r.gguf"]);
    assert!(out.contains("effective rank"), "{out}");
    let err = fails(dir.path(), &["compare", "q.gguf"]);
    assert!(err.contains("two or more"), "{err}");
}
