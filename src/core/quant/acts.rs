//! activations quantized for ggml's block products: before a weight in a block format
//! multiplies a vector, ggml's CPU path quantizes the vector into the weight type's
//! `vec_dot_type` (ggml-cpu/ggml-cpu.c `type_traits_cpu`), so that every block's dot product
//! is an exact integer sum. [`ActFormat`] names the three formats, [`GgmlType::act_format`]
//! says which one a weight type takes, and [`QActs`] holds n vectors of length k in it.
//!
//! per block of 32 (Q8_0, Q8_1), as ggml-cpu/arch/x86/quants.c `quantize_row_q8_0` and
//! `quantize_row_q8_1` compute it on x86 (not the `_ref` functions of ggml-quants.c, which
//! differ in the multiplier and in how ties round):
//!
//! ```text
//! amax = max_j |x_j|
//! d    = amax / 127                          f32; stored as f16 (round to nearest even)
//! id   = 127 / amax   (0 when amax = 0)      f32; not 1/d
//! q_j  = round_half_even(x_j · id)           ∈ −127..127
//! s    = f16(d · Σ_j q_j)                    Q8_1 only; d the unrounded f32
//! ```
//!
//! per block of 256 (Q8_K), as ggml-quants.c `quantize_row_q8_K_ref` (which the x86
//! `quantize_row_q8_K` calls):
//!
//! ```text
//! max    = the x_j of largest |x_j| (the first one when several tie)
//! iscale = −127 / max                        f32 (d = 0 and q = 0 when max = 0)
//! q_j    = min(127, round_half_even(iscale · x_j))
//! d      = 1 / iscale                        f32
//! bsums  = Σ q over each 16 values
//! ```
//!
//! the value a quant stands for is x̂_j = d·q_j (the f16 d for Q8_0 and Q8_1), exact in f64;
//! |x_j − x̂_j| ≤ d/2 plus the rounding of d to f16 (127·|d − f16(d)|) and of the multiplier.
//!
//! where we differ from ggml's bytes, no product does: when 127/amax overflows f32
//! (amax < 3.8e-37) ggml's `_mm256_cvtps_epi32` turns x·∞ into −128 for every value, we
//! store q = 0; the f16 d is 0 there either way. ggml's Q8_K reference leaves `bsums`
//! untouched for a zero block; we store zeros. and where ggml would store an infinite f16
//! (a block of Q8_0/Q8_1 with amax/127 ≥ 65520, or a Q8_1 s = d·Σq ≥ 65520, that is
//! activations of about 2000 and more all of one sign), [`QActs::quantize`] is an error
//! rather than a silent ∞ in every product.

use half::f16;

use super::GgmlType;
use crate::core::error::{Error, Result};

/// ggml's activation formats (the `vec_dot_type`s of the block formats).
// ggml's names, as in GgmlType.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ActFormat {
    /// 32 values, f16 d, int8 quants: for Q4_0, Q5_0, Q8_0, IQ4_NL weights.
    #[default]
    Q8_0,
    /// Q8_0 plus s = d·Σq as f16: for Q4_1 and Q5_1 weights (the minimum's product).
    Q8_1,
    /// 256 values, f32 d, int8 quants, the sums of each 16 quants: for the K-quants.
    Q8_K,
}

impl ActFormat {
    /// the ggml type of the same layout.
    pub fn ggml_type(self) -> GgmlType {
        match self {
            ActFormat::Q8_0 => GgmlType::Q8_0,
            ActFormat::Q8_1 => GgmlType::Q8_1,
            ActFormat::Q8_K => GgmlType::Q8_K,
        }
    }

    /// values per block: 32, 32, 256.
    pub fn block_size(self) -> usize {
        self.ggml_type().block_size()
    }

    pub fn name(self) -> &'static str {
        self.ggml_type().name()
    }
}

