//! the wasm tier: the simd128 kernels against the exact reference, and the façade, run by
//! wasm-bindgen-test-runner in Node (`scripts/test.sh`). native builds compile this to nothing.
#![cfg(target_arch = "wasm32")]

use unembed::core::gguf::{write, TensorOut, Value, GGML_Q8_0};
use unembed::core::kernels::{self, Kernel, Precision};
use unembed::core::q8::Q8Matrix;
use unembed::core::rng::Rng;
use unembed::wasm::{header_needs, Explorer};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

fn random_matrix(rows: usize, cols: usize, seed: u64) -> Q8Matrix {
    let mut rng = Rng::new(seed);
    let data: Vec<f32> = (0..rows * cols)
        .map(|k| rng.gauss() as f32 * (0.05 + ((k / cols) % 7) as f32 / 3.0))
        .collect();
    Q8Matrix::quantize(&data, rows, cols).unwrap()
}

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

fn tiny_gguf() -> Vec<u8> {
    let (rows, d) = (50, 64);
    let m = random_matrix(rows, d, 5);
    let mut toks: Vec<Value> = (0..rows).map(|i| Value::Str(format!("Ġw{i}"))).collect();
    toks[7] = Value::Str("ĠParis".into());
    let md = vec![
        ("general.name".to_string(), Value::Str("tiny".into())),
        (
            "tokenizer.ggml.model".to_string(),
            Value::Str("gpt2".into()),
        ),
        ("tokenizer.ggml.tokens".to_string(), Value::Array(8, toks)),
    ];
    let t = TensorOut {
        name: "token_embd.weight".into(),
        dims: vec![d as u64, rows as u64],
        ggml_type: GGML_Q8_0,
        data: m.to_ggml_bytes(),
    };
    write(&md, &[t])
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
