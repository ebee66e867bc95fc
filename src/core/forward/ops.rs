//! the pieces every architecture's layer is made of, each as llama.cpp's CPU backend computes
//! it (ggml/src/ggml-cpu/ops.cpp and vec.cpp; the formulas and their float order are cited per
//! function). none of them allocates: callers hand in their buffers.

use half::f16;

/// RMSNorm with a weight: y = (x·s)·w, s = 1/√(mean(x²) + ε). follows
/// `ggml_compute_forward_rms_norm_f32` (ops.cpp) fused with the weight's `ggml_mul`: the squares
/// are f32 products summed in f64 in order, the mean is rounded to f32, s = 1.0f/sqrtf(mean + ε).
pub fn rms_norm(x: &[f32], w: &[f32], eps: f32, y: &mut [f32]) {
    let s = rms_scale(x, eps);
    for ((y, &x), &w) in y.iter_mut().zip(x).zip(w) {
        *y = (x * s) * w;
    }
}

/// [`rms_norm`] of x into itself (the per-head query and key norms of gemma3).
pub fn rms_norm_in_place(x: &mut [f32], w: &[f32], eps: f32) {
    let s = rms_scale(x, eps);
    for (x, &w) in x.iter_mut().zip(w) {
        *x = (*x * s) * w;
    }
}

/// 1/√(mean(x²) + ε) as `rms_norm` computes it.
pub fn rms_scale(x: &[f32], eps: f32) -> f32 {
    let mut sum = 0f64;
    for &v in x {
        sum += (v * v) as f64;
    }
    let mean = (sum / x.len().max(1) as f64) as f32;
    1.0f32 / (mean + eps).sqrt()
}

/// the rotation angles of one position: (cos θ_k, sin θ_k) for pair k < dims/2, with
/// θ_k = p·base^(−2k/dims)·freq_scale computed as `ggml_rope_cache_init` (ops.cpp) does: a
/// running f32 product θ ← θ·ts starting from θ = p, ts = base^(−2/dims) (powf, here computed in
/// f64 and rounded, which is the correctly rounded value glibc's powf gives), cos and sin in f32.
pub fn rope_cache(pos: usize, dims: usize, base: f32, freq_scale: f32, out: &mut [(f32, f32)]) {
    let ts = (base as f64).powf(-2.0 / dims as f64) as f32;
    let mut theta = pos as f32;
    for c in out.iter_mut().take(dims / 2) {
        let t = freq_scale * theta;
        // glibc's cosf/sinf are within an ulp; the f64 functions rounded to f32 are the
        // correctly rounded values, the same on every platform (native and wasm).
        *c = ((t as f64).cos() as f32, (t as f64).sin() as f32);
        theta *= ts;
    }
}

/// rotates one head's vector in place by the angles of `cache`, llama.cpp's NORM mode (arch
/// `llama`): pairs (2k, 2k+1). `rotate_pairs` in ops.cpp: x0' = x0·cos − x1·sin,
/// x1' = x0·sin + x1·cos. the GGUF converter permuted the Q and K rows of HF's rotate-half
/// layout so that this pairing applies to them as stored.
pub fn rope_norm(x: &mut [f32], cache: &[(f32, f32)]) {
    for (pair, &(c, s)) in x.chunks_exact_mut(2).zip(cache) {
        let (x0, x1) = (pair[0], pair[1]);
        pair[0] = x0 * c - x1 * s;
        pair[1] = x0 * s + x1 * c;
    }
}

/// the same rotation in NEOX mode (pairs (k, k + dims/2); Gemma), for the first 2·cache.len()
/// dimensions.
pub fn rope_neox(x: &mut [f32], cache: &[(f32, f32)]) {
    let half = cache.len();
    for (k, &(c, s)) in cache.iter().enumerate() {
        let (x0, x1) = (x[k], x[k + half]);
        x[k] = x0 * c - x1 * s;
        x[k + half] = x0 * s + x1 * c;
    }
}

/// the values a head stores in the KV cache: f16, rounded to nearest even, as llama.cpp's
/// default F16 cache (`ggml_cpu_fp32_to_fp16` in `ggml_set_rows`).
pub fn to_f16(x: &[f32], out: &mut [f16]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = f16::from_f32(v);
    }
}

