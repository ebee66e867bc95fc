//! any bytes as one query (the JSON of a `--batch` line, which is also what the page's controls
//! reduce to) against a small fixed model: token and expression parsing, mix, scale, noise,
//! temperature, target. every outcome must be Ok or Err; an Ok result must hold no NaN.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use unembed::core::gguf::{self, TensorOut, Value};
use unembed::core::model::{Model, QueryOptions};
use unembed::core::q8::Q8Matrix;
use unembed::core::query::{self, QuerySpec};
use unembed::core::source::SliceSource;

const ROWS: usize = 300;
const D: usize = 64;

fn model() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| {
        let mut s = 7u64;
        let mut data: Vec<f32> = (0..ROWS * D)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect();
        // a zero row: its cosine is undefined and must come out as a number anyway.
        data[5 * D..6 * D].fill(0.0);
        let m = Q8Matrix::quantize(&data, ROWS, D).unwrap();
        let words = ["Ġking", "Ġman", "Ġwoman", "king", "Ġqueen", "Ġzero", "<img src=x>", "\u{202e}"];
        let toks = (0..ROWS)
            .map(|i| Value::Str(words.get(i).map_or(format!("Ġt{i}"), |w| w.to_string())))
            .collect();
        let md = vec![
            ("general.name".to_string(), Value::Str("fuzz".into())),
            ("tokenizer.ggml.model".to_string(), Value::Str("gpt2".into())),
            ("tokenizer.ggml.tokens".to_string(), Value::Array(8, toks)),
        ];
        let t = TensorOut {
            name: "token_embd.weight".into(),
            dims: vec![D as u64, ROWS as u64],
            ggml_type: 8,
            data: m.to_ggml_bytes(),
        };
        Model::from_source(&SliceSource::whole(&gguf::write(&md, &[t])), None).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(spec) = serde_json::from_slice::<QuerySpec>(data) else {
        return;
    };
    let m = model();
    if let Ok(r) = query::run_query(m, &spec, &QueryOptions::default()) {
        for e in &r.top {
            assert!(
                ![e.logit, e.prob, e.norm, e.cos].iter().any(|x| x.is_nan()),
                "NaN in an Ok result: {spec:?}");
        }
        assert!(!r.entropy.is_nan(), "NaN entropy: {spec:?}");
    }
});
