//! the wasm tier: the simd128 kernels (unembedding and quantized matmul) against the exact
//! references, and the façade, run by wasm-bindgen-test-runner in Node (`scripts/test.sh`).
//! native builds compile this to nothing.
#![cfg(target_arch = "wasm32")]

use unembed::core::files::gguf::Value;
use unembed::core::fixtures::{random_blocks, random_q8 as random_matrix, GgufBuilder};
use unembed::core::names;
use unembed::core::quant::acts::QActs;
use unembed::core::quant::gemm;
use unembed::core::quant::kernels::{self, Kernel, Precision};
use unembed::core::rng::Rng;
use unembed::core::spectrum::gram::{Gram, PANEL};
use unembed::core::vocab::VocabKind;
use unembed::wasm::{gram_part, header_needs, spectrum_from_gram, Comparison, Explorer, Widget};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn simd128_is_compiled_in() {
    assert!(Kernel::available().contains(&Kernel::Simd128));
}

#[wasm_bindgen_test]
fn simd128_kernels_agree_with_reference() {
    let mut rng = Rng::new(3);
    for (rows, cols) in [(1, 32), (9, 64), (40, 576), (17, 768)] {
        let m = random_matrix(rows, cols, (rows * cols) as u64);
        for scale in [1e-3, 1.0, 50.0, 1e6] {
            let h: Vec<f32> = (0..cols).map(|_| (rng.gauss() * scale) as f32).collect();
            let exact = kernels::reference(&m, &h);
            let bound = kernels::error_bound(&m, &h);
            let fast_bound = kernels::fast_error_bound(&m, &h);
            for k in [Kernel::Scalar, Kernel::Simd128] {
                let z = m.matvec_with(&h, k, Precision::Exact).unwrap();
                let zf = m.matvec_with(&h, k, Precision::Fast).unwrap();
                for i in 0..rows {
                    assert!((z[i] - exact[i]).abs() <= bound[i], "{k:?} exact row {i}");
                    assert!(
                        (zf[i] - exact[i]).abs() <= fast_bound[i],
                        "{k:?} fast row {i}"
                    );
                }
            }
        }
    }
}

/// Eᵀ·p (the gradient's transposed pass): simd128 gives the portable kernel's bits, both
/// within the stated bound of the f64 reference, on row counts on and off the group size.
#[wasm_bindgen_test]
fn simd128_transposed_product_is_the_portable_kernels_bits() {
    let mut rng = Rng::new(23);
    for (rows, cols) in [(1, 32), (31, 64), (33, 576), (100, 640), (65, 96)] {
        let m = random_matrix(rows, cols, (rows * 3 + cols) as u64);
        for t in [50.0, 1.0, 0.02] {
            let z: Vec<f64> = (0..rows).map(|_| rng.gauss() * 4.0).collect();
            let mx = z.iter().cloned().fold(f64::MIN, f64::max);
            let mut p: Vec<f64> = z.iter().map(|&x| ((x - mx) / t).exp()).collect();
            let sum: f64 = p.iter().sum();
            p.iter_mut().for_each(|x| *x /= sum);
            let exact = kernels::t_reference(&m, &p);
            let bound = kernels::t_error_bound(&m, &p);
            let mut a = vec![0f64; cols];
            let mut b = vec![0f64; cols];
            kernels::t_run(Kernel::Scalar, &m, &p, &mut a).unwrap();
            kernels::t_run(Kernel::Simd128, &m, &p, &mut b).unwrap();
            assert_eq!(a, b, "{rows} × {cols} at T = {t}");
            for j in 0..cols {
                assert!((b[j] - exact[j]).abs() <= bound[j], "column {j}");
            }
        }
    }
}