impl GgmlType {
    /// the format ggml quantizes the activations into before this weight type multiplies
    /// them: `vec_dot_type` in ggml-cpu.c `type_traits_cpu`. None for float and integer
    /// types (F32, F16 and BF16 weights multiply float activations) and for Q8_K, which is
    /// only ever the activation side.
    pub fn act_format(self) -> Option<ActFormat> {
        use GgmlType::*;
        match self {
            Q4_0 | Q5_0 | Q8_0 | IQ4_NL => Some(ActFormat::Q8_0),
            Q4_1 | Q5_1 | Q8_1 => Some(ActFormat::Q8_1),
            Q2_K | Q3_K | Q4_K | Q5_K | Q6_K | IQ2_XXS | IQ2_XS | IQ3_XXS | IQ1_S | IQ3_S
            | IQ2_S | IQ4_XS | IQ1_M | TQ1_0 | TQ2_0 => Some(ActFormat::Q8_K),
            F32 | F16 | BF16 | Q8_K | I8 | I16 | I32 | I64 | F64 => None,
        }
    }
}

/// n column vectors of length k, quantized in one [`ActFormat`]. column c's block b has its
/// scale at `scales()[c·nb + b]` (nb = k / block size) and its quants at
/// `quants()[c·k + 32·b ..]`. the buffers are kept between calls to
/// [`quantize`](Self::quantize), so a decode loop allocates only when a shape grows.
#[derive(Debug, Clone, Default)]
pub struct QActs {
    format: ActFormat,
    n: usize,
    k: usize,
    /// per column per block: d as f32 (the f16 value for Q8_0/Q8_1, exactly).
    d: Vec<f32>,
    /// Q8_1: per column per block, s as f32 (the f16 value, exactly). empty otherwise.
    s: Vec<f32>,
    /// Q8_K: per column, Σ q over each 16 values. empty otherwise.
    bsums: Vec<i16>,
    qs: Vec<i8>,
    /// the quants widened to i16 (the simd128 kernels multiply i16 pairs).
    qs16: Vec<i16>,
}

impl QActs {
    /// no columns yet.
    pub fn new() -> Self {
        QActs::default()
    }

    /// quantizes `x`, n vectors of k values one after the other, into `format`. k must be a
    /// whole number of blocks and every x finite; Q8_0 and Q8_1 also refuse a block whose f16
    /// d or s would be infinite (see the module docs). on error `self` holds no columns.
    pub fn quantize(&mut self, format: ActFormat, x: &[f32], n: usize, k: usize) -> Result<()> {
        self.n = 0;
        self.k = 0;
        self.format = format;
        let bs = format.block_size();
        if k % bs != 0 {
            return Err(Error::Shape(format!(
                "{} activations come in blocks of {bs}; a length of {k} is not a multiple",
                format.name()
            )));
        }
        if n.checked_mul(k) != Some(x.len()) {
            return Err(Error::Shape(format!(
                "{n} activation vectors of {k} values need {} values, got {}",
                n as u128 * k as u128,
                x.len()
            )));
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(Error::Invalid(format!(
                "activation {} of vector {} is {}",
                i % k,
                i / k,
                x[i]
            )));
        }
        let nb = k / bs;
        self.d.clear();
        self.d.resize(n * nb, 0.0);
        self.s.clear();
        self.bsums.clear();
        if format == ActFormat::Q8_1 {
            self.s.resize(n * nb, 0.0);
        }
        if format == ActFormat::Q8_K {
            self.bsums.resize(n * k / 16, 0);
        }
        self.qs.clear();
        self.qs.resize(n * k, 0);
        for (i, xb) in x.chunks_exact(bs).enumerate() {
            let q = &mut self.qs[i * bs..(i + 1) * bs];
            let block_error = |what: &str, v: f32| {
                Error::Invalid(format!(
                    "activations {}..{} of vector {} exceed the {} range: {what} = {v:e} \
                     does not fit an f16",
                    (i % nb) * bs,
                    (i % nb + 1) * bs,
                    i / nb,
                    format.name()
                ))
            };
            match format {
                ActFormat::Q8_0 | ActFormat::Q8_1 => {
                    let (d, dq) = quantize_block_q8(xb, q);
                    if dq.is_infinite() {
                        return Err(block_error("max|x|/127", d));
                    }
                    self.d[i] = dq.to_f32();
                    if format == ActFormat::Q8_1 {
                        let sum: i32 = q.iter().map(|&v| v as i32).sum();
                        let s = f16::from_f32(d * sum as f32);
                        if s.is_infinite() {
                            return Err(block_error("d·Σq", d * sum as f32));
                        }
                        self.s[i] = s.to_f32();
                    }
                }
                ActFormat::Q8_K => {
                    self.d[i] = quantize_block_q8_k(xb, q);
                    for (sum, q16) in self.bsums[i * bs / 16..(i + 1) * bs / 16]
                        .iter_mut()
                        .zip(q.chunks_exact(16))
                    {
                        *sum = q16.iter().map(|&v| v as i16).sum();
                    }
                }
            }
        }
        self.qs16.clear();
        self.qs16.extend(self.qs.iter().map(|&q| q as i16));
        self.n = n;
        self.k = k;
        Ok(())
    }

