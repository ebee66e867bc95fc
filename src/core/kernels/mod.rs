//! kernels for z = E·h over a Q8_0 matrix, one per instruction set, side by side.
//!
//! all of them quantize h once per call into two int16 parts per 32-block,
//! h_j ≈ s_b·(hi_j + lo_j/2^15) with |error| ≤ s_b/2^16 = max_b|h|·2^-16/32767 ≈ 4.7e-10·max_b|h|,
//! so the integer dot products are exact and the only rounding left is the f32 combination of
//! the 18 block sums of a row. error budget against the exact f64 [`reference`]:
//! |z_kernel − z_exact| ≤ 1e-6·Σ_j |v_ij·h_j| + 1e-30 (checked in tests for every kernel).

use super::error::{Error, Result};
use super::q8::{Q8Matrix, QK};

pub mod scalar;

#[cfg(target_arch = "x86_64")]
pub mod avx2;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd128;

/// 2^15: the weight of `lo` relative to `hi`.
pub const LO_SCALE: f32 = 32768.0;
/// the documented bound, relative to Σ|v_ij h_j|.
pub const REL_BOUND: f64 = 1e-6;

/// h split into int16 parts, once per call.
pub struct QuantH {
    pub hi: Vec<i16>,
    pub lo: Vec<i16>,
    /// per block: s_b (hi weight) — lo weight is s_b / 2^15.
    pub scale: Vec<f32>,
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
            let s = m / 32767.0;
            scale[b] = s;
            let s = s as f64;
            for (j, &x) in blk.iter().enumerate() {
                let t = x as f64 / s;
                let h1 = t.round().clamp(-32767.0, 32767.0);
                let r = ((t - h1) * LO_SCALE as f64)
                    .round()
                    .clamp(-32767.0, 32767.0);
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

    /// kernels this build can run on this machine, fastest last.
    pub fn available() -> Vec<Kernel> {
        #[allow(unused_mut)]
        let mut v = vec![Kernel::Scalar];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            v.push(Kernel::Avx2);
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        v.push(Kernel::Simd128);
        v
    }
}

/// runs the fastest available kernel.
pub fn best(m: &Q8Matrix, h: &QuantH, out: &mut [f32]) {
    let k = *Kernel::available().last().unwrap_or(&Kernel::Scalar);
    // every listed kernel is available, so this cannot fail.
    let _ = run(k, m, h, out);
}

/// runs `kernel`, or says it is not available on this machine.
pub fn run(kernel: Kernel, m: &Q8Matrix, h: &QuantH, out: &mut [f32]) -> Result<()> {
    if !Kernel::available().contains(&kernel) {
        return Err(Error::Unsupported(format!(
            "kernel {} is not available on this machine",
            kernel.name()
        )));
    }
    match kernel {
        Kernel::Scalar => scalar::matvec(m, h, out),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: avx2 and fma were detected at run time just above.
        Kernel::Avx2 => unsafe { avx2::matvec(m, h, out) },
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        Kernel::Simd128 => simd128::matvec(m, h, out),
        #[allow(unreachable_patterns)]
        _ => unreachable!("checked by available()"),
    }
    Ok(())
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

/// Σ_j |v_ij h_j| per row: the scale of the error bound.
pub fn abs_dot(m: &Q8Matrix, h: &[f32]) -> Vec<f64> {
    (0..m.rows())
        .map(|i| {
            m.row(i)
                .iter()
                .zip(h)
                .map(|(&v, &x)| (v as f64 * x as f64).abs())
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::q8::tests::random_matrix;
    use crate::core::rng::Rng;

    fn check_all(m: &Q8Matrix, h: &[f32]) {
        let exact = reference(m, h);
        let scale = abs_dot(m, h);
        for k in Kernel::available() {
            let z = m.matvec_with(h, k).unwrap();
            for i in 0..m.rows() {
                let err = (z[i] as f64 - exact[i]).abs();
                let bound = REL_BOUND * scale[i] + 1e-30;
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
