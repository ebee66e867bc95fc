//! portable kernels: the same integer algorithm as the SIMD kernels, one lane at a time.

use super::{t_weights, QuantH, QuantHUniform, LO_SCALE, T_GROUP};
use crate::core::quant::matrix::{Q8Matrix, QK};

/// both int16 parts of h, block sums combined in f64.
pub fn matvec(m: &Q8Matrix, h: &QuantH, out: &mut [f64]) {
    let (d, nb) = (m.cols(), m.nb());
    let (scales, quants) = (m.scales(), m.quants());
    for (i, z) in out.iter_mut().enumerate() {
        let mut acc = 0f64;
        for b in 0..nb {
            let q = &quants[i * d + b * QK..i * d + (b + 1) * QK];
            let hi = &h.hi[b * QK..(b + 1) * QK];
            let lo = &h.lo[b * QK..(b + 1) * QK];
            let (mut sh, mut sl) = (0i32, 0i32);
            for j in 0..QK {
                sh += q[j] as i32 * hi[j] as i32;
                sl += q[j] as i32 * lo[j] as i32;
            }
            let w = scales[i * nb + b] as f64 * h.scale[b] as f64;
            acc += w * (sh as f64 + sl as f64 / LO_SCALE);
        }
        *z = acc;
    }
}

/// the high int16 part only, combined in f32 four lanes at a time like the SIMD kernels.
pub fn matvec_fast(m: &Q8Matrix, h: &QuantH, out: &mut [f64]) {
    let (d, nb) = (m.cols(), m.nb());
    let (scales, quants) = (m.scales(), m.quants());
    for (i, z) in out.iter_mut().enumerate() {
        let mut acc = [0f32; 4];
        for b in 0..nb {
            let q = &quants[i * d + b * QK..i * d + (b + 1) * QK];
            let hi = &h.hi[b * QK..(b + 1) * QK];
            let w = scales[i * nb + b] * h.scale[b];
            for (lane, a) in acc.iter_mut().enumerate() {
                let s: i32 = (0..8)
                    .map(|k| q[lane * 8 + k] as i32 * hi[lane * 8 + k] as i32)
                    .sum();
                *a += s as f32 * w;
            }
        }
        *z = acc.iter().map(|&a| a as f64).sum();
    }
}

/// [`matvec_fast`] for several columns (`out[c·rows + i]`), bit for bit the same per column.
pub fn matmul_fast(m: &Q8Matrix, hs: &[QuantH], out: &mut [f64]) {
    let rows = m.rows();
    for (c, h) in hs.iter().enumerate() {
        matvec_fast(m, h, &mut out[c * rows..(c + 1) * rows]);
    }
}

/// columns with one scale each (`out[c·rows + i]`): per block the i32 sum times the row's block
/// scale, summed in f32 over the blocks, times the column's scale.
pub fn matmul_uniform(m: &Q8Matrix, hs: &[QuantHUniform], out: &mut [f64]) {
    let (d, nb, rows) = (m.cols(), m.nb(), m.rows());
    let (scales, quants) = (m.scales(), m.quants());
    for (c, h) in hs.iter().enumerate() {
        for i in 0..rows {
            let mut acc = 0f32;
            for b in 0..nb {
                let q = &quants[i * d + b * QK..i * d + (b + 1) * QK];
                let x = &h.hi[b * QK..(b + 1) * QK];
                let s: i32 = q.iter().zip(x).map(|(&a, &b)| a as i32 * b as i32).sum();
                acc += s as f32 * scales[i * nb + b];
            }
            out[c * rows + i] = (acc * h.scale) as f64;
        }
    }
}

/// Eᵀ·p·f for [`super::t_run`] (`out` zeroed there): per group of rows and block, the
/// weights' two int16 parts times the int8 rows in i32, each column's two sums to f64 once per
/// group, `out_j += sh_j·S + sl_j·S/2^15` in that order (the SIMD kernel's order too).
pub fn t_matvec(m: &Q8Matrix, p: &[f64], f: f64, out: &mut [f64]) {
    let (d, nb, rows) = (m.cols(), m.nb(), m.rows());
    let (scales, quants) = (m.scales(), m.quants());
    let (mut hi, mut lo) = ([0i32; T_GROUP], [0i32; T_GROUP]);
    for g0 in (0..rows).step_by(T_GROUP) {
        let pg = &p[g0..(g0 + T_GROUP).min(rows)];
        if pg.iter().all(|&x| x == 0.0) {
            continue;
        }
        for b in 0..nb {
            let s = t_weights(pg, f, &scales[g0 * nb..], nb, b, &mut hi, &mut lo);
            if s == 0.0 {
                continue;
            }
            let (mut sh, mut sl) = ([0i32; QK], [0i32; QK]);
            for r in 0..pg.len() {
                let q = &quants[(g0 + r) * d + b * QK..][..QK];
                for j in 0..QK {
                    sh[j] += hi[r] * q[j] as i32;
                    sl[j] += lo[r] * q[j] as i32;
                }
            }
            let s2 = s / LO_SCALE;
            for j in 0..QK {
                out[b * QK + j] += sh[j] as f64 * s + sl[j] as f64 * s2;
            }
        }
    }
}
