//! kernels for z = E·h over a Q8_0 matrix, one per instruction set, side by side.
//!
//! all of them quantize h once per call into two int16 parts per 32-block,
//! h_j ≈ s_b·(hi_j + lo_j/2^15), s_b = max_b|h|/16383, |hi| ≤ 16383, so that
//! |error| ≤ s_b/2^16 ≈ 9.3e-10·max_b|h|, every integer dot product is exact, and each i32 lane
//! (8 products, ≤ 8·127·16383 < 2^24) converts to f32 exactly.
//! - [`Precision::Exact`]: both parts, block sums combined in f64. error against the exact f64
//!   [`reference`]: |z − z_exact| ≤ 1e-9·Σ_b max_b|h|·Σ_{j∈b}|v_ij| + 1e-13·Σ_j|v_ij h_j|:
//!   f64-grade for any h (logits of magnitude 1e3 are right to about 1e-6).
//! - [`Precision::Fast`]: the high part only, combined in f32 (half the integer work, no f64):
//!   |z − z_exact| ≤ (1/32766 + 5e-6)·max|h|·‖v_i‖₁, about 4e-5 relative.
//!
//! both bounds are checked in tests for every kernel.
//!
//! the transposed product Eᵀ·p (the gradient's Σ p_i w_i) splits the weights the same way,
//! over groups of rows instead of blocks of h: [`t_run`].

use super::matrix::{Q8Matrix, QK};
use crate::core::error::{Error, Result};

pub mod scalar;

#[cfg(target_arch = "x86_64")]
pub mod avx2;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd128;

/// the largest |hi|: keeps each i32 lane of 8 products below 2^24 (exact in f32).
pub const HI_MAX: f32 = 16383.0;
/// 2^15: the weight of `lo` relative to `hi`.
pub const LO_SCALE: f64 = 32768.0;
/// the documented bound: the h-quantization term and the f64 rounding term.
pub const H_QUANT_BOUND: f64 = 1e-9;
pub const F64_BOUND: f64 = 1e-13;

/// h split into int16 parts, once per call.
pub struct QuantH {
    pub hi: Vec<i16>,
    pub lo: Vec<i16>,
    /// per block: s_b (hi weight) — lo weight is s_b / 2^15.
    pub scale: Vec<f32>,
}

/// h as int16 with one scale for the whole vector, s = max|h|/16383, |hi| ≤ 16383: what the
/// many-column kernels take. every block of a column shares s, so a block's float step
/// (its i32 sum times the row's block scale) is the same for all columns of a tile, and s
/// multiplies the column's sum once. the fast bound ([`fast_error_bound`], stated with max|h|)
/// holds as it is: rounding to a step of max|h|/16383 errs by at most half of it.
pub struct QuantHUniform {
    pub hi: Vec<i16>,
    pub scale: f32,
}

impl QuantHUniform {
    /// `h` finite and a multiple of 32 long (checked by the caller).
    pub fn new(h: &[f32]) -> Self {
        let m = h.iter().fold(0f32, |m, x| m.max(x.abs()));
        if m == 0.0 {
            return QuantHUniform {
                hi: vec![0; h.len()],
                scale: 0.0,
            };
        }
        let s = m / HI_MAX;
        let inv = 1.0 / s as f64;
        QuantHUniform {
            hi: h
                .iter()
                .map(|&x| {
                    (x as f64 * inv)
                        .round()
                        .clamp(-HI_MAX as f64, HI_MAX as f64) as i16
                })
                .collect(),
            scale: s,
        }
    }
}

