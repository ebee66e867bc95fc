//! `unembed bench`: the full-vocabulary product per kernel and precision, the memory floor,
//! E × 64 vectors (GMAC/s, beside one vector's), and the spectrum (Gram on threads and on one,
//! eigen-decomposition, whole), natively (scripts/bench.sh prints these beside wasm and numpy).
//! `unembed bench --gemm`: the quantized matmul kernels on the SmolLM2-135M block shapes
//! (bench/gemm_wasm.mjs runs the same `gemm::bench::Bench` in wasm).

use std::time::Instant;

use super::{load, one_file, Args};
use crate::core::error::{Error, Result};
use crate::core::quant::gemm::{self, bench::Bench, bench::SMOLLM2_SHAPES};
use crate::core::quant::kernels::{Kernel, Precision};
use crate::core::quant::GgmlType;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn run(a: &mut Args) -> Result<()> {
    if a.flag("--gemm") {
        return run_gemm(a);
    }
    if a.flag("--forward") {
        return run_forward(a);
    }
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
    many_columns(&m, reps)?;
    m.spectrum = None;
    let e = m.unembedding().matrix();
    let parts = crate::core::spectrum::native_parts(e);
    let s = Instant::now();
    let g = crate::core::spectrum::gram_tiles(e, &mut |_| true)?;
    out!("native_gram_s {:.3}", s.elapsed().as_secs_f64());
    out!("native_gram_threads {parts}");
    let s = Instant::now();
    let mut one = crate::core::spectrum::Gram::new(e.cols())?;
    one.accumulate(e, 0..e.rows(), &mut |_| true)?;
    out!("native_gram_one_thread_s {:.3}", s.elapsed().as_secs_f64());
    let s = Instant::now();
    let _ = crate::core::spectrum::sym_eigen(g.to_matrix())?;
    out!("native_eigen_s {:.3}", s.elapsed().as_secs_f64());
    let s = Instant::now();
    m.ensure_spectrum(&mut |_| true)?;
    out!("native_spectrum_s {:.3}", s.elapsed().as_secs_f64());
    Ok(())
}

/// columns of the matrix × many vectors benchmark (the logit lens reads this many and more).
pub const MANY: usize = 64;

/// E × [`MANY`] vectors with each kernel (`run_many_uniform`, the lens's readout): the median
/// time and GMAC/s, beside the single-vector fast product's GMAC/s in the same run.
fn many_columns(m: &crate::core::model::Model, reps: usize) -> Result<()> {
    let (n, d) = (m.n_vocab(), m.d());
    let hs: Vec<Vec<f32>> = (0..MANY)
        .map(|c| {
            (0..d)
                .map(|j| ((j * (c + 1)) as f32 * 0.37).sin())
                .collect()
        })
        .collect();
    let cols: Vec<&[f32]> = hs.iter().map(|h| h.as_slice()).collect();
    let q: Vec<_> = cols
        .iter()
        .map(|h| crate::core::quant::kernels::QuantHUniform::new(h))
        .collect();
    let macs = (n * d * MANY) as f64;
    let mut out = vec![0f64; n * MANY];
    let reps = (reps / 20).max(3);
    for k in Kernel::available() {
        let mut t = Vec::with_capacity(reps);
        for i in 0..reps + 2 {
            let s = Instant::now();
            crate::core::quant::kernels::run_many_uniform(
                k,
                m.unembedding().matrix(),
                &q,
                &mut out,
            )?;
            std::hint::black_box(&out);
            if i >= 2 {
                t.push(s.elapsed().as_secs_f64());
            }
        }
        let med = median(&mut t);
        let mut one = Vec::with_capacity(reps);
        for i in 0..reps * 4 + 2 {
            let s = Instant::now();
            std::hint::black_box(m.unembedding().logits_with(&hs[0], k, Precision::Fast)?);
            if i >= 2 {
                one.push(s.elapsed().as_secs_f64());
            }
        }
        let one = median(&mut one);
        let (many_g, one_g) = (macs / med / 1e9, (n * d) as f64 / one / 1e9);
        out!("native_many{MANY}_{}_median_ms {:.3}", k.name(), med * 1e3);
        out!("native_many{MANY}_{}_gmacs {many_g:.2}", k.name());
        out!("native_one_vector_{}_fast_gmacs {one_g:.2}", k.name());
        out!(
            "native_many{MANY}_{}_vs_one_ratio {:.2}",
            k.name(),
            many_g / one_g
        );
    }
    Ok(())
}

