//! wasm simd128 kernels: int8 → int16 widening, `i32x4.dot_i16x8_s` against the int16 parts
//! of h. exact: the block's two integer sums packed side by side and combined in f64;
//! fast: the high part only, four i32 lanes to f32 (exact) and a multiply-add a block.

use core::arch::wasm32::*;

use super::{QuantH, QuantHUniform, LO_SCALE};
use crate::core::quant::matrix::{Q8Matrix, QK};

#[inline(always)]
fn dot4(w: &[v128; 4], x: &[v128; 4]) -> v128 {
    i32x4_add(
        i32x4_add(i32x4_dot_i16x8(w[0], x[0]), i32x4_dot_i16x8(w[1], x[1])),
        i32x4_add(i32x4_dot_i16x8(w[2], x[2]), i32x4_dot_i16x8(w[3], x[3])),
    )
}

pub fn matvec(m: &Q8Matrix, h: &QuantH, out: &mut [f64]) {
    let (d, nb) = (m.cols(), m.nb());
    let (scales, quants) = (m.scales(), m.quants());
    assert!(quants.len() >= out.len() * d && scales.len() >= out.len() * nb);
    assert!(h.hi.len() == d && h.lo.len() == d && h.scale.len() == nb);
    let inv = f64x2_splat(1.0 / LO_SCALE);
    let hs: Vec<f64> = h.scale.iter().map(|&s| s as f64).collect();
    let (qp, hp, lp) = (quants.as_ptr(), h.hi.as_ptr(), h.lo.as_ptr());
    for (i, z) in out.iter_mut().enumerate() {
        let srow = &scales[i * nb..(i + 1) * nb];
        let mut acc_h = f64x2_splat(0.0);
        let mut acc_l = f64x2_splat(0.0);
        for b in 0..nb {
            // SAFETY: (i·d + b·32 + 32) ≤ quants.len() and b·32 + 32 ≤ d by the asserts.
            let (sh, sl) = unsafe {
                let q = qp.add(i * d + b * QK) as *const v128;
                let (q0, q1) = (v128_load(q), v128_load(q.add(1)));
                let w = [
                    i16x8_extend_low_i8x16(q0),
                    i16x8_extend_high_i8x16(q0),
                    i16x8_extend_low_i8x16(q1),
                    i16x8_extend_high_i8x16(q1),
                ];
                let x = hp.add(b * QK) as *const v128;
                let y = lp.add(b * QK) as *const v128;
                (
                    dot4(
                        &w,
                        &[
                            v128_load(x),
                            v128_load(x.add(1)),
                            v128_load(x.add(2)),
                            v128_load(x.add(3)),
                        ],
                    ),
                    dot4(
                        &w,
                        &[
                            v128_load(y),
                            v128_load(y.add(1)),
                            v128_load(y.add(2)),
                            v128_load(y.add(3)),
                        ],
                    ),
                )
            };
            // [sh0+sh2, sh1+sh3, sl0+sl2, sl1+sl3]: exact partial sums, then to f64.
            let p = i32x4_add(
                i32x4_shuffle::<0, 1, 4, 5>(sh, sl),
                i32x4_shuffle::<2, 3, 6, 7>(sh, sl),
            );
            let wb = f64x2_splat(srow[b] as f64 * hs[b]);
            acc_h = f64x2_add(acc_h, f64x2_mul(f64x2_convert_low_i32x4(p), wb));
            let hi_half = i32x4_shuffle::<2, 3, 2, 3>(p, p);
            acc_l = f64x2_add(acc_l, f64x2_mul(f64x2_convert_low_i32x4(hi_half), wb));
        }
        let acc = f64x2_add(acc_h, f64x2_mul(acc_l, inv));
        *z = f64x2_extract_lane::<0>(acc) + f64x2_extract_lane::<1>(acc);
    }
}

pub fn matvec_fast(m: &Q8Matrix, h: &QuantH, out: &mut [f64]) {
    let (d, nb) = (m.cols(), m.nb());
    let (scales, quants) = (m.scales(), m.quants());
    assert!(quants.len() >= out.len() * d && scales.len() >= out.len() * nb);
    assert!(h.hi.len() == d && h.scale.len() == nb);
    let qp = quants.as_ptr();
    let hp = h.hi.as_ptr();
    for (i, z) in out.iter_mut().enumerate() {
        let srow = &scales[i * nb..(i + 1) * nb];
        // two accumulators halve the chain of dependent adds.
        let mut acc = [f32x4_splat(0.0); 2];
        for b in 0..nb {
            // SAFETY: (i·d + b·32 + 32) ≤ quants.len() and b·32 + 32 ≤ d by the asserts.
            let sh = unsafe {
                let q = qp.add(i * d + b * QK) as *const v128;
                let (q0, q1) = (v128_load(q), v128_load(q.add(1)));
                let x = hp.add(b * QK) as *const v128;
                i32x4_add(
                    i32x4_add(
                        i32x4_dot_i16x8(i16x8_extend_low_i8x16(q0), v128_load(x)),
                        i32x4_dot_i16x8(i16x8_extend_high_i8x16(q0), v128_load(x.add(1))),
                    ),
                    i32x4_add(
                        i32x4_dot_i16x8(i16x8_extend_low_i8x16(q1), v128_load(x.add(2))),
                        i32x4_dot_i16x8(i16x8_extend_high_i8x16(q1), v128_load(x.add(3))),
                    ),
                )
            };
            let w = f32x4_splat(srow[b] * h.scale[b]);
            acc[b & 1] = f32x4_add(acc[b & 1], f32x4_mul(f32x4_convert_i32x4(sh), w));
        }
        let a = f32x4_add(acc[0], acc[1]);
        *z = (f32x4_extract_lane::<0>(a) + f32x4_extract_lane::<1>(a)) as f64
            + (f32x4_extract_lane::<2>(a) + f32x4_extract_lane::<3>(a)) as f64;
    }
}