impl QuantH {
    /// `h.len()` must be a multiple of 32 and h finite (checked by the caller).
    pub fn new(h: &[f32]) -> Self {
        let nb = h.len() / QK;
        let mut hi = vec![0i16; h.len()];
        let mut lo = vec![0i16; h.len()];
        let mut scale = vec![0f32; nb];
        for b in 0..nb {
            let blk = &h[b * QK..(b + 1) * QK];
            let m = blk.iter().fold(0f32, |m, x| m.max(x.abs()));
            if m == 0.0 {
                continue;
            }
            let s = m / HI_MAX;
            scale[b] = s;
            let s = s as f64;
            for (j, &x) in blk.iter().enumerate() {
                let t = x as f64 / s;
                let h1 = t.round().clamp(-32767.0, 32767.0);
                let r = ((t - h1) * LO_SCALE).round().clamp(-32767.0, 32767.0);
                hi[b * QK + j] = h1 as i16;
                lo[b * QK + j] = r as i16;
            }
        }
        QuantH { hi, lo, scale }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    Scalar,
    Avx2,
    Simd128,
}

impl Kernel {
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Scalar => "scalar",
            Kernel::Avx2 => "avx2",
            Kernel::Simd128 => "simd128",
        }
    }

    /// the kernel called `name` (as [`name`](Self::name) spells it).
    pub fn from_name(name: &str) -> Option<Kernel> {
        [Kernel::Scalar, Kernel::Avx2, Kernel::Simd128]
            .into_iter()
            .find(|k| k.name() == name)
    }

    /// kernels this build can run on this machine, fastest last.
    pub fn available() -> Vec<Kernel> {
        [Kernel::Scalar, Kernel::Avx2, Kernel::Simd128]
            .into_iter()
            .filter(|k| k.is_available())
            .collect()
    }

    /// whether this build can run the kernel on this machine (no allocation: the quantized
    /// matmul asks on every call). AVX2 kernels need AVX2, FMA and F16C (every AVX2 CPU has
    /// the other two; the matmul kernels convert f16 scales with F16C).
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                    && std::arch::is_x86_feature_detected!("f16c")
            }
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Kernel::Simd128 => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }
}

/// runs the fastest available kernel.
pub fn best(m: &Q8Matrix, h: &QuantH, out: &mut [f64], precision: Precision) {
    let k = *Kernel::available().last().unwrap_or(&Kernel::Scalar);
    // every listed kernel is available, so this cannot fail.
    let _ = run(k, m, h, out, precision);
}

/// how much of h the kernel uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// both int16 parts: f64-grade logits (the bound in the module docs).
    Exact,
    /// the high int16 part only, half the integer work: |error| ≤ Σ_b (max_b|h|/65534)·Σ_{j∈b}|v_ij|
    /// (about 1e-5 relative). for redrawing charts while dragging; the numbers shown are exact.
    Fast,
}

/// runs `kernel`, or says it is not available on this machine.
pub fn run(
    kernel: Kernel,
    m: &Q8Matrix,
    h: &QuantH,
    out: &mut [f64],
    precision: Precision,
) -> Result<()> {
    if !Kernel::available().contains(&kernel) {
        return Err(Error::Unsupported(format!(
            "kernel {} is not available on this machine",
            kernel.name()
        )));
    }
    let exact = precision == Precision::Exact;
    match (kernel, exact) {
        (Kernel::Scalar, true) => scalar::matvec(m, h, out),
        (Kernel::Scalar, false) => scalar::matvec_fast(m, h, out),
        // SAFETY: avx2 and fma were detected at run time just above.
        #[cfg(target_arch = "x86_64")]
        (Kernel::Avx2, true) => unsafe { avx2::matvec(m, h, out) },
        #[cfg(target_arch = "x86_64")]
        (Kernel::Avx2, false) => unsafe { avx2::matvec_fast(m, h, out) },
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        (Kernel::Simd128, true) => simd128::matvec(m, h, out),
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        (Kernel::Simd128, false) => simd128::matvec_fast(m, h, out),
        #[allow(unreachable_patterns)]
        _ => unreachable!("checked by available()"),
    }
    Ok(())
}