/// every matmul kernel here (scalar, simd128) against the exact reference within the bound
/// stated in quant/gemm/mod.rs.
#[wasm_bindgen_test]
fn simd128_matmul_agrees_with_reference() {
    let mut rng = Rng::new(17);
    for ty in gemm::TYPES {
        assert!(gemm::kernels(ty).contains(&Kernel::Simd128), "{ty}");
        let shapes: &[(usize, usize, &[usize])] = if ty.block_size() == 256 {
            &[
                (32, 256, &[1, 2, 3, 7, 8, 32]),
                (40, 1536, &[1, 8]),
                (576, 1536, &[1]),
            ]
        } else {
            &[
                (32, 32, &[1, 2, 3, 7, 8, 32]),
                (192, 576, &[1, 2, 3, 7, 8, 32]),
                (1536, 576, &[1]),
                (576, 1536, &[1, 8]),
            ]
        };
        for (s, &(rows, k, ns)) in shapes.iter().enumerate() {
            let w = random_blocks(ty, rows, k, 40 + s as u64);
            for &n in ns {
                let scale = [1e-3, 1.0, 30.0][n % 3];
                let mut xs: Vec<f32> = (0..n * k).map(|_| (rng.gauss() * scale) as f32).collect();
                // edges: a zero block, one huge value in a block, a tie on the grid.
                xs[..32].fill(0.0);
                if k >= 256 {
                    xs[40] = 1000.0 * scale as f32;
                    xs[64] = 127.0 / 8.0;
                    xs[65] = 2.5 / 8.0;
                }
                let mut x = QActs::new();
                x.quantize(ty.act_format().unwrap(), &xs, n, k).unwrap();
                let exact = gemm::reference(ty, &w, rows, k, &x).unwrap();
                let bound = gemm::error_bound(ty, &w, rows, k, &x).unwrap();
                for kernel in [Kernel::Scalar, Kernel::Simd128] {
                    let mut out = vec![f32::NAN; rows * n];
                    gemm::matmul_with(kernel, ty, &w, rows, k, &x, &mut out).unwrap();
                    for (i, &o) in out.iter().enumerate() {
                        let err = (o as f64 - exact[i]).abs();
                        assert!(
                            err <= bound[i],
                            "{ty} {kernel:?} {rows}×{k} n={n} out {i}: {err:e} > {:e}",
                            bound[i]
                        );
                    }
                }
            }
        }
    }
}

/// a column's outputs do not depend on the columns beside it (decode = prefill, per column).
#[wasm_bindgen_test]
fn simd128_matmul_columns_are_independent_of_the_tile() {
    let mut rng = Rng::new(19);
    for (ty, n) in gemm::TYPES.into_iter().flat_map(|t| [(t, 6), (t, 7)]) {
        // tiles of 4 + 2 and 4 + 3 against single columns.
        let (rows, k) = (6, 512);
        let w = random_blocks(ty, rows, k, 20);
        let xs: Vec<f32> = (0..n * k).map(|_| rng.gauss() as f32).collect();
        let f = ty.act_format().unwrap();
        let mut all = QActs::new();
        all.quantize(f, &xs, n, k).unwrap();
        let mut out = vec![0f32; rows * n];
        gemm::matmul_with(Kernel::Simd128, ty, &w, rows, k, &all, &mut out).unwrap();
        for c in 0..n {
            let mut one = QActs::new();
            one.quantize(f, &xs[c * k..(c + 1) * k], 1, k).unwrap();
            let mut o = vec![0f32; rows];
            gemm::matmul(ty, &w, rows, k, &one, &mut o).unwrap();
            for r in 0..rows {
                assert_eq!(o[r].to_bits(), out[c * rows + r].to_bits(), "{ty}");
            }
        }
    }
}

#[wasm_bindgen_test]
fn simd128_f16_conversion_is_exact() {
    use unembed::core::quant::gemm::simd128::f16x4_bits_to_f32;
    for h in (0..=u16::MAX).step_by(4) {
        let hs = [h, h + 1, h + 2, h + 3];
        let got = f16x4_bits_to_f32(hs);
        for (i, &b) in hs.iter().enumerate() {
            let want = half::f16::from_bits(b).to_f32();
            assert!(
                got[i].to_bits() == want.to_bits() || (got[i].is_nan() && want.is_nan()),
                "{b:#06x}: {} vs {want}",
                got[i]
            );
        }
    }
}

fn tiny_gguf() -> Vec<u8> {
    let (rows, d) = (50, 64);
    let mut toks: Vec<String> = (0..rows).map(|i| format!("Ġw{i}")).collect();
    toks[7] = "ĠParis".into();
    GgufBuilder::new()
        .meta("general.name", Value::Str("tiny".into()))
        .tokens(VocabKind::ByteLevel, toks)
        .matrix(names::TOKEN_EMBD, &random_matrix(rows, d, 5))
        .build()
}

fn spec(v: serde_json::Value) -> JsValue {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap()
}
use serde::Serialize;