/// one head's attention output for one query over `n` cached positions:
/// s_j = (q̃·k_j)·scale, p = softmax(s), out = Σ_j p̃_j v_j, where q̃ and p̃ are rounded to f16
/// as llama.cpp's non-flash path rounds them before its F16 dot products (`ggml_compute_forward_
/// mul_mat` converts src1 to F16 for an F16 src0). the softmax follows
/// `ggml_compute_forward_soft_max_f32`: scores scaled in f32, the max subtracted, exp in f32, the
/// sum in f64, then every term times (f32)(1/sum). `k` and `v` hold n rows of `dim` f16 values
/// (position-major); `scores` is scratch of at least n.
pub fn attend(
    q: &[f32],
    k: &[f16],
    v: &[f16],
    n: usize,
    scale: f32,
    scores: &mut [f32],
    out: &mut [f32],
) {
    let dim = q.len();
    let mut qh = [0f32; 512];
    let qh = &mut qh[..dim];
    for (a, &b) in qh.iter_mut().zip(q) {
        *a = f16::from_f32(b).to_f32();
    }
    let mut max = f32::NEG_INFINITY;
    for j in 0..n {
        let kj = &k[j * dim..(j + 1) * dim];
        let mut dot = 0f32;
        for (&a, &b) in qh.iter().zip(kj) {
            dot += a * b.to_f32();
        }
        let s = dot * scale;
        scores[j] = s;
        max = max.max(s);
    }
    let mut sum = 0f64;
    for s in scores[..n].iter_mut() {
        *s = (*s - max).exp();
        sum += *s as f64;
    }
    let inv = (1.0 / sum) as f32;
    out.iter_mut().for_each(|o| *o = 0.0);
    for j in 0..n {
        let p = f16::from_f32(scores[j] * inv).to_f32();
        let vj = &v[j * dim..(j + 1) * dim];
        for (o, &b) in out.iter_mut().zip(vj) {
            *o += p * b.to_f32();
        }
    }
}

/// SwiGLU in place: g ← silu(g)·u with silu(g) = g/(1 + e^−g) (`ggml_vec_swiglu_f32`,
/// vec.cpp).
pub fn swiglu(g: &mut [f32], u: &[f32]) {
    for (g, &u) in g.iter_mut().zip(u) {
        *g = *g / (1.0 + (-*g).exp()) * u;
    }
}

/// GELU (tanh approximation) as llama.cpp's CPU backend evaluates it for GeGLU: with
/// `GGML_GELU_FP16` defined (ggml-cpu/vec.h), `ggml_vec_geglu_f32` gives 0 for x ≤ −10, x·g for
/// x ≥ 10, and otherwise looks x rounded to f16 up in a table of f16(gelu(x)) for every f16 x,
/// times g. ggml builds that table once (`ggml_cpu_init`, ggml-cpu.c) from
/// `ggml_gelu_f32(x) = 0.5f·x·(1.0f + tanhf(SQRT_2_OVER_PI·x·(1.0f + GELU_COEF_A·x·x)))` with
/// GELU_COEF_A = 0.044715f and SQRT_2_OVER_PI = 0.7978845608…f; we build ours at load time from
/// the same f32 expression in the same order, with the one contraction gcc makes in
/// llama-cpp-python's build (its disassembly of `ggml_cpu_init` has `1.0f + (A·x)·x` as one
/// vfmadd; `mul_add` here, a correctly rounded fma natively and in wasm). the libm difference:
/// our tanh is the f64 tanh rounded to f32, glibc's tanhf is within an ulp of it; after the
/// rounding to f16 the two give the same 63,488 finite entries (checked with ctypes against
/// glibc 2.36), and without the fma one entry (x = −1.999) would differ by an f16 ulp.
#[derive(Clone)]
pub struct GeluTable(Box<[f16]>);

impl GeluTable {
    pub fn new() -> Self {
        const GELU_COEF_A: f32 = 0.044715;
        const SQRT_2_OVER_PI: f32 = 0.797_884_6;
        let t: Vec<f16> = (0..=u16::MAX)
            .map(|bits| {
                let x = f16::from_bits(bits).to_f32();
                let inner = SQRT_2_OVER_PI * x * (GELU_COEF_A * x).mul_add(x, 1.0);
                let th = (inner as f64).tanh() as f32;
                f16::from_f32(0.5 * x * (1.0 + th))
            })
            .collect();
        GeluTable(t.into_boxed_slice())
    }

    /// gelu(x) as the table gives it (f16(x) looked up), without the ±10 cut-offs.
    pub fn get(&self, x: f32) -> f32 {
        self.0[f16::from_f32(x).to_bits() as usize].to_f32()
    }