/// z_c = E·h_c for several columns with the fast precision (`out[c·rows + i]`), each the same
/// bits [`run`] gives one column: the SIMD kernels read each row once for every four columns,
/// which turns the memory-bound product into a compute-bound one (the logit lens reads
/// hundreds of hidden states).
pub fn run_many_fast(kernel: Kernel, m: &Q8Matrix, hs: &[QuantH], out: &mut [f64]) -> Result<()> {
    if !kernel.is_available() {
        return Err(Error::Unsupported(format!(
            "kernel {} is not available on this machine",
            kernel.name()
        )));
    }
    if out.len() != m.rows() * hs.len() {
        return Err(Error::Shape(format!(
            "{} outputs for {} columns of {} rows",
            out.len(),
            hs.len(),
            m.rows()
        )));
    }
    match kernel {
        Kernel::Scalar => scalar::matmul_fast(m, hs, out),
        // SAFETY: avx2 and fma were detected just above.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => unsafe { avx2::matmul_fast(m, hs, out) },
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        Kernel::Simd128 => simd128::matmul_fast(m, hs, out),
        #[allow(unreachable_patterns)]
        _ => unreachable!("checked by is_available()"),
    }
    Ok(())
}

/// z_c = E·h_c for several columns quantized with one scale each ([`QuantHUniform`]), within
/// [`fast_error_bound`] of the exact product (`out[c·rows + i]`): the logit lens's readout of
/// hundreds of hidden states. each row is read once for every four columns, and a block's
/// float step is shared by the four.
pub fn run_many_uniform(
    kernel: Kernel,
    m: &Q8Matrix,
    hs: &[QuantHUniform],
    out: &mut [f64],
) -> Result<()> {
    if !kernel.is_available() {
        return Err(Error::Unsupported(format!(
            "kernel {} is not available on this machine",
            kernel.name()
        )));
    }
    if out.len() != m.rows() * hs.len() || hs.iter().any(|h| h.hi.len() != m.cols()) {
        return Err(Error::Shape(format!(
            "{} outputs for {} columns of {} rows",
            out.len(),
            hs.len(),
            m.rows()
        )));
    }
    match kernel {
        Kernel::Scalar => scalar::matmul_uniform(m, hs, out),
        // SAFETY: avx2 and fma were detected just above.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => unsafe { avx2::matmul_uniform(m, hs, out) },
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        Kernel::Simd128 => simd128::matmul_uniform(m, hs, out),
        #[allow(unreachable_patterns)]
        _ => unreachable!("checked by is_available()"),
    }
    Ok(())
}

/// rows per group of the transposed product Eᵀ·p ([`t_run`]).
pub const T_GROUP: usize = 32;

/// weights below this (after [`t_run`] scales p so that max|p| ∈ [1, 2)) count as 0:
/// 16383/their group's largest would overflow f64. their part of any sum is below
/// 2^-960·Σ_i|v_ij|, far under the f64 rounding of the rest.
pub(crate) const T_TINY: f64 = 1.1e-289;

/// the transposed product's weights for one group of rows in one block: u_r = p_r·s_rb on the
/// group's scale S = max|u|/16383, as two int16 parts u_r ≈ S·(hi_r + lo_r/2^15) with
/// |error| ≤ S/2^16 (h's split in [`QuantH`], here over rows instead of columns). rows past
/// `p.len()` get 0; `f` (a power of two) multiplies every p_r first. returns S, or 0 when the
/// group has nothing to add (then `hi`, `lo` are left as they were). the portable kernel's;
/// simd128 makes the same integers with the same operations, two rows at a time (held to it
/// bit for bit in the wasm tier).
#[inline]
pub(crate) fn t_weights(
    p: &[f64],
    f: f64,
    scales: &[f32],
    nb: usize,
    b: usize,
    hi: &mut [i32; T_GROUP],
    lo: &mut [i32; T_GROUP],
) -> f64 {
    let mut u = [0f64; T_GROUP];
    let mut m = 0f64;
    for (r, &pr) in p.iter().enumerate() {
        let x = pr * f * scales[r * nb + b] as f64;
        u[r] = x;
        // a comparison, not f64::max: in wasm that is a call (NaN rules differ).
        if x.abs() > m {
            m = x.abs();
        }
    }
    if m < T_TINY {
        return 0.0;
    }
    let inv = HI_MAX as f64 / m;
    for r in 0..T_GROUP {
        let t = u[r] * inv;
        let h = round_even(t);
        hi[r] = h as i32;
        lo[r] = round_even((t - h) * LO_SCALE) as i32;
    }
    m / HI_MAX as f64
}