#[wasm_bindgen_test]
fn explorer_queries_like_the_cli() {
    let ex = Explorer::new(tiny_gguf(), &[]).unwrap();
    let r: serde_json::Value = serde_wasm_bindgen::from_value(
        ex.query(spec(
            serde_json::json!({"token": " Paris", "cosine": true, "top": 3}),
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(r["top"][0]["id"], 7);
    assert_eq!(r["top"][0]["token"], "ĠParis");
    assert_eq!(r["top"][0]["text"], " Paris");
    assert_eq!(r["top"].as_array().unwrap().len(), 3);
    assert!(r["entropy"].as_f64().unwrap() > 0.0);
}

/// the simd128 Gram kernel within the f32 panels' bound of the scalar one (each within
/// γ·Σ_i |e_ij e_ik| ≤ γ·√(G_jj G_kk) of the exact sum), and the Workers' path through the
/// façade (a split, each slice's part, the parts summed and decomposed) giving the spectrum.
#[wasm_bindgen_test]
fn simd128_gram_and_the_workers_parts_give_the_spectrum() {
    for (rows, d) in [(1, 32), (200, 96), (130, 576)] {
        let m = random_matrix(rows, d, (rows + d) as u64);
        let mut g = [Gram::new(d).unwrap(), Gram::new(d).unwrap()];
        for (g, k) in g.iter_mut().zip([Kernel::Scalar, Kernel::Simd128]) {
            g.accumulate_with(k, &m, 0..rows, &mut |_| true).unwrap();
        }
        let (a, b) = (g[0].to_matrix(), g[1].to_matrix());
        let gamma = (PANEL as f64 + 2.0) * f32::EPSILON as f64 / 2.0;
        for j in 0..d {
            for k in 0..d {
                let bound = 2.0 * gamma * (a[[j, j]] * a[[k, k]]).sqrt();
                assert!(
                    (a[[j, k]] - b[[j, k]]).abs() <= bound,
                    "{rows}×{d} ({j}, {k})"
                );
            }
        }
    }
    let mut ex = Explorer::new(tiny_gguf(), &[]).unwrap();
    let bounds = ex.spectrum_split(4);
    assert_eq!(bounds, vec![0.0, 50.0], "50 rows are one part");
    let parts = js_sys::Array::new();
    for (s, e) in [(0, 20), (20, 21), (21, 50)] {
        let scales = ex.unembedding_scales(s, e).unwrap();
        let quants = ex.unembedding_quants(s, e).unwrap();
        let tiles = gram_part(64, scales, quants, None).unwrap();
        parts.push(&js_sys::Float64Array::from(&tiles[..]));
    }
    let got = spectrum_from_gram(64, parts, None).unwrap();
    let want = ex.singular_values(None).unwrap();
    for (x, y) in got.sigma().iter().zip(&want) {
        // panels split elsewhere: the same eigenvalues σ² to the f32 panels' rounding (the
        // rank is 50 of 64, so the last σ are square roots of rounding noise).
        assert!(
            (x * x - y * y).abs() <= 1e-5 * want[0] * want[0],
            "{x} vs {y}"
        );
    }
    assert_eq!(got.v().len(), 64 * 64);
    assert!(ex.unembedding_quants(40, 60).is_err());
    assert!(gram_part(64, vec![1.0; 3], vec![0; 64], None).is_err());
    assert!(spectrum_from_gram(64, js_sys::Array::new(), None).is_err());
}

#[wasm_bindgen_test]
fn explorer_reports_errors_instead_of_panicking() {
    let ex = Explorer::new(tiny_gguf(), &[]).unwrap();
    assert!(ex
        .query(spec(serde_json::json!({"token": "nope"})))
        .is_err());
    assert!(ex.query(spec(serde_json::json!({"id": 999}))).is_err());
    assert!(ex
        .query(spec(serde_json::json!({"id": 1, "temperature": -1.0})))
        .is_err());
    let mut h = vec![0.5f32; 64];
    h[3] = f32::NAN;
    assert!(ex.logits(&h).is_err());
    assert!(ex.logits(&[1.0; 10]).is_err());
    assert!(Explorer::new(b"not a model at all".to_vec(), &[]).is_err());
    // still usable after the errors.
    assert!(ex.query(spec(serde_json::json!({"id": 1}))).is_ok());
}

#[wasm_bindgen_test]
fn header_needs_asks_for_more_then_is_satisfied() {
    let b = tiny_gguf();
    let total = b.len() as f64;
    let need = header_needs(&b[..16], total).unwrap();
    assert!(need > 16.0 && need <= total);
    // growing the prefix (at least to what was asked, doubling as a page would) parses.
    let mut have = need as usize;
    for _ in 0..40 {
        let n = header_needs(&b[..have], total).unwrap();
        if n == 0.0 {
            break;
        }
        have = (n as usize).max(2 * have).min(b.len());
    }
    assert_eq!(header_needs(&b[..have], total).unwrap(), 0.0);
    let mut bad = b.clone();
    bad[4] = 9; // version 9
    assert!(header_needs(&bad[..64], total).is_err());
}

#[wasm_bindgen_test]
fn the_widget_shows_one_readout() {
    let ex = Explorer::new(tiny_gguf(), &[]).unwrap();
    let mut w = Widget::new(&ex);
    let view = |w: &mut Widget, c: serde_json::Value| -> serde_json::Value {
        let r: serde_json::Value =
            serde_wasm_bindgen::from_value(w.update(&c.to_string()).unwrap()).unwrap();
        assert_eq!(r["problems"], serde_json::json!([]), "{c}");
        r["view"].clone()
    };
    let v = view(
        &mut w,
        serde_json::json!({"base": " Paris", "target": "#3", "top": 4, "temperature": 0.5}),
    );
    assert_eq!(v["ranked_by"], "logit");
    assert_eq!(v["top"].as_array().unwrap().len(), 4);
    assert_eq!(v["by_cosine"][0]["id"], 7);
    assert_eq!(v["by_cosine"][0]["cos_rank"], 1);
    let t = &v["target"];
    assert_eq!(t["id"], 3);
    assert!(t["loss"].as_f64().unwrap() > 0.0);
    assert!(t["gradient"]["norm"].as_f64().unwrap() > 0.0);
    // the CLI's query of the same h answers the same numbers.
    let q: serde_json::Value = serde_wasm_bindgen::from_value(
        ex.query(spec(
            serde_json::json!({"token": " Paris", "target": "#3", "top": 4, "temperature": 0.5}),
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(q["top"], v["top"]);
    assert_eq!(q["target"], v["target"]);
    // at T = 0 a target that is not the arg-max has an infinite loss and no gradient.
    let v = view(
        &mut w,
        serde_json::json!({"base": " Paris", "target": "#3", "temperature": 0.0}),
    );
    assert_eq!(v["target"]["loss"], "Infinity");
    assert!(v["target"].get("gradient").is_none());
    // h given as numbers.
    let v = view(
        &mut w,
        serde_json::json!({"base": "given", "h": vec![0.25f32; 64]}),
    );
    assert!((v["h_norm"].as_f64().unwrap() - 2.0).abs() < 1e-6);
}

fn value(v: Result<JsValue, wasm_bindgen::JsError>) -> serde_json::Value {
    serde_wasm_bindgen::from_value(v.map_err(|_| "a JsError").unwrap()).unwrap()
}

/// a link's state as the page loads it: each bad value reported and replaced, the rest kept,
/// the pieces built one per call, and the steps left for a Worker, whose replay the widget
/// adopts to the same view as steps taken one by one.
#[wasm_bindgen_test]
fn a_link_loads_field_by_field_and_its_steps_are_replayed() {
    let ex = Explorer::new(tiny_gguf(), &[]).unwrap();
    let mut w = Widget::new(&ex);
    let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let text = format!(
        r#"{{"base":" w3","mix_with":" w4","mix":0.3,"noise":0.01,"coeffs":{deep},"top":0,"lr":"abc","target":" w9","steps":4,"x":1}}"#
    );
    let r = value(w.load(&text, "link", false));
    let keys: Vec<&str> = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["coeffs[0]", "lr", "x"]);
    assert_eq!(r["controls"]["top"], 0);
    assert_eq!(r["controls"]["steps"], 4);
    let mut built = 0;
    while w.prepare().map_err(|_| "prepare").unwrap() {
        built += 1;
    }
    assert_eq!(built, 3, "base, mix token, noise");
    let state = r["controls"].to_string();
    let u = value(w.update(&state));
    assert_eq!(u["replay"], 4, "more than one step is left to a Worker");
    assert_eq!(
        u["view"]["top"],
        serde_json::json!([]),
        "top = 0: an empty table"
    );
    // the Worker's side.
    let ex2 = Explorer::new(tiny_gguf(), &[]).unwrap();
    let mut worker = Widget::new(&ex2);
    let from = value(w.controls());
    let mut from_steps = from.clone();
    from_steps["steps"] = 4.into();
    let rep = worker
        .replay(&from_steps.to_string(), None)
        .map_err(|_| "replay")
        .unwrap();
    let get = |k: &str| {
        js_sys::Float64Array::from(js_sys::Reflect::get(&rep, &k.into()).unwrap()).to_vec()
    };
    let a = value(w.adopt(&from_steps.to_string(), 4, get("h"), get("z"), get("loss")));
    // the same as a widget that took the steps one by one.
    let mut one = Widget::new(&ex);
    let mut last = serde_json::Value::Null;
    for k in 0..=4 {
        let mut c = from.clone();
        c["steps"] = k.into();
        last = value(one.update(&c.to_string()));
        assert_eq!(last["replay"], 0);
    }
    assert_eq!(a["view"], last["view"]);
    assert_eq!(value(w.controls()), value(one.controls()));
}

/// a second tiny model: 40 tokens of d = 32, " Paris" and " w1" … " w9" shared with
/// [`tiny_gguf`]'s vocabulary, the rest its own.
fn other_gguf() -> Vec<u8> {
    let (rows, d) = (40, 32);
    let mut toks: Vec<String> = (0..rows).map(|i| format!("Ġx{i}")).collect();
    for (i, t) in toks.iter_mut().enumerate().take(10) {
        *t = format!("Ġw{i}");
    }
    toks[12] = "ĠParis".into();
    GgufBuilder::new()
        .meta("general.name", Value::Str("other".into()))
        .tokens(VocabKind::ByteLevel, toks)
        .matrix(names::TOKEN_EMBD, &random_matrix(rows, d, 9))
        .build()
}

/// the Compare view's façade: summaries as the core's profiles give them, a text and a word
/// answered per model (a word one vocabulary lacks is that side's error, not a throw), and
/// no spectrum computed on the page's thread.
#[wasm_bindgen_test]
fn comparison_answers_per_model() {
    let mut a = Explorer::new(tiny_gguf(), &[]).unwrap();
    let mut b = Explorer::new(other_gguf(), &[]).unwrap();
    let mut c = Comparison::new(&a, &b);
    // neither file carries a spectrum: the page computes it in Workers first.
    assert!(c.summaries().is_err());
    a.singular_values(None).unwrap();
    b.singular_values(None).unwrap();
    let mut c2 = Comparison::new(&a, &b);
    // one profile per call, so the page yields between them.
    assert!(c2.prepare().unwrap());
    assert!(!c2.prepare().unwrap());
    assert!(!c2.prepare().unwrap());
    let s: serde_json::Value = serde_wasm_bindgen::from_value(c2.summaries().unwrap()).unwrap();
    assert_eq!(
        (s[0]["vocab"].as_u64(), s[0]["d"].as_u64()),
        (Some(50), Some(64))
    );
    assert_eq!(
        (s[1]["vocab"].as_u64(), s[1]["d"].as_u64()),
        (Some(40), Some(32))
    );
    let mut m = unembed::core::model::Model::from_bytes(tiny_gguf(), None).unwrap();
    let p = unembed::core::compare::profile(&mut m, 10, &mut |_| true).unwrap();
    assert_eq!(
        s[0]["effective_rank"].as_f64(),
        Some(p.summary.effective_rank)
    );

    let t: serde_json::Value =
        serde_wasm_bindgen::from_value(c2.text("Paris", 5).unwrap()).unwrap();
    for (side, id) in [(0, 7), (1, 12)] {
        let m = &t["models"][side];
        assert_eq!(m["read"][0]["id"], id);
        assert_eq!(m["top_cosine"][0]["id"], id);
        assert_eq!(m["top_logit"].as_array().unwrap().len(), 5);
        let rho = m["spearman_dot_cos"].as_f64().unwrap();
        assert!(rho > 0.0 && rho <= 1.0);
    }
    // " w1"'s neighbours: the shared texts are matched in the other model.
    let n: serde_json::Value =
        serde_wasm_bindgen::from_value(c2.neighbours("w1", 8).unwrap()).unwrap();
    let list = n["models"][0]["list"].as_array().unwrap();
    assert_eq!(list.len(), 8);
    for e in list {
        // " w0" … " w9" and " Paris" are in both vocabularies.
        let t = e["text"].as_str().unwrap();
        let shared = (t.len() == 3 && t.starts_with(" w")) || t == " Paris";
        assert_eq!(e["other"].is_object(), shared, "{e}");
    }
    // " w20" is only in the first vocabulary: the second side says so.
    let n: serde_json::Value =
        serde_wasm_bindgen::from_value(c2.neighbours("w20", 3).unwrap()).unwrap();
    assert_eq!(n["models"][0]["list"].as_array().unwrap().len(), 3);
    assert!(n["models"][1]["error"].as_str().unwrap().contains("w20"));
    assert!(n["models"][0]["list"][0]["other"].is_null());
    c.set_lang("vi");
    drop(c);
}