    pub fn format(&self) -> ActFormat {
        self.format
    }

    /// number of vectors (columns).
    pub fn n(&self) -> usize {
        self.n
    }

    /// values per vector.
    pub fn k(&self) -> usize {
        self.k
    }

    /// blocks per vector.
    pub fn blocks(&self) -> usize {
        self.k / self.format.block_size()
    }

    /// d of every block, column after column (f32; the f16 value for Q8_0 and Q8_1).
    pub fn scales(&self) -> &[f32] {
        &self.d[..self.n * self.blocks()]
    }

    /// Q8_1's s = f16(d·Σq) of every block (as f32, exactly); empty for other formats.
    pub fn sums(&self) -> &[f32] {
        if self.format == ActFormat::Q8_1 {
            &self.s[..self.n * self.blocks()]
        } else {
            &[]
        }
    }

    /// Q8_K's Σq over each 16 values; empty for other formats.
    pub fn bsums(&self) -> &[i16] {
        if self.format == ActFormat::Q8_K {
            &self.bsums[..self.n * self.k / 16]
        } else {
            &[]
        }
    }

    /// the quants, column after column.
    pub fn quants(&self) -> &[i8] {
        &self.qs[..self.n * self.k]
    }

    /// the same quants as i16.
    pub fn quants16(&self) -> &[i16] {
        &self.qs16[..self.n * self.k]
    }

    /// x̂_j = d·q_j of column c, exactly (f64 holds every such product).
    pub fn dequantize(&self, c: usize, out: &mut [f64]) {
        let (k, bs, nb) = (self.k, self.format.block_size(), self.blocks());
        let q = &self.qs[c * k..(c + 1) * k];
        for (j, (y, &q)) in out.iter_mut().zip(q).enumerate() {
            *y = self.d[c * nb + j / bs] as f64 * q as f64;
        }
    }
}

/// v rounded to the nearest integer, ties to even, for |v| ≤ 2^22 (here |v| ≤ 127.01): adding
/// and subtracting 1.5·2^23 leaves no fraction bits, and f32 addition rounds half to even.
/// ggml's `nearest_int` is the same trick; `f32::round_ties_even` is a libm call on x86-64
/// without SSE4.1 (quantizing 32 × 1536 values took 2.5 times as long with it).
#[inline(always)]
fn round_half_even(v: f32) -> f32 {
    const MAGIC: f32 = 12582912.0;
    (v + MAGIC) - MAGIC
}

/// one block of Q8_0/Q8_1 as ggml-cpu/arch/x86/quants.c `quantize_row_q8_0` computes it:
/// returns the f32 d (Q8_1's s multiplies it) and its f16.
fn quantize_block_q8(x: &[f32], q: &mut [i8]) -> (f32, f16) {
    let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
    if id.is_finite() {
        for (q, &v) in q.iter_mut().zip(x) {
            // |v·id| ≤ 127·(1 + 2^-23): rounds into −127..127.
            *q = round_half_even(v * id) as i8;
        }
    } else {
        q.fill(0);
    }
    (d, f16::from_f32(d))
}