/// 1.5·2^52: (x + it) − it rounds x to the nearest integer, ties to even, for |x| < 2^51
/// (acts.rs's `round_half_even` is the f32 twin).
pub(crate) const ROUND_MAGIC: f64 = 6755399441055744.0;

/// x rounded to the nearest integer, ties to even, for |x| < 2^51: plain arithmetic, the same
/// bits everywhere (f64::round is a call in wasm).
#[inline(always)]
fn round_even(x: f64) -> f64 {
    (x + ROUND_MAGIC) - ROUND_MAGIC
}

/// Eᵀ·p = Σ_i p_i v_i (`out` has d entries) with `kernel`; p must be finite, max|p| < 1e300.
/// rows go in groups of [`T_GROUP`]; in each block a group's weights p_i·s_ib are split like h
/// ([`t_weights`]), multiplied with the int8 rows in exact integer sums, and those sums go to
/// f64 once per group. every kernel gives the same bits. error against the f64 [`t_reference`]:
/// |g_j − g_exact_j| ≤ 1e-9·Σ_G max_{i∈G}|p_i s_ib|·Σ_{i∈G}|q_ij| + (groups + 4)·2^-52·Σ_i|p_i v_ij|
/// ([`t_error_bound`]): f64-grade, as the exact product's logits are. groups whose weights are
/// all 0 are skipped, so a sharp softmax (most p_i underflowed to 0) costs less.
pub fn t_run(kernel: Kernel, m: &Q8Matrix, p: &[f64], out: &mut [f64]) -> Result<()> {
    if !kernel.is_available() {
        return Err(Error::Unsupported(format!(
            "kernel {} is not available on this machine",
            kernel.name()
        )));
    }
    if p.len() != m.rows() || out.len() != m.cols() {
        return Err(Error::Shape(format!(
            "weights have length {}, matrix has {} rows ({} outputs for {} columns)",
            p.len(),
            m.rows(),
            out.len(),
            m.cols()
        )));
    }
    let mut pmax = 0f64;
    for (i, &x) in p.iter().enumerate() {
        if !x.is_finite() {
            return Err(Error::Invalid(format!("weight p[{i}] is {x}")));
        }
        if x.abs() > pmax {
            pmax = x.abs();
        }
    }
    if pmax >= 1e300 {
        return Err(Error::Invalid(format!(
            "weights as large as {pmax:e} overflow the sum"
        )));
    }
    out.fill(0.0);
    if pmax < f64::MIN_POSITIVE {
        // all zero (or subnormal: below 2^-1022, nothing a sum of these can show).
        return Ok(());
    }
    // the weights are taken times f = 2^-e so that max|p·f| ∈ [1, 2) (exact), so that no
    // group's scale overflows whatever p's magnitude; the result is scaled back by 2^e.
    let e = ((pmax.to_bits() >> 52) & 0x7ff) as i64 - 1023;
    let pow2 = |k: i64| f64::from_bits(((k + 1023) as u64) << 52);
    let f = pow2(-e);
    match kernel {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        Kernel::Simd128 => simd128::t_matvec(m, p, f, out),
        // the AVX2 build uses the portable kernel: the CLI's transposed passes are few.
        _ => scalar::t_matvec(m, p, f, out),
    }
    if e != 0 {
        let back = pow2(e);
        out.iter_mut().for_each(|x| *x *= back);
    }
    Ok(())
}