    /// GeGLU in place: g ← gelu(g)·u (`ggml_vec_geglu_f32`).
    pub fn geglu(&self, g: &mut [f32], u: &[f32]) {
        for (g, &u) in g.iter_mut().zip(u) {
            let x = *g;
            *g = if x <= -10.0 {
                0.0
            } else if x >= 10.0 {
                x * u
            } else {
                self.get(x) * u
            };
        }
    }
}

impl Default for GeluTable {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_norm_has_unit_rms_before_the_weight() {
        let x: Vec<f32> = (0..64).map(|i| (i as f32 - 20.0) * 0.3).collect();
        let w = vec![1.0f32; 64];
        let mut y = vec![0f32; 64];
        rms_norm(&x, &w, 1e-5, &mut y);
        let ms: f64 = y.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / 64.0;
        assert!((ms - 1.0).abs() < 1e-5, "{ms}");
    }

    #[test]
    fn rope_rotates_pairs_and_keeps_norms() {
        let mut cache = vec![(0f32, 0f32); 8];
        rope_cache(5, 16, 10000.0, 1.0, &mut cache);
        // θ_0 = p exactly; each next angle is the running product.
        assert_eq!(cache[0].0, (5f64).cos() as f32);
        let ts = (10000f64).powf(-2.0 / 16.0) as f32;
        let t1 = 5f32 * ts;
        assert_eq!(cache[1].1, (t1 as f64).sin() as f32);
        let x: Vec<f32> = (0..16).map(|i| i as f32 * 0.25 - 1.0).collect();
        for rot in [rope_norm, rope_neox] {
            let mut y = x.clone();
            rot(&mut y, &cache);
            let n = |v: &[f32]| v.iter().map(|a| (a * a) as f64).sum::<f64>();
            assert!((n(&x) - n(&y)).abs() < 1e-4);
        }
        // position 0 rotates nothing.
        rope_cache(0, 16, 10000.0, 1.0, &mut cache);
        let mut y = x.clone();
        rope_norm(&mut y, &cache);
        assert_eq!(x, y);
    }

    #[test]
    fn attention_weights_are_a_softmax() {
        let dim = 4;
        let q = [1.0f32, 0.0, 0.0, 0.0];
        let keys = [
            [1.0f32, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [2.0, 0.0, 0.0, 0.0],
        ];
        let k: Vec<f16> = keys.iter().flatten().map(|&x| f16::from_f32(x)).collect();
        // v_j = e_j: the output is the attention weights themselves.
        let v: Vec<f16> = (0..3 * dim)
            .map(|i| f16::from_f32(if i % dim == i / dim { 1.0 } else { 0.0 }))
            .collect();
        let mut scores = [0f32; 3];
        let mut out = [0f32; 4];
        attend(&q, &k, &v, 3, 0.5, &mut scores, &mut out);
        let e = [0.5f64.exp(), 1.0, 1.0f64.exp()];
        let s: f64 = e.iter().sum();
        for j in 0..3 {
            assert!((out[j] as f64 - e[j] / s).abs() < 1e-3, "{out:?}");
        }
    }

    #[test]
    fn gelu_table_matches_the_formula() {
        let t = GeluTable::new();
        // gelu(x) = x·Φ(x) approximately; f16 lookups are within f16 rounding of the f64 formula.
        for i in -2000..=2000 {
            let x = i as f32 * 0.005;
            let xh = f16::from_f32(x).to_f32() as f64;
            let exact = 0.5
                * xh
                * (1.0
                    + ((2.0 / std::f64::consts::PI).sqrt() * xh * (1.0 + 0.044715 * xh * xh))
                        .tanh());
            let got = t.get(x) as f64;
            // f16's relative step is 2^-11; below 2^-14 its absolute step is 2^-24.
            assert!(
                (got - exact).abs() <= 1e-3 * exact.abs() + 1.2e-7,
                "{x}: {got} vs {exact}"
            );
        }
        let mut g = [-11.0f32, 11.0, 0.0, 1.0, -1.0];
        t.geglu(&mut g, &[2.0; 5]);
        assert_eq!(g[0], 0.0);
        assert_eq!(g[1], 22.0);
        assert_eq!(g[2], 0.0);
        assert_eq!(g[3], 2.0 * t.get(1.0));
        // gelu(1) = 0.8412 (tanh form), gelu(−1) = −0.1588.
        assert!((g[3] / 2.0 - 0.8412).abs() < 1e-3 && (g[4] / 2.0 + 0.1588).abs() < 1e-3);
    }
}