/// the median and the least time of `reps` calls after 3 warm-ups, in ms (the least is what
/// an unloaded machine does; this one is shared).
fn time_ms(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<(f64, f64)> {
    let mut t = Vec::with_capacity(reps);
    for i in 0..reps + 3 {
        let s = Instant::now();
        f()?;
        if i >= 3 {
            t.push(s.elapsed().as_secs_f64() * 1e3);
        }
    }
    let med = median(&mut t);
    Ok((med, t[0]))
}

/// how often each of [`SMOLLM2_SHAPES`] runs in one of SmolLM2-135M's 30 layers (q and o,
/// k and v, gate and up, down), and how many times a layer quantizes activations of 576 and
/// of 1536 values (attention input, attention output, FFN input; FFN down's input).
const SMOLLM2_COUNTS: [f64; 4] = [2.0, 2.0, 2.0, 1.0];
const SMOLLM2_LAYERS: f64 = 30.0;

/// `unembed bench --gemm [--reps N] [--types Q4_1,Q8_0]`: each matmul kernel on the SmolLM2
/// shapes (K-quants, whose rows must hold whole 256-blocks, on 576 × 1536 and Gemma 3's
/// 640 × 2048) at n = 1 (decode) and 32 (prefill): ms and GMAC/s; for 32-blocks the time of
/// one token's block matrices (106 M multiply-adds), with and without quantizing the
/// activations.
fn run_gemm(a: &mut Args) -> Result<()> {
    let reps: usize = a.parse::<usize>("--reps")?.unwrap_or(30).max(1);
    let types = match a.opt("--types")? {
        None => gemm::TYPES.to_vec(),
        Some(list) => list
            .split(',')
            .map(|t| {
                GgmlType::from_name(t.trim())
                    .filter(|t| gemm::TYPES.contains(t))
                    .ok_or_else(|| {
                        Error::Invalid(format!("--types: no quantized matmul for {t:?}"))
                    })
            })
            .collect::<Result<_>>()?,
    };
    if let [first, ..] = a.positionals()?.as_slice() {
        return Err(Error::Invalid(format!(
            "bench --gemm takes no file ({first:?})"
        )));
    }
    out!(
        "# quantized matmul, median and min of {reps} runs after 3 warm-ups; \
         GMAC/s = rows·k·n / time (best: from the min)"
    );
    for ty in types {
        let smollm2 = ty.block_size() == 32;
        let shapes: Vec<(usize, usize)> = if smollm2 {
            SMOLLM2_SHAPES.to_vec()
        } else {
            vec![(576, 1536), (640, 2048)]
        };
        for n in [1, 32] {
            let mut benches = shapes
                .iter()
                .enumerate()
                .map(|(i, &(rows, k))| Bench::new(ty, rows, k, n, 1 + i as u64))
                .collect::<Result<Vec<_>>>()?;
            // quantizing a layer's activations: three inputs of 576 values, one of 1536.
            let (mut quant_ms, mut quant_min) = (0.0, 0.0);
            if smollm2 {
                for (b, count) in [(0, 3.0), (3, 1.0)] {
                    let (med, min) = time_ms(reps, || benches[b].quantize())?;
                    let k = shapes[b].1;
                    let f = ty.act_format().map_or("", |f| f.name());
                    out!("native_quantize_{f}_k{k}_n{n}_ms {med:.4}");
                    out!("native_quantize_{f}_k{k}_n{n}_min_ms {min:.4}");
                    quant_ms += count * med;
                    quant_min += count * min;
                }
            }
            for kernel in gemm::kernels(ty) {
                let (mut token_ms, mut token_min) = (0.0, 0.0);
                for (i, b) in benches.iter_mut().enumerate() {
                    let (med, min) = time_ms(reps, || b.run(kernel))?;
                    let (rows, k) = shapes[i];
                    let name = format!("native_gemm_{ty}_{rows}x{k}_n{n}_{}", kernel.name());
                    out!("{name}_ms {med:.4}");
                    out!("{name}_min_ms {min:.4}");
                    out!("{name}_gmacs {:.2}", b.macs() / med / 1e6);
                    out!("{name}_best_gmacs {:.2}", b.macs() / min / 1e6);
                    std::hint::black_box(b.checksum());
                    if smollm2 {
                        token_ms += SMOLLM2_COUNTS[i] * med;
                        token_min += SMOLLM2_COUNTS[i] * min;
                    }
                }
                if smollm2 {
                    // per token: 30 layers of the seven matmuls (and four quantizations).
                    let per = |ms: f64| ms * SMOLLM2_LAYERS / n as f64;
                    let with_q = per(token_ms + quant_ms);
                    let name = format!("native_gemm_{ty}_{}_smollm2_n{n}", kernel.name());
                    out!("{name}_ms_per_token {:.3}", per(token_ms));
                    out!("{name}_ms_per_token_with_quantize {with_q:.3}");
                    out!(
                        "{name}_best_ms_per_token_with_quantize {:.3}",
                        per(token_min + quant_min)
                    );
                    out!("{name}_tokens_per_s {:.1}", 1e3 / with_q);
                }
            }
        }
    }
    Ok(())
}

/// `unembed bench --forward MODEL [--reps N]`: the forward pass and the lens on a whole model
/// file: ms per token of a 32-token prefill and of 16 decoded tokens, and the whole lens of a
/// 16-token prompt (bench/lens_chromium.mjs times the same in the browser).
fn run_forward(a: &mut Args) -> Result<()> {
    let reps: usize = a.parse("--reps")?.unwrap_or(3);
    let path = one_file(a)?;
    let mut s = super::lens::open(&path, 64, 5, crate::core::forward::Precision::Quantized)?;
    let ids = s.tokenize(crate::core::lens::BENCH_PROMPT)?;
    let ids: Vec<u32> = ids.iter().copied().cycle().take(32).collect();
    let start = Instant::now();
    let now = || start.elapsed().as_secs_f64() * 1e3;
    out!(
        "forward pass and lens of {}, {} repetitions (medians)",
        path.display(),
        reps.max(1)
    );
    let mut runs = Vec::new();
    for _ in 0..reps.max(1) {
        runs.push(crate::core::lens::bench(&mut s, &ids, 16, 16, &now)?);
    }
    let med = |f: &dyn Fn(&crate::core::lens::Timings) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        median(&mut v)
    };
    out!(
        "native_prefill_32_ms_per_token {:.2}",
        med(&|t| t.prefill_ms_per_token)
    );
    out!(
        "native_prefill_tokens_per_s {:.1}",
        1e3 / med(&|t| t.prefill_ms_per_token)
    );
    out!(
        "native_decode_ms_per_token {:.2}",
        med(&|t| t.decode_ms_per_token)
    );
    out!(
        "native_lens_16_first_row_ms {:.1}",
        med(&|t| t.lens_first_row_ms)
    );
    out!("native_lens_16_ms {:.1}", med(&|t| t.lens_ms));
    Ok(())
}