/// Σ_i p_i v_i in f64 from dequantized rows, rows in order: the reference [`t_run`] is held to.
pub fn t_reference(m: &Q8Matrix, p: &[f64]) -> Vec<f64> {
    let mut acc = vec![0f64; m.cols()];
    for (i, &pi) in p.iter().enumerate() {
        for (a, &v) in acc.iter_mut().zip(&m.row(i)) {
            *a += pi * v as f64;
        }
    }
    acc
}

/// the bound of [`t_run`] for every column (see there).
pub fn t_error_bound(m: &Q8Matrix, p: &[f64]) -> Vec<f64> {
    let (d, nb, rows) = (m.cols(), m.nb(), m.rows());
    let groups = rows.div_ceil(T_GROUP);
    let mut quant = vec![0f64; d];
    let mut abs = vec![0f64; d];
    for g0 in (0..rows).step_by(T_GROUP) {
        let g = g0..(g0 + T_GROUP).min(rows);
        for b in 0..nb {
            let umax = g.clone().fold(0f64, |a, i| {
                a.max((p[i] * m.scales()[i * nb + b] as f64).abs())
            });
            for j in b * QK..(b + 1) * QK {
                for i in g.clone() {
                    let q = m.quants()[i * d + j] as f64;
                    quant[j] += umax * q.abs();
                    abs[j] += (p[i] * m.scales()[i * nb + b] as f64 * q).abs();
                }
            }
        }
    }
    let round = (groups + 4) as f64 * f64::EPSILON;
    quant
        .iter()
        .zip(&abs)
        .map(|(&q, &a)| H_QUANT_BOUND * q + round * a)
        .collect()
}

/// the exact product in f64 from dequantized values: the reference every kernel is held to.
pub fn reference(m: &Q8Matrix, h: &[f32]) -> Vec<f64> {
    (0..m.rows())
        .map(|i| {
            m.row(i)
                .iter()
                .zip(h)
                .map(|(&v, &x)| v as f64 * x as f64)
                .sum()
        })
        .collect()
}

/// the error bound of every row for this h (see the module docs).
pub fn error_bound(m: &Q8Matrix, h: &[f32]) -> Vec<f64> {
    (0..m.rows())
        .map(|i| {
            let row = m.row(i);
            let mut quant = 0.0;
            let mut abs = 0.0;
            for (vb, hb) in row.chunks(QK).zip(h.chunks(QK)) {
                let hmax = hb.iter().fold(0f64, |a, &x| a.max((x as f64).abs()));
                quant += hmax * vb.iter().map(|&v| (v as f64).abs()).sum::<f64>();
                abs += vb
                    .iter()
                    .zip(hb)
                    .map(|(&v, &x)| (v as f64 * x as f64).abs())
                    .sum::<f64>();
            }
            H_QUANT_BOUND * quant + F64_BOUND * abs
        })
        .collect()
}

/// the bound of the fast kernel for every row: Σ_b (max_b|h|/65534)·Σ_{j∈b}|v_ij|, plus rounding.
pub fn fast_error_bound(m: &Q8Matrix, h: &[f32]) -> Vec<f64> {
    let hmax = h.iter().fold(0f64, |a, &x| a.max((x as f64).abs()));
    let scale = FAST_BOUND + 5e-6 * (m.cols() as f64 / 640.0 - 1.0).max(0.0);
    m.row_l1()
        .iter()
        .map(|&l1| scale * hmax * l1 as f64 * 1.0001)
        .collect()
}

