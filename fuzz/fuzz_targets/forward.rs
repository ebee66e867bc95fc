//! any bytes through the forward pass and the lens. the first byte is the mode: even, the rest
//! are token ids (two bytes each, any value, so ids past the vocabulary too) for a tiny random
//! llama (`fixtures::tiny_llama_bytes`), run as a prompt in batches and then continued, with
//! the lens read at every row; odd, the rest is a whole model file: reading its header and
//! building the pass may fail with an error, and if it does not, a two-token prompt runs. every
//! outcome must be Ok or Err, every number shown finite, and memory bounded (libFuzzer's
//! -rss_limit_mb).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use unembed::core::fixtures::tiny_llama_bytes;
use unembed::core::forward::{Precision, Transformer};
use unembed::core::lens::LensSession;
use unembed::core::model::Model;
use unembed::core::plan::read_header;
use unembed::core::source::SliceSource;

fn tiny() -> &'static Vec<u8> {
    static B: OnceLock<Vec<u8>> = OnceLock::new();
    B.get_or_init(|| tiny_llama_bytes(11))
}

fn session(bytes: Vec<u8>, precision: Precision) -> Option<LensSession> {
    let f = read_header(&SliceSource::whole(&bytes)).ok()?;
    let model = Model::from_source(&SliceSource::whole(&bytes), None).ok()?;
    let t = Transformer::new(&f.metadata, &f.index, bytes).ok()?;
    LensSession::new(model, t, 24, 3, precision).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 1 {
        if let Some(mut s) = session(rest.to_vec(), Precision::Quantized) {
            if s.start(&[0, 1]).is_ok() {
                let _ = s.run();
            }
        }
        return;
    }
    let precision = if mode & 2 == 0 {
        Precision::Quantized
    } else {
        Precision::Exact
    };
    let mut s = session(tiny().clone(), precision).expect("the tiny llama loads");
    let ids: Vec<u32> = rest
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]) as u32 % 48)
        .take(20)
        .collect();
    if s.start(&ids).is_err() {
        return;
    }
    s.run().expect("a prompt of ids in range runs");
    for row in 0..s.lens.rows {
        for p in 0..s.lens.positions {
            let c = s.lens.cell(row, p).expect("every cell read");
            assert!(c.entropy.is_finite() && c.log_z.is_finite());
            for e in &c.top {
                assert!(e.prob.is_finite() && e.logit.is_finite());
            }
        }
    }
    if let Ok(tok) = s.pick(0.7, 0.5) {
        let _ = s.append(tok);
    }
});
