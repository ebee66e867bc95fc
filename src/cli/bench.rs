//! `unembed bench`: the full-vocabulary product per kernel and precision, the memory floor,
//! and the spectrum, natively (scripts/bench.sh prints these beside wasm and numpy).

use std::time::Instant;

use super::{load, one_file, Args};
use crate::core::error::Result;
use crate::core::quant::kernels::{Kernel, Precision};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn run(a: &mut Args) -> Result<()> {
    let reps: usize = a.parse("--reps")?.unwrap_or(200);
    let path = one_file(a)?;
    let mut m = load(&path, None)?;
    let d = m.d();
    let h: Vec<f32> = (0..d).map(|j| ((j as f32) * 0.37).sin()).collect();
    out!(
        "matrix {} × {} Q8_0, {} repetitions after 10 warm-ups",
        m.n_vocab(),
        d,
        reps.max(1)
    );
    let mut t = Vec::with_capacity(reps);
    for i in 0..reps.max(1) + 10 {
        let s = Instant::now();
        std::hint::black_box(m.unembedding().matrix().stream_checksum());
        if i >= 10 {
            t.push(s.elapsed().as_secs_f64() * 1e3);
        }
    }
    out!("native_memory_floor_median_ms {:.3}", median(&mut t));
    for k in Kernel::available() {
        for (precision, label) in [(Precision::Exact, "exact"), (Precision::Fast, "fast")] {
            let mut t = Vec::with_capacity(reps);
            for i in 0..reps.max(1) + 10 {
                let s = Instant::now();
                let z = m.unembedding().logits_with(&h, k, precision)?;
                std::hint::black_box(&z);
                if i >= 10 {
                    t.push(s.elapsed().as_secs_f64() * 1e3);
                }
            }
            let med = median(&mut t);
            let p95 = t[(t.len() * 95 / 100).min(t.len() - 1)];
            out!("native_matvec_{}_{label}_median_ms {med:.3}", k.name());
            out!("native_matvec_{}_{label}_p95_ms {p95:.3}", k.name());
        }
    }
    m.spectrum = None;
    let s = Instant::now();
    m.ensure_spectrum(&mut |_| true)?;
    out!("native_spectrum_s {:.3}", s.elapsed().as_secs_f64());
    Ok(())
}