/// max|h|·‖v_i‖₁ times this bounds the fast kernel's error: 1/32766 for rounding h to hi on
/// the block's scale, 5e-6 for the f32 products and the sum of 4·nb ≤ 80 lanes (d ≤ 640;
/// larger d scale it by d/640).
pub const FAST_BOUND: f64 = (1.0 / 32766.0) * 1.0001 + 5e-6;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::fixtures::random_q8 as random_matrix;
    use crate::core::rng::Rng;

    fn check_all(m: &Q8Matrix, h: &[f32]) {
        let exact = reference(m, h);
        let bound = error_bound(m, h);
        let fast_bound = fast_error_bound(m, h);
        for k in Kernel::available() {
            let z = m.matvec_with(h, k, Precision::Exact).unwrap();
            let zf = m.matvec_with(h, k, Precision::Fast).unwrap();
            for i in 0..m.rows() {
                let err = (zf[i] - exact[i]).abs();
                assert!(
                    err <= fast_bound[i],
                    "fast {} row {i}: err {err:e} > {:e}",
                    k.name(),
                    fast_bound[i]
                );
                let err = (z[i] - exact[i]).abs();
                let bound = bound[i];
                assert!(
                    err <= bound,
                    "kernel {} row {i}: {} vs {} (err {err:e} > {bound:e})",
                    k.name(),
                    z[i],
                    exact[i]
                );
            }
        }
    }

    #[test]
    fn kernels_agree_with_reference() {
        let mut rng = Rng::new(42);
        for (rows, cols) in [(1, 32), (7, 64), (33, 576), (100, 768), (3, 4096)] {
            let m = random_matrix(rows, cols, rows as u64 * 31 + cols as u64);
            for scale in [1e-3f64, 1.0, 37.0, 1e6] {
                let h: Vec<f32> = (0..cols).map(|_| (rng.gauss() * scale) as f32).collect();
                check_all(&m, &h);
            }
        }
    }

    #[test]
    fn many_columns_give_each_columns_own_bits() {
        let mut rng = Rng::new(9);
        for (rows, cols) in [(7, 64), (33, 576), (5, 96)] {
            let m = random_matrix(rows, cols, 3);
            for n in [1, 3, 4, 5, 9] {
                let hs: Vec<Vec<f32>> = (0..n)
                    .map(|c| {
                        (0..cols)
                            .map(|_| (rng.gauss() * (c + 1) as f64) as f32)
                            .collect()
                    })
                    .collect();
                let q: Vec<QuantH> = hs.iter().map(|h| QuantH::new(h)).collect();
                for k in Kernel::available() {
                    let mut many = vec![0f64; rows * n];
                    run_many_fast(k, &m, &q, &mut many).unwrap();
                    for c in 0..n {
                        let one = m.matvec_with(&hs[c], k, Precision::Fast).unwrap();
                        assert_eq!(
                            &many[c * rows..(c + 1) * rows],
                            &one[..],
                            "{} n {n}",
                            k.name()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn uniform_columns_stay_within_the_fast_bound() {
        let mut rng = Rng::new(19);
        for (rows, cols) in [(7, 64), (33, 576), (5, 96)] {
            let m = random_matrix(rows, cols, 4);
            for n in [1, 3, 4, 6] {
                let mut hs: Vec<Vec<f32>> = (0..n)
                    .map(|c| {
                        (0..cols)
                            .map(|_| (rng.gauss() * (c + 1) as f64) as f32)
                            .collect()
                    })
                    .collect();
                // one column with a huge value beside tiny ones, one all zero.
                hs[0][3] = 1e4;
                if n > 2 {
                    hs[2].fill(0.0);
                }
                let q: Vec<QuantHUniform> = hs.iter().map(|h| QuantHUniform::new(h)).collect();
                for k in Kernel::available() {
                    let mut out = vec![0f64; rows * n];
                    run_many_uniform(k, &m, &q, &mut out).unwrap();
                    for c in 0..n {
                        let exact = reference(&m, &hs[c]);
                        let bound = fast_error_bound(&m, &hs[c]);
                        for i in 0..rows {
                            let err = (out[c * rows + i] - exact[i]).abs();
                            assert!(
                                err <= bound[i],
                                "{} col {c} row {i}: {err:e} > {:e}",
                                k.name(),
                                bound[i]
                            );
                        }
                    }
                }
            }
        }
    }

    /// Eᵀ·p by every kernel: the same bits as the portable one, within the stated bound.
    fn check_transposed(m: &Q8Matrix, p: &[f64]) {
        let exact = t_reference(m, p);
        let bound = t_error_bound(m, p);
        let mut portable = vec![0f64; m.cols()];
        t_run(Kernel::Scalar, m, p, &mut portable).unwrap();
        for k in Kernel::available() {
            let mut g = vec![f64::NAN; m.cols()];
            t_run(k, m, p, &mut g).unwrap();
            assert_eq!(
                g,
                portable,
                "{} is not bit for bit the portable kernel",
                k.name()
            );
            for j in 0..m.cols() {
                let err = (g[j] - exact[j]).abs();
                assert!(
                    err <= bound[j],
                    "{} column {j}: {} vs {} (err {err:e} > {:e})",
                    k.name(),
                    g[j],
                    exact[j],
                    bound[j]
                );
            }
        }
    }

    #[test]
    fn transposed_kernels_agree_with_reference() {
        let mut rng = Rng::new(77);
        // row counts on and off the group size, a short last group, one row.
        for (rows, cols) in [
            (1, 32),
            (31, 64),
            (32, 96),
            (33, 576),
            (100, 640),
            (70, 4096),
        ] {
            let m = random_matrix(rows, cols, rows as u64 * 7 + cols as u64);
            // a softmax over random logits at several temperatures: from flat to one-hot.
            for t in [100.0, 1.0, 0.05, 1e-3] {
                let z: Vec<f64> = (0..rows).map(|_| rng.gauss() * 3.0).collect();
                let mx = z.iter().cloned().fold(f64::MIN, f64::max);
                let e: Vec<f64> = z.iter().map(|&x| ((x - mx) / t).exp()).collect();
                let sum: f64 = e.iter().sum();
                let p: Vec<f64> = e.iter().map(|&x| x / sum).collect();
                check_transposed(&m, &p);
            }
            // signed weights over many magnitudes, and the mean's 1/n.
            let p: Vec<f64> = (0..rows)
                .map(|_| rng.gauss() * 10f64.powf(rng.gauss() * 4.0))
                .collect();
            check_transposed(&m, &p);
            check_transposed(&m, &vec![1.0 / rows as f64; rows]);
        }
    }

    #[test]
    fn transposed_kernels_handle_zeros_extremes_and_bad_weights() {
        let m = random_matrix(75, 96, 8);
        check_transposed(&m, &[0.0; 75]);
        let mut p = vec![0.0; 75];
        p[40] = 0.7;
        check_transposed(&m, &p);
        // a huge weight beside tiny ones in one group, and weights near both ends of f64.
        p[41] = 1e-200;
        p[42] = -3e-15;
        check_transposed(&m, &p);
        for scale in [1e-300, 1e-200, 1e200, 1e299] {
            let q: Vec<f64> = p.iter().map(|&x| x * scale).collect();
            check_transposed(&m, &q);
        }
        let mut out = vec![0f64; 96];
        p[3] = f64::NAN;
        assert!(matches!(
            t_run(Kernel::Scalar, &m, &p, &mut out),
            Err(Error::Invalid(_))
        ));
        p[3] = f64::INFINITY;
        assert!(matches!(
            t_run(Kernel::Scalar, &m, &p, &mut out),
            Err(Error::Invalid(_))
        ));
        p[3] = 1e301;
        assert!(matches!(
            t_run(Kernel::Scalar, &m, &p, &mut out),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            t_run(Kernel::Scalar, &m, &p[..74], &mut out),
            Err(Error::Shape(_))
        ));
    }

    #[test]
    fn kernels_handle_zero_and_sparse_h() {
        let m = random_matrix(9, 96, 5);
        check_all(&m, &[0.0; 96]);
        let mut h = vec![0.0f32; 96];
        h[40] = -3.5;
        check_all(&m, &h);
        // one huge component next to tiny ones in the same block.
        h[41] = 1e-7;
        h[42] = 2e4;
        check_all(&m, &h);
    }
}