/// [`matvec_fast`] for several columns at once, bit for bit the same per column: each row's
/// blocks are widened once and dotted with up to four columns, so the matrix is read once for
/// every four columns (`out[c·rows + i]`).
pub fn matmul_fast(m: &Q8Matrix, hs: &[QuantH], out: &mut [f64]) {
    let (d, nb, rows) = (m.cols(), m.nb(), m.rows());
    let (scales, quants) = (m.scales(), m.quants());
    assert!(out.len() == rows * hs.len());
    assert!(quants.len() >= rows * d && scales.len() >= rows * nb);
    assert!(hs.iter().all(|h| h.hi.len() == d && h.scale.len() == nb));
    let qp = quants.as_ptr();
    for (t, tile) in hs.chunks(4).enumerate() {
        let n = tile.len();
        let hp: [*const i16; 4] = std::array::from_fn(|c| tile[c.min(n - 1)].hi.as_ptr());
        for i in 0..rows {
            let srow = &scales[i * nb..(i + 1) * nb];
            let mut acc = [[f32x4_splat(0.0); 2]; 4];
            for b in 0..nb {
                // SAFETY: (i·d + b·32 + 32) ≤ quants.len() and b·32 + 32 ≤ d by the asserts.
                let w = unsafe {
                    let q = qp.add(i * d + b * QK) as *const v128;
                    let (q0, q1) = (v128_load(q), v128_load(q.add(1)));
                    [
                        i16x8_extend_low_i8x16(q0),
                        i16x8_extend_high_i8x16(q0),
                        i16x8_extend_low_i8x16(q1),
                        i16x8_extend_high_i8x16(q1),
                    ]
                };
                for c in 0..4 {
                    if c >= n {
                        break;
                    }
                    // SAFETY: b·32 + 32 ≤ d = the column's length.
                    let sh = unsafe {
                        let x = hp[c].add(b * QK) as *const v128;
                        dot4(
                            &w,
                            &[
                                v128_load(x),
                                v128_load(x.add(1)),
                                v128_load(x.add(2)),
                                v128_load(x.add(3)),
                            ],
                        )
                    };
                    let ws = f32x4_splat(srow[b] * tile[c].scale[b]);
                    acc[c][b & 1] =
                        f32x4_add(acc[c][b & 1], f32x4_mul(f32x4_convert_i32x4(sh), ws));
                }
            }
            for c in 0..n {
                let a = f32x4_add(acc[c][0], acc[c][1]);
                out[(t * 4 + c) * rows + i] =
                    (f32x4_extract_lane::<0>(a) + f32x4_extract_lane::<1>(a)) as f64
                        + (f32x4_extract_lane::<2>(a) + f32x4_extract_lane::<3>(a)) as f64;
            }
        }
    }
}

/// columns with one scale each, four at a time: a block's weights are widened once and its
/// scale splatted once for the four columns (`out[c·rows + i]`).
pub fn matmul_uniform(m: &Q8Matrix, hs: &[QuantHUniform], out: &mut [f64]) {
    let (d, nb, rows) = (m.cols(), m.nb(), m.rows());
    let (scales, quants) = (m.scales(), m.quants());
    assert!(out.len() == rows * hs.len());
    assert!(quants.len() >= rows * d && scales.len() >= rows * nb);
    assert!(hs.iter().all(|h| h.hi.len() == d));
    let qp = quants.as_ptr();
    for (t, tile) in hs.chunks(4).enumerate() {
        let n = tile.len();
        let hp: [*const i16; 4] = std::array::from_fn(|c| tile[c.min(n - 1)].hi.as_ptr());
        for i in 0..rows {
            let srow = &scales[i * nb..(i + 1) * nb];
            let mut acc = [f32x4_splat(0.0); 4];
            for (b, &sb) in srow.iter().enumerate() {
                // SAFETY: (i·d + b·32 + 32) ≤ quants.len() and b·32 + 32 ≤ d by the asserts.
                let w = unsafe {
                    let q = qp.add(i * d + b * QK) as *const v128;
                    let (q0, q1) = (v128_load(q), v128_load(q.add(1)));
                    [
                        i16x8_extend_low_i8x16(q0),
                        i16x8_extend_high_i8x16(q0),
                        i16x8_extend_low_i8x16(q1),
                        i16x8_extend_high_i8x16(q1),
                    ]
                };
                let ws = f32x4_splat(sb);
                for c in 0..4 {
                    // SAFETY: b·32 + 32 ≤ d = the column's length.
                    let sh = unsafe {
                        let x = hp[c].add(b * QK) as *const v128;
                        dot4(
                            &w,
                            &[
                                v128_load(x),
                                v128_load(x.add(1)),
                                v128_load(x.add(2)),
                                v128_load(x.add(3)),
                            ],
                        )
                    };
                    acc[c] = f32x4_add(acc[c], f32x4_mul(f32x4_convert_i32x4(sh), ws));
                }
            }
            for c in 0..n {
                let a = acc[c];
                let z = (f32x4_extract_lane::<0>(a) + f32x4_extract_lane::<1>(a))
                    + (f32x4_extract_lane::<2>(a) + f32x4_extract_lane::<3>(a));
                out[(t * 4 + c) * rows + i] = (z * tile[c].scale) as f64;
            }
        }
    }
}