/// one block of Q8_K as ggml-quants.c `quantize_row_q8_K_ref`; returns d.
fn quantize_block_q8_k(x: &[f32], q: &mut [i8]) -> f32 {
    let (mut max, mut amax) = (0f32, 0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    if amax == 0.0 {
        q.fill(0);
        return 0.0;
    }
    let iscale = -127.0 / max;
    if iscale.is_finite() {
        for (q, &v) in q.iter_mut().zip(x) {
            // nearest_int: round half to even (ggml adds 1.5·2^23 and reads the bits).
            *q = (round_half_even(iscale * v) as i32).min(127) as i8;
        }
    } else {
        // |max| < 3.8e-37: ggml's nearest_int of ±∞ or NaN comes out 0 in an int8.
        q.fill(0);
    }
    1.0 / iscale
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rng::Rng;

    fn quantize(format: ActFormat, x: &[f32]) -> QActs {
        let mut a = QActs::new();
        a.quantize(format, x, 1, x.len()).unwrap();
        a
    }

    #[test]
    fn the_rounding_is_round_ties_even() {
        let mut rng = Rng::new(3);
        for i in 0..200_000 {
            let v = if i < 1000 {
                (i as f32 - 500.0) / 4.0 // ties and quarters
            } else {
                (rng.gauss() * 60.0) as f32
            };
            assert_eq!(round_half_even(v), v.round_ties_even(), "{v}");
        }
    }

    #[test]
    fn formats_by_weight_type() {
        use GgmlType::*;
        assert_eq!(Q4_1.act_format(), Some(ActFormat::Q8_1));
        assert_eq!(Q5_1.act_format(), Some(ActFormat::Q8_1));
        for t in [Q4_0, Q5_0, Q8_0, IQ4_NL] {
            assert_eq!(t.act_format(), Some(ActFormat::Q8_0), "{t}");
        }
        for t in [Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ2_XXS, TQ2_0] {
            assert_eq!(t.act_format(), Some(ActFormat::Q8_K), "{t}");
        }
        for t in [F32, F16, BF16, Q8_K, I8, F64] {
            assert_eq!(t.act_format(), None, "{t}");
        }
        for f in [ActFormat::Q8_0, ActFormat::Q8_1, ActFormat::Q8_K] {
            assert_eq!(f.block_size(), f.ggml_type().block_size());
        }
    }

    #[test]
    fn a_hand_computed_q8_0_block() {
        // amax = 254: d = 2 (exact in f16), id = 0.5; x/2 rounds half to even.
        let mut x = [0f32; 32];
        x[..8].copy_from_slice(&[254.0, -254.0, 1.0, 3.0, 5.0, -1.0, -3.0, 2.9]);
        x[8] = 0.999;
        x[9] = 1.001;
        let a = quantize(ActFormat::Q8_0, &x);
        assert_eq!(a.scales(), &[2.0]);
        assert_eq!(&a.quants()[..10], &[127, -127, 0, 2, 2, 0, -2, 1, 0, 1]);
        assert!(a.quants()[10..].iter().all(|&q| q == 0));
        assert!(a.sums().is_empty() && a.bsums().is_empty());
        // ggml's reference (roundf, 1/d) would round the ties away from zero: 1, 2, 3, −1, −2.
    }

    #[test]
    fn q8_1_sum_uses_the_f32_d() {
        // amax = 1: d = 1/127 (f32), f16(d) differs from it; s = f16(d·Σq) is not f16(d)·Σq.
        let mut x = [0f32; 32];
        x[0] = 1.0;
        x[1] = 0.5; // 63.5 → 64 (even)
        x[2] = 0.25; // 31.75 → 32
        let a = quantize(ActFormat::Q8_1, &x);
        assert_eq!(&a.quants()[..3], &[127, 64, 32]);
        let d = 1.0f32 / 127.0;
        assert_eq!(a.scales(), &[f16::from_f32(d).to_f32()]);
        assert_eq!(a.sums(), &[f16::from_f32(d * 223.0).to_f32()]);
        assert_ne!(a.sums()[0], a.scales()[0] * 223.0);
    }

    #[test]
    fn ties_round_to_even_with_the_x86_multiplier() {
        // amax = 127 → id = 1 exactly: x_j = k + 0.5 lands on ties.
        let mut x = [0f32; 32];
        x[0] = 127.0;
        let halves = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 125.5, -126.5];
        x[1..9].copy_from_slice(&halves);
        for f in [ActFormat::Q8_0, ActFormat::Q8_1] {
            let a = quantize(f, &x);
            assert_eq!(
                &a.quants()[..9],
                &[127, 0, 2, 2, 0, -2, -2, 126, -126],
                "{f:?}"
            );
        }
        // Q8_K: max = 127 → iscale = −1; quants come out negated, d = −1.
        let mut x = [0f32; 256];
        x[0] = 127.0;
        x[1..9].copy_from_slice(&halves);
        let a = quantize(ActFormat::Q8_K, &x);
        assert_eq!(a.scales(), &[-1.0]);
        assert_eq!(&a.quants()[..9], &[-127, 0, -2, -2, 0, 2, 2, -126, 126]);
        assert_eq!(a.bsums()[0], -127 - 2 - 2 + 2 + 2 - 126 + 126);
        assert!(a.bsums()[1..].iter().all(|&s| s == 0));
    }

    #[test]
    fn q8_k_takes_the_sign_of_the_first_largest() {
        let mut x = [0f32; 256];
        x[3] = -8.0;
        x[7] = 8.0; // same |x|, later: not taken
        x[9] = 4.0;
        let a = quantize(ActFormat::Q8_K, &x);
        assert_eq!(a.scales(), &[1.0 / (-127.0f32 / -8.0)]);
        // iscale = −127/−8 = 15.875: 4·15.875 = 63.5 → 64, half to even.
        assert_eq!(
            (a.quants()[3], a.quants()[7], a.quants()[9]),
            (-127, 127, 64)
        );
    }

    #[test]
    fn zero_blocks_are_zero() {
        for f in [ActFormat::Q8_0, ActFormat::Q8_1, ActFormat::Q8_K] {
            let mut x = vec![0f32; 512];
            x[300] = -0.0;
            x[400] = 3.0; // block 1 of Q8_K, block 12 of Q8_0
            let a = quantize(f, &x);
            let bs = f.block_size();
            assert_eq!(a.scales()[0], 0.0, "{f:?}");
            assert!(a.quants()[..bs].iter().all(|&q| q == 0));
            let mut y = vec![1.0; 512];
            a.dequantize(0, &mut y);
            assert!(y[..bs].iter().all(|&v| v == 0.0));
            assert!((y[400] - 3.0).abs() < 3.0 / 254.0, "{f:?}: {}", y[400]);
        }
    }

    /// |x − x̂| ≤ d/2 for the exact d = amax/127, plus the f16 rounding of d (127·|d − d̂|)
    /// and a few f32 roundings of the multiplier.
    fn check_half_step(a: &QActs, x: &[f32]) {
        let (k, bs) = (a.k(), a.format().block_size());
        let mut y = vec![0f64; k];
        for c in 0..a.n() {
            a.dequantize(c, &mut y);
            for (b, (xb, yb)) in x[c * k..(c + 1) * k]
                .chunks(bs)
                .zip(y.chunks(bs))
                .enumerate()
            {
                let amax = xb.iter().fold(0f64, |m, &v| m.max((v as f64).abs()));
                let d = amax / 127.0;
                let stored = (a.scales()[c * a.blocks() + b] as f64).abs();
                let bound = 0.5 * d + 127.0 * (d - stored).abs() + 4.0 * amax * 2f64.powi(-24);
                for (&v, &w) in xb.iter().zip(yb) {
                    assert!(
                        (v as f64 - w).abs() <= bound,
                        "{:?} {v} vs {w} (bound {bound:e})",
                        a.format()
                    );
                }
            }
        }
    }

    #[test]
    fn dequantized_values_are_within_half_a_step() {
        let mut rng = Rng::new(11);
        let mut a = QActs::new();
        for f in [ActFormat::Q8_0, ActFormat::Q8_1, ActFormat::Q8_K] {
            for scale in [1e-30, 1e-6, 1.0, 300.0] {
                let (n, k) = (3, 512);
                let mut x: Vec<f32> = (0..n * k).map(|_| (rng.gauss() * scale) as f32).collect();
                // one huge value in a block, one block of tiny values.
                x[5] *= if scale < 300.0 { 1e4 } else { 10.0 };
                for v in &mut x[600..632] {
                    *v *= 1e-20;
                }
                // ties on the grid: amax = 127·2^-3 in a block of Q8_0 and Q8_K.
                x[1024] = 127.0 / 8.0;
                x[1025] = 2.5 / 8.0;
                if f == ActFormat::Q8_1 && scale > 1.0 {
                    // keep s = d·Σq within f16.
                    x.iter_mut().for_each(|v| *v = v.clamp(-1000.0, 1000.0));
                }
                a.quantize(f, &x, n, k).unwrap();
                assert_eq!((a.n(), a.k(), a.blocks()), (n, k, k / f.block_size()));
                check_half_step(&a, &x);
                assert!(a.quants().iter().all(|&q| q >= -127));
                let widened: Vec<i16> = a.quants().iter().map(|&q| q as i16).collect();
                assert_eq!(a.quants16(), &widened[..]);
                if f == ActFormat::Q8_K {
                    for (s, q) in a.bsums().iter().zip(a.quants().chunks(16)) {
                        assert_eq!(*s as i32, q.iter().map(|&v| v as i32).sum::<i32>());
                    }
                }
            }
        }
    }

    #[test]
    fn subnormal_blocks_keep_d_zero_and_quants_zero() {
        // 127/amax overflows f32: every quant is 0 (ggml's bytes say −128), d is 0 anyway.
        let mut x = [0f32; 256];
        x[0] = 1e-38;
        x[1] = -3e-39;
        for f in [ActFormat::Q8_0, ActFormat::Q8_1, ActFormat::Q8_K] {
            let a = quantize(f, &x);
            assert_eq!(a.scales()[0].abs(), 0.0, "{f:?}");
            check_half_step(&a, &x);
        }
        x[0] = 1e-36; // 127/amax is finite: real quants, d underflows f16 to 0.
        let a = quantize(ActFormat::Q8_0, &x);
        assert_eq!(a.quants()[0], 127);
        assert_eq!(a.scales()[0], 0.0);
    }

    #[test]
    fn bad_inputs_are_errors_and_leave_no_columns() {
        let mut a = QActs::new();
        a.quantize(ActFormat::Q8_0, &[1.0; 64], 2, 32).unwrap();
        let e = a.quantize(ActFormat::Q8_K, &[1.0; 64], 1, 64).unwrap_err();
        assert!(
            matches!(e, Error::Shape(_)) && e.to_string().contains("256"),
            "{e}"
        );
        assert_eq!(a.n(), 0);
        assert!(a.quantize(ActFormat::Q8_0, &[1.0; 64], 3, 32).is_err());
        assert!(a
            .quantize(ActFormat::Q8_0, &[1.0; 64], usize::MAX, 32)
            .is_err());
        let mut x = [1.0f32; 64];
        x[37] = f32::NAN;
        let e = a.quantize(ActFormat::Q8_1, &x, 2, 32).unwrap_err();
        assert!(matches!(e, Error::Invalid(_)), "{e}");
        assert!(e.to_string().contains("activation 5 of vector 1"), "{e}");
        x[37] = f32::INFINITY;
        assert!(a.quantize(ActFormat::Q8_K, &x[..0], 0, 256).is_ok());
        assert!(a.quantize(ActFormat::Q8_0, &x, 2, 32).is_err());
        // beyond f16: d = 1e7/127 is too large for Q8_0; Q8_K's f32 d takes it.
        let x = [1e7f32; 256];
        let e = a.quantize(ActFormat::Q8_0, &x, 1, 256).unwrap_err();
        assert!(e.to_string().contains("Q8_0 range"), "{e}");
        assert_eq!(a.n(), 0);
        a.quantize(ActFormat::Q8_K, &x, 1, 256).unwrap();
        // Q8_1: d fits, s = d·Σq = 3000/127·32·127 does not.
        let e = a
            .quantize(ActFormat::Q8_1, &[3000.0; 32], 1, 32)
            .unwrap_err();
        assert!(e.to_string().contains("d·Σq"), "{e}");
        a.quantize(ActFormat::Q8_0, &[3000.0; 32], 1, 32).unwrap();
        // empty is fine.
        a.quantize(ActFormat::Q8_1, &[], 0, 0).unwrap();
        assert_eq!((a.n(), a.quants().len()), (0, 0));
    }
}
