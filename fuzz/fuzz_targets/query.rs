//! any bytes as a query against a small fixed model (with a zero row and hostile token strings):
//! a first byte that is even makes the rest one `--batch` query (token and expression parsing,
//! mix, scale, noise, temperature, target); odd makes it a JSON array of the page's controls,
//! applied in turn to one explorer session as a drag would (sliders, coefficients, gradient
//! steps, top) — or, when the byte's second bit is set, the rest is a link's state as text,
//! read field by field (`controls::parse`, `check_with_model`) and started as the page starts
//! a link. every outcome must be Ok or Err, and a result must hold no NaN; a link's state
//! always gives something to show.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use unembed::core::fixtures::GgufBuilder;
use unembed::core::model::Model;
use unembed::core::names;
use unembed::core::quant::matrix::Q8Matrix;
use unembed::core::query::{self, QuerySpec};
use unembed::core::readout::ReadoutOptions;
use unembed::core::vocab::VocabKind;
use unembed::core::controls::{self, Origin};
use unembed::core::session::{Controls, Session};
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
            .map(|i| words.get(i).map_or(format!("Ġt{i}"), |w| w.to_string()))
            .collect();
        let bytes = GgufBuilder::new()
            .tokens(VocabKind::ByteLevel, toks)
            .matrix(names::TOKEN_EMBD, &m)
            .build();
        Model::from_source(&SliceSource::whole(&bytes), None).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    if mode % 2 == 1 {
        return if mode & 2 != 0 { link(data) } else { session(data) };
    }
    let Ok(spec) = serde_json::from_slice::<QuerySpec>(data) else {
        return;
    };
    let m = model();
    if let Ok(r) = query::run_query(m, &spec, &ReadoutOptions::default()) {
        for e in &r.top {
            assert!(
                ![e.logit, e.prob, e.norm, e.cos].iter().any(|x| x.is_nan()),
                "NaN in an Ok result: {spec:?}"
            );
        }
        assert!(!r.entropy.is_nan(), "NaN entropy: {spec:?}");
    }
});

fn session(data: &[u8]) {
    let Ok(steps) = serde_json::from_slice::<Vec<Controls>>(data) else {
        return;
    };
    let mut m = model().clone();
    let mut s = Session::new();
    for c in steps.iter().take(16) {
        if s.update(&mut m, c).is_err() {
            continue;
        }
        let (v, _) = s.view(&m).expect("a view after a successful update");
        let r = &v.readout;
        let nums = r.top.iter().chain(&r.by_cosine).flat_map(|e| [e.logit, e.prob, e.norm, e.cos]);
        for x in nums.chain([r.h_norm, r.entropy]) {
            assert!(!x.is_nan(), "NaN in a view: {c:?}");
        }
    }
}

fn link(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut m = model().clone();
    let defaults = Controls::for_model(&m);
    let mut checked = controls::parse(&text, Origin::Link, &defaults, &defaults);
    controls::check_with_model(&m, &mut checked, &defaults);
    for p in &checked.problems {
        assert!(!p.message(false).is_empty() && !p.message(true).is_empty());
    }
    let mut s = Session::new();
    s.start(&mut m, &mut checked, &defaults, 1)
        .unwrap_or_else(|e| panic!("a link's state must start: {text:?}: {e}"));
    let (v, _) = s.view(&m).expect("a view after a start");
    for x in [v.readout.h_norm, v.readout.entropy, v.drift_norm] {
        assert!(!x.is_nan(), "NaN in a view: {text:?}");
    }
}
